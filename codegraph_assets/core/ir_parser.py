"""One source blob in, its `DocumentIR` out: one tree-sitter parse, one precompiled query, and the tree's
outline for the chunker (which so never parses: a file runs through a grammar only here, in the parse
worker, under the parse timeout)."""

from __future__ import annotations

from tree_sitter import Node, QueryCursor

from codegraph_assets.config import SemanticTier
from codegraph_assets.core.ir_grammars import grammar_for, parser_for, reference_query_for
from codegraph_assets.core.ir_imports import call_references, extract_imports
from codegraph_assets.core.ir_model import (
    DocumentInterface,
    DocumentIR,
    Edge,
    EdgeKind,
    Occurrence,
    Symbol,
    SymbolRole,
    TargetForm,
)
from codegraph_assets.core.ir_brace_languages import GO_RULES, JAVA_RULES, RUST_RULES
from codegraph_assets.core.ir_ecmascript import ECMASCRIPT_RULES
from codegraph_assets.core.ir_lexical import LexicalReferences as BoundReferences
from codegraph_assets.core.ir_lexical import bind_lexical_references
from codegraph_assets.core.ir_packing import pack_rows, row_of
from codegraph_assets.core.ir_python import bind_python_references, python_import_occurrences, python_imports
from codegraph_assets.core.ir_symbols import Captures, extract_symbols
from codegraph_assets.core.languages import PARSEABLE_LANGUAGES
from codegraph_assets.core.syntax_tiles import syntax_outline
from codegraph_assets.errors import CodegraphError, ErrorCode


LEXICAL_RULES = {"javascript": ECMASCRIPT_RULES, "typescript": ECMASCRIPT_RULES, "tsx": ECMASCRIPT_RULES,
                 "go": GO_RULES, "java": JAVA_RULES, "rust": RUST_RULES}


def parse_document(content: bytes, language: str, tier: SemanticTier = "FULL") -> DocumentIR:
    """The symbols, occurrences and imports of one blob; bad syntax yields what parsed, never an error.

    BASE: definitions and imports. EXTENDED (and FULL, which adds nothing at parse time): also every
    reference, write and local, bound inside the document where its language's binder exists, calls,
    call and inheritance edges, exports and members."""
    if language not in PARSEABLE_LANGUAGES:
        raise CodegraphError(
            ErrorCode.PARSE_ERROR,
            f"language {language!r} has no parser; only {', '.join(sorted(PARSEABLE_LANGUAGES))} are supported.",
            input=language,
            fix="Pass one of PARSEABLE_LANGUAGES, or index this file as text only (skip the IR stage).",
        )
    if not content:
        return DocumentIR(language=language)
    grammar = grammar_for(language)
    root = parser_for(grammar).parse(content).root_node
    definition_matches, import_captures, callees = _split_matches(QueryCursor(grammar.query).matches(root))
    symbols = extract_symbols(grammar, definition_matches, content)
    imports, import_occurrences = extract_imports(import_captures, content)
    definitions = [Occurrence(symbol.symbol_id, symbol.span, SymbolRole.DEFINITION) for symbol in symbols]
    document = DocumentIR(language=language, symbols=symbols, imports=imports,
                          parse_errors=count_parse_errors(root), line_count=count_lines(content),
                          outline=syntax_outline(root))
    if tier == "BASE":
        document.occurrences = sorted(definitions + import_occurrences, key=_source_order)
        return document
    bound = _bind_references(language, content, symbols, definition_matches, import_captures, callees, root)
    edges: list[Edge] = []
    if bound is None:  # a language without a binder: calls by name, imports as written
        rows = [row_of(o) for o in definitions + import_occurrences + call_references(callees, content)]
        edges += [Edge(EdgeKind.IMPORTS, "", o.symbol, o.span) for o in import_occurrences
                  if o.symbol.startswith(TargetForm.IMPORT)]
        for symbol in symbols:  # what other files can import, for cross-file resolution
            if symbol.parent_id is None:
                document.exports.setdefault(symbol.name, symbol.symbol_id)
            else:
                document.members.setdefault(symbol.parent_id, {}).setdefault(symbol.name, symbol.symbol_id)
    else:
        rows = [row_of(o) for o in definitions + bound.import_occurrences] + bound.occurrences
        edges += bound.edges
        document.exports, document.members, document.package = bound.exports, bound.members, bound.package
    rows.sort()
    edges.sort(key=lambda edge: (edge.span.start_line, edge.span.start_col, edge.kind))
    # The graph stays packed: the worker pickles the bytes, the store writes them, readers unpack on use.
    interface = DocumentInterface.of_parts(document, {row[4] for row in rows}, edges)
    return DocumentIR.with_packed_graph(
        pack_rows(rows, edges, document.outline), interface, language=language, symbols=symbols, imports=imports,
        parse_errors=document.parse_errors, line_count=document.line_count, exports=document.exports,
        members=document.members, package=document.package, outline=document.outline)


