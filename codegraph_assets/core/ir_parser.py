"""One source blob in, its `DocumentIR` out: one tree-sitter parse, one precompiled query."""

from __future__ import annotations

from tree_sitter import Node, QueryCursor

from codegraph_assets.core.ir_grammars import grammar_for, parser_for
from codegraph_assets.core.ir_imports import call_references, extract_imports
from codegraph_assets.core.ir_model import DocumentIR, Occurrence, SymbolRole
from codegraph_assets.core.ir_symbols import Captures, extract_symbols
from codegraph_assets.core.languages import PARSEABLE_LANGUAGES
from codegraph_assets.errors import CodegraphError, ErrorCode


def parse_document(content: bytes, language: str) -> DocumentIR:
    """The symbols, occurrences and imports of one blob; bad syntax yields what parsed, never an error."""
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
    occurrences = [Occurrence(symbol.symbol_id, symbol.span, SymbolRole.DEFINITION) for symbol in symbols]
    occurrences += import_occurrences
    occurrences += call_references(callees, content)
    occurrences.sort(key=lambda occurrence: (occurrence.span.start_line, occurrence.span.start_col))
    return DocumentIR(
        language=language,
        symbols=symbols,
        occurrences=occurrences,
        imports=imports,
        parse_errors=count_parse_errors(root),
        line_count=count_lines(content),
    )


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
