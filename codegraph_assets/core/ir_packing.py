"""The packed form of a document's occurrences and edges: one compressed blob instead of objects or rows.

From the EXTENDED tier on a document has an occurrence per identifier (a CPython stdlib file: ~700).
Pickling those objects across the parse workers' pipes and inserting a row for each cost several times
the parse; the binders emit plain tuples instead, the parse worker packs them once, the parent hands the
bytes to the metadata store untouched, and readers unpack only the documents they read.

Layout: a 5-byte header (magic, layout revision, marshal format version) then, zlib-compressed, `marshal`
of (occurrence rows, edge rows, syntax outline), rows being tuples of strings and ints and the outline the
bytes of `syntax_tiles.syntax_outline` (b"" where nothing was parsed): the chunker cuts along it instead
of parsing the file again. `marshal` is the fastest codec the
standard library has for such data and, unlike pickle, cannot run code; its format may change between
Python versions, which the header records so a mismatch is reported instead of misread.
"""

from __future__ import annotations

import marshal
import zlib

from codegraph_assets.core.ir_model import Edge, Occurrence, Span, SymbolRole

_MAGIC = b"CGG"
_FORMAT = bytes([3, 4])  # layout revision, marshal version
_COMPRESSION_LEVEL = 1  # level 1 already shrinks the rows ~4×; higher levels cost more than they save

# An occurrence as the binders emit it: (start line, start column, end line, end column, symbol, roles).
# Tuples sort in source order and cost a twentieth of an `Occurrence` with its `Span` to build.
OccurrenceRow = tuple[int, int, int, int, str, int]


def row_of(occurrence: Occurrence) -> OccurrenceRow:
    span = occurrence.span
    return (span.start_line, span.start_col, span.end_line, span.end_col, occurrence.symbol, int(occurrence.roles))


def pack_graph(occurrences: list[Occurrence], edges: list[Edge], outline: bytes = b"") -> bytes:
    """The packed, compressed form of a document's occurrences, edges and syntax outline."""
    return pack_rows([row_of(occurrence) for occurrence in occurrences], edges, outline)


def pack_rows(rows: list[OccurrenceRow], edges: list[Edge], outline: bytes = b"") -> bytes:
    """`pack_graph` of occurrences given as rows."""
    edge_rows = [(e.kind, e.source, e.target, e.span.start_line, e.span.start_col, e.span.end_line, e.span.end_col)
                 for e in edges]
    payload = marshal.dumps((rows, edge_rows, outline), _FORMAT[1])
    return _MAGIC + _FORMAT + zlib.compress(payload, _COMPRESSION_LEVEL)


def unpack_graph(packed: bytes) -> tuple[list[Occurrence], list[Edge]]:
    """The occurrences and edges of `pack_graph`'s output."""
    rows, edge_rows, _ = _payload(packed)
    roles_by_value: dict[int, SymbolRole] = {}
    occurrences = []
    for start_line, start_col, end_line, end_col, symbol, value in rows:
        roles = roles_by_value.get(value)
        if roles is None:
            roles = roles_by_value[value] = SymbolRole(value)
        occurrences.append(Occurrence(symbol, Span(start_line, start_col, end_line, end_col), roles))
    edges = [Edge(kind, source, target, Span(start_line, start_col, end_line, end_col))
             for kind, source, target, start_line, start_col, end_line, end_col in edge_rows]
    return occurrences, edges


def unpack_outline(packed: bytes) -> bytes:
    """The syntax outline of `pack_graph`'s output, without building its occurrences and edges."""
    return _payload(packed)[2]


def _payload(packed: bytes) -> tuple[list, list, bytes]:
    header = len(_MAGIC) + len(_FORMAT)
    if packed[:len(_MAGIC)] != _MAGIC or packed[len(_MAGIC):header] != _FORMAT:
        raise ValueError(f"packed IR graph of format {packed[:header]!r}, this reader knows {_MAGIC + _FORMAT!r}: "
                         "re-index (the IR key changes with the extractor version)")
    return marshal.loads(zlib.decompress(packed[header:]))