def _source_order(occurrence: Occurrence) -> tuple[int, int]:
    return occurrence.span.start_line, occurrence.span.start_col


def _bind_references(language: str, content: bytes, symbols: list[Symbol], definition_matches: list[Captures],
                     import_captures: list[tuple[str, Node]], callees: list[Node], root: Node) -> BoundReferences | None:
    """The language's binder run over its reference query; None for a language without one."""
    reference_query = reference_query_for(language)
    if reference_query is None:
        return None
    captures = QueryCursor(reference_query).captures(root)
    by_byte = _symbols_by_name_byte(symbols, definition_matches)
    if language == "python":
        statements = [node for capture, node in import_captures if capture == "python_import"]
        imports = python_imports(statements, content)
        bound = bind_python_references(content, symbols, by_byte, captures, imports, callees)
        return BoundReferences(bound.occurrences, bound.edges, bound.exports, bound.members, bound.stars, "",
                               python_import_occurrences(imports))
    return bind_lexical_references(LEXICAL_RULES[language], content, symbols, by_byte, captures, callees)


def _symbols_by_name_byte(symbols: list[Symbol], definition_matches: list[Captures]) -> dict[int, str]:
    """The start byte of every symbol's name token → the symbol's id."""
    by_position = {(s.span.start_line, s.span.start_col): s.symbol_id for s in symbols}
    found: dict[int, str] = {}
    for captures in definition_matches:
        for name in captures.get("name", ()):
            row, column = name.start_point
            symbol_id = by_position.get((row + 1, column))
            if symbol_id is not None:
                found[name.start_byte] = symbol_id
    return found


def _split_matches(
    matches: list[tuple[int, Captures]],
) -> tuple[list[Captures], list[tuple[str, Node]], list[Node]]:
    """Sort query matches into definitions, import captures and called names (see `ir_queries`)."""
    definitions: list[Captures] = []
    import_captures: list[tuple[str, Node]] = []
    callees: list[Node] = []
    for _, captures in matches:
        if "callee" in captures:
            callees.extend(captures["callee"])
        elif "name" in captures or "scope.impl" in captures:
            definitions.append(captures)
        else:
            import_captures.extend((capture, node) for capture, nodes in captures.items() for node in nodes)
    return definitions, import_captures, callees


def count_parse_errors(root: Node) -> int:
    """ERROR and MISSING nodes in the tree, visiting only subtrees that contain one."""
    if not root.has_error:
        return 0
    errors = 0
    pending = [root]
    while pending:
        node = pending.pop()
        if node.is_error or node.is_missing:
            errors += 1
        pending.extend(child for child in node.children if child.has_error)
    return errors


def count_lines(content: bytes) -> int:
    """Lines in the content; a final line without a newline still counts."""
    if not content:
        return 0
    return content.count(b"\n") + (0 if content.endswith(b"\n") else 1)
