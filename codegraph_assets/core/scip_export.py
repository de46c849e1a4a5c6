"""Our IR as a SCIP index (Sourcegraph's code-intelligence protobuf), so other tools can read it.

Mapping, IR → SCIP:
- a document (one path of the snapshot) → `Document` with its repository-relative path, the SCIP
  language name, UTF-8 byte columns (`position_encoding`);
- a symbol → `SymbolInformation`; its id becomes a global SCIP symbol
  ``codegraph . <repo> <commit> <path as namespaces><document-relative descriptors>``, e.g.
  ``codegraph . shop 1f2e… src/`cart.py`/Cart#total().``; kind, name, docstring and signature carry over.
  Descriptors are rewritten to SCIP's grammar (`scip_descriptors`): names that are not ASCII simple
  identifiers go in backticks, and a later definition of a name already defined in its scope, which the IR
  numbers `(+N)`, keeps that as a method's disambiguator (`f(+1).`) but has it folded into the escaped name
  anywhere else (`` `A(+1)`# ``, `` `X(+1)`. ``): SCIP disambiguates methods only;
- an occurrence → `Occurrence`: ranges become 0-based lines (columns are already 0-based bytes), a
  definition gets its symbol's whole node as `enclosing_range`, and the role bits keep their SCIP
  meaning. Our REFERENCE bit is dropped: SCIP has none (a reference is an occurrence without the
  Definition bit) and its bit 0x10 means *Generated* there;
- an INHERITS edge → a `Relationship` (is_implementation, is_reference) of the subtype to its base.
An occurrence's document-level target (see `ir_model`) becomes a SCIP symbol when it names a definition:
a descriptor of its own document (module and class variables included, which get a `SymbolInformation`
of their own), ``local N`` (a SCIP local symbol, as it is), a repository-qualified id of an exported
path, or whatever the repository resolver binds (`import …`, `member …`, `super …`). Anything the IR left
unresolved is counted, never guessed into a symbol.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from codegraph_assets.core import scip_pb
from codegraph_assets.core.ir_model import (
    DocumentIR,
    EdgeKind,
    Span,
    Symbol,
    SymbolRole,
    TargetForm,
    is_descriptor,
    qualified_symbol_id,
)
from codegraph_assets.core.ir_symbols import CALLABLE_KINDS

# (path of the document, a document-level target) → the repository-qualified id it resolves to, or None.
Resolver = Callable[[str, str], "str | None"]

SCHEME = "codegraph"

# SCIP's Language enum names for the languages we parse; others are written as we name them.
SCIP_LANGUAGE = {
    "python": "Python", "javascript": "JavaScript", "typescript": "TypeScript", "tsx": "TypeScriptReact",
    "go": "Go", "java": "Java", "rust": "Rust",
}

SCIP_KIND = {
    "function": scip_pb.KIND_FUNCTION, "method": scip_pb.KIND_METHOD, "class": scip_pb.KIND_CLASS,
    "interface": scip_pb.KIND_INTERFACE, "struct": scip_pb.KIND_STRUCT, "enum": scip_pb.KIND_ENUM,
    "trait": scip_pb.KIND_TRAIT, "type": scip_pb.KIND_TYPE, "type_alias": scip_pb.KIND_TYPE_ALIAS,
    "module": scip_pb.KIND_MODULE, "namespace": scip_pb.KIND_NAMESPACE, "constant": scip_pb.KIND_CONSTANT,
    "variable": scip_pb.KIND_VARIABLE, "field": scip_pb.KIND_FIELD, "property": scip_pb.KIND_PROPERTY,
    "parameter": scip_pb.KIND_PARAMETER,
}

# Our role bits that mean the same in SCIP (same values); REFERENCE is deliberately absent.
_SCIP_ROLE_BITS = SymbolRole.DEFINITION | SymbolRole.IMPORT | SymbolRole.WRITE | SymbolRole.READ | SymbolRole.TEST

_SIMPLE_IDENTIFIER = re.compile(r"[A-Za-z0-9_+\-$]+")
_LAST_TERM = re.compile(r"(`(?:[^`]|``)+`|[^`.#/()]+)\.$")  # the name of a term descriptor that ends an id
# One descriptor of our ids (`ir_symbols`): a name (plain or backquoted), `()` or a duplicate's `(+N)`, a suffix.
_OUR_DESCRIPTOR = re.compile(r"(`(?:[^`]|``)+`|[^`.#/()]+)(\(\)|\(\+\d+\))?([.#/])")
_NUMBERED_METHOD = re.compile(r"\(\+\d+\)\.$")  # a function or method numbered as a duplicate: `f(+1).`


@dataclass(frozen=True, slots=True)
class SnapshotDocument:
    """One path of the exported snapshot with the IR of its blob."""

    path: str
    document: DocumentIR


@dataclass(slots=True)
class ScipExportStats:
    documents: int = 0
    symbols: int = 0
    occurrences: int = 0
    unresolved_occurrences: int = 0  # names the IR did not bind to a definition: not exported
    roles: dict[str, int] = field(default_factory=dict)  # exported occurrences per SCIP role name

    def summary(self) -> dict[str, object]:
        return {"documents": self.documents, "symbols": self.symbols, "occurrences": self.occurrences,
                "unresolved_occurrences": self.unresolved_occurrences, "roles": dict(sorted(self.roles.items()))}


def scip_package(repo: str, commit: str) -> str:
    """The `<scheme> <manager> <name> <version>` prefix every symbol of this snapshot shares."""
    return " ".join([SCHEME, ".", _package_part(repo), _package_part(commit)])


def scip_symbol(package: str, path: str, symbol_id: str, callables: Collection[str] = frozenset()) -> str:
    """The global SCIP symbol of a document-relative descriptor at `path`; `callables` holds the
    repository-qualified ids of the numbered duplicates (`f(+1).`) that are functions or methods."""
    descriptors = scip_descriptors(symbol_id, lambda prefix: qualified_symbol_id(path, prefix) in callables)
    return f"{package} {''.join(_escape_name(part) + '/' for part in path.split('/'))}{descriptors}"


def scip_descriptors(symbol_id: str, is_callable: Callable[[str], bool]) -> str:
    """Our document-relative id in SCIP's descriptor grammar. `is_callable(prefix)` says whether the id up
    to a numbered duplicate (`X(+1).`) is a function or method, whose `(+1)` SCIP reads as a disambiguator;
    any other duplicate has it folded into its escaped name (`A(+1)#` → `` `A(+1)`# ``)."""
    descriptors = []
    position = 0
    for match in _OUR_DESCRIPTOR.finditer(symbol_id):
        if match.start() != position:
            break
        position = match.end()
        raw_name, parentheses, suffix = match.groups()
        name = raw_name[1:-1].replace("``", "`") if raw_name.startswith("`") else raw_name
        if parentheses and parentheses != "()" and not (suffix == "." and is_callable(symbol_id[:position])):
            name, parentheses = name + parentheses, None  # a type, term or namespace: SCIP has no disambiguator
        descriptors.append(_escape_name(name) + (parentheses or "") + suffix)
    if position != len(symbol_id):  # not one of our ids: kept whole as one escaped term rather than misread
        return _escape_name(symbol_id) + "."
    return "".join(descriptors)


def duplicate_callables(documents: Iterable[SnapshotDocument]) -> frozenset[str]:
    """The repository-qualified ids of the functions and methods numbered as duplicates (`f(+1).`)."""
    return frozenset(qualified_symbol_id(item.path, symbol.symbol_id) for item in documents
                     for symbol in item.document.symbols
                     if symbol.kind in CALLABLE_KINDS and _NUMBERED_METHOD.search(symbol.symbol_id))


def scip_range(span: Span) -> list[int]:
    """SCIP's range encoding: 0-based lines, 3 elements when the span stays on one line."""
    start_line = span.start_line - 1
    if span.start_line == span.end_line:
        return [start_line, span.start_col, span.end_col]
    return [start_line, span.start_col, span.end_line - 1, span.end_col]


def scip_roles(roles: SymbolRole) -> int:
    return int(roles & _SCIP_ROLE_BITS)


def write_scip_index(out: BinaryIO, metadata: scip_pb.Metadata, package: str,
                     documents: Iterable[SnapshotDocument], exported_paths: frozenset[str],
                     resolve: Resolver | None = None) -> ScipExportStats:
    """Stream an `Index` to `out`: metadata first, then one document at a time, as SCIP asks of writers.

    Concatenated serializations of `Index` merge into one (repeated fields append), so no whole SCIP index
    is ever held in memory. `exported_paths` are the paths of every document written, for cross-file ids;
    `resolve` binds the targets a document alone cannot (imports, inherited members).
    """
    documents = list(documents)  # read twice: the kinds of numbered duplicates first (`scip_descriptors`)
    callables = duplicate_callables(documents)
    stats = ScipExportStats()
    out.write(scip_pb.Index(metadata=metadata).SerializeToString())
    for item in documents:
        document = scip_document(item, package, exported_paths, stats, resolve, callables)
        out.write(scip_pb.Index(documents=[document]).SerializeToString())
    return stats


def scip_document(item: SnapshotDocument, package: str, exported_paths: frozenset[str],
                  stats: ScipExportStats, resolve: Resolver | None = None,
                  callables: frozenset[str] | None = None) -> scip_pb.Document:
    """One SCIP document for one path; adds what it exported (and left out) to `stats`. `callables`:
    `duplicate_callables` of every exported document (default: of this one only)."""
    ir = item.document
    if callables is None:
        callables = duplicate_callables([item])
    document = scip_pb.Document(relative_path=item.path, language=SCIP_LANGUAGE.get(ir.language, ir.language),
                                position_encoding=scip_pb.POSITION_ENCODING_UTF8_BYTES)
    symbols = {symbol.symbol_id: symbol for symbol in ir.symbols}

    def target_symbol(target: str) -> str | None:
        return _resolved_symbol(target, item.path, package, exported_paths, resolve, callables)

    informations = {}
    for symbol in ir.symbols:
        informations[symbol.symbol_id] = _symbol_information(
            symbol, scip_symbol(package, item.path, symbol.symbol_id, callables), ir.language)
    for edge in ir.edges:
        base = target_symbol(edge.target) if edge.kind == EdgeKind.INHERITS else None
        if base is not None and edge.source in informations:
            informations[edge.source].relationships.add(symbol=base, is_implementation=True, is_reference=True)
    for occurrence in ir.occurrences:
        if occurrence.roles & SymbolRole.DEFINITION and is_descriptor(occurrence.symbol) \
                and occurrence.symbol not in informations:  # a variable: a definition without a Symbol
            informations[occurrence.symbol] = _variable_information(
                scip_symbol(package, item.path, occurrence.symbol, callables), occurrence.symbol)
    document.symbols.extend(informations.values())
    for occurrence in ir.occurrences:
        target = target_symbol(occurrence.symbol)
        if target is None:
            stats.unresolved_occurrences += 1
            continue
        exported = document.occurrences.add(range=scip_range(occurrence.span), symbol=target,
                                            symbol_roles=scip_roles(occurrence.roles))
        definition = symbols.get(occurrence.symbol)
        if occurrence.roles & SymbolRole.DEFINITION and definition is not None:
            exported.enclosing_range.extend(scip_range(definition.enclosing))
        for role in SymbolRole:
            if occurrence.roles & role & _SCIP_ROLE_BITS:
                stats.roles[role.name] = stats.roles.get(role.name, 0) + 1
    stats.documents += 1
    stats.symbols += len(document.symbols)
    stats.occurrences += len(document.occurrences)
    return document


def _resolved_symbol(target: str, path: str, package: str, exported_paths: frozenset[str],
                     resolve: Resolver | None, callables: frozenset[str]) -> str | None:
    """The SCIP symbol a document-level target names, or None when the IR left it unresolved."""
    if target.startswith(TargetForm.LOCAL):
        return target  # `local N`: SCIP's own form for a symbol of one document
    if is_descriptor(target):
        qualified = _split_qualified(target, exported_paths) or (path, target)
        return scip_symbol(package, *qualified, callables)
    resolved = resolve(path, target) if resolve is not None else None
    qualified = _split_qualified(resolved, exported_paths) if resolved else None
    return scip_symbol(package, *qualified, callables) if qualified else None


def _split_qualified(symbol: str, exported_paths: frozenset[str]) -> tuple[str, str] | None:
    """(path, descriptors) of a repository-qualified id: the longest exported path that prefixes it."""
    prefix = symbol
    while (cut := prefix.rfind("/")) > 0:
        prefix = prefix[:cut]
        if prefix in exported_paths:
            return prefix, symbol[cut + 1:]
    return None


def _symbol_information(symbol: Symbol, scip_id: str, language: str) -> scip_pb.SymbolInformation:
    information = scip_pb.SymbolInformation(symbol=scip_id, kind=SCIP_KIND.get(symbol.kind, scip_pb.KIND_UNSPECIFIED),
                                            display_name=symbol.name)
    if symbol.docstring:
        information.documentation.append(symbol.docstring)
    if symbol.signature:
        information.signature_documentation.CopyFrom(scip_pb.Signature(language=language, text=symbol.signature))
    return information


def _variable_information(scip_id: str, descriptor: str) -> scip_pb.SymbolInformation:
    """A module or class variable: the IR keeps its definition occurrence but no `Symbol`."""
    name = _LAST_TERM.search(descriptor)
    display = name.group(1) if name else descriptor
    if display.startswith("`"):
        display = display[1:-1].replace("``", "`")
    kind = scip_pb.KIND_FIELD if "#" in descriptor else scip_pb.KIND_VARIABLE
    return scip_pb.SymbolInformation(symbol=scip_id, kind=kind, display_name=display)


def _escape_name(name: str) -> str:
    """A SCIP `<name>`: simple identifiers as they are, anything else in backticks (doubled inside)."""
    if _SIMPLE_IDENTIFIER.fullmatch(name):
        return name
    return "`" + name.replace("`", "``") + "`"


def _package_part(text: str) -> str:
    """A SCIP package field: spaces doubled, '.' for empty."""
    return text.replace(" ", "  ") if text else "."
