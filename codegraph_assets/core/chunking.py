"""AST-aware chunking: definitions become chunks, oversized ones split, tiny neighbours merged.

Works from the IR's symbols (their enclosing ranges form a tree), so boundaries fall on syntax
boundaries; files without a grammar get line windows. Every line of a file lands in a chunk, and
no chunk's text exceeds the budget: a line longer than it is cut into pieces of its own.
Lines are counted as tree-sitter counts them (`split_lines`), so chunk ranges agree with the IR's.
A chunk's identity is the hash of what the model reads (`embed_text`) plus CHUNKER_VERSION; the
scope header holds no path, so renaming a file re-embeds nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from codegraph_assets.config import ChunkingConfig
from codegraph_assets.core.ir_model import DocumentIR, Symbol
from codegraph_assets.core.text_lines import split_lines

# Bump when chunk boundaries or embed text change: it is part of every chunk-set key.
CHUNKER_VERSION = "2"


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    start_line: int  # 1-based inclusive
    end_line: int
    symbol_id: str | None  # document-relative; None for module-level code and text
    kind: str  # a symbol kind, "module" for top-level code, "text" for files without a grammar
    text: str  # displayed
    embed_text: str  # scope header + text: what the model reads
    chunk_hash: str


@dataclass(slots=True)
class _Segment:
    start: int
    end: int
    symbol: Symbol | None
    kind: str
    scope: str | None  # the symbol this segment sits directly inside; only same-scope segments merge


def chunk_set_key(doc_key: str) -> str:
    return f"c{CHUNKER_VERSION}:{doc_key}"


def chunk_document(content: bytes, ir: DocumentIR | None, language: str | None,
                   config: ChunkingConfig) -> list[ChunkRecord]:
    lines = split_lines(content.decode("utf-8", "replace"))
    if not any(line.strip() for line in lines):
        return []
    sizes = [len(line) + 1 for line in lines]
    if ir is None or not ir.symbols:
        segments = _windows(1, len(lines), None, "text" if ir is None else "module", None, sizes, config)
    else:
        children: dict[str | None, list[Symbol]] = {}
        for symbol in ir.symbols:
            children.setdefault(symbol.parent_id, []).append(symbol)
        segments = _split(1, len(lines), children.get(None, []), None, children, sizes, config)
        segments = _merge_small(_absorb_blank(segments, lines, sizes, config), sizes, config)
    return [_record(segment, start, end, text, language)
            for segment in segments
            for start, end, text in _pieces(segment, lines, config.max_chunk_chars)]


def _chars(sizes: list[int], start: int, end: int) -> int:
    return sum(sizes[start - 1:end])


def _blank(segment: _Segment, lines: list[str]) -> bool:
    return not any(line.strip() for line in lines[segment.start - 1:segment.end])


def _split(start, end, symbols, owner, children, sizes, config) -> list[_Segment]:
    """Cover lines start..end with segments: symbols as units, gaps between them as owner's code."""
    out: list[_Segment] = []
    cursor = start
    owner_kind = owner.kind if owner else "module"
    owner_id = owner.symbol_id if owner else None
    for symbol in sorted(symbols, key=lambda s: s.enclosing.start_line):
        s_start = max(symbol.enclosing.start_line, cursor)
        s_end = min(symbol.enclosing.end_line, end)
        if s_start > s_end:
            continue  # nested inside something already covered (e.g. a one-line overlap)
        if s_start > cursor:
            out += _windows(cursor, s_start - 1, owner, owner_kind, owner_id, sizes, config)
        if _chars(sizes, s_start, s_end) <= config.max_chunk_chars:
            out.append(_Segment(s_start, s_end, symbol, symbol.kind, symbol.parent_id))
        elif children.get(symbol.symbol_id):
            out += _split(s_start, s_end, children[symbol.symbol_id], symbol, children, sizes, config)
        else:
            out += _windows(s_start, s_end, symbol, symbol.kind, symbol.symbol_id, sizes, config)
        cursor = s_end + 1
    if cursor <= end:
        out += _windows(cursor, end, owner, owner_kind, owner_id, sizes, config)
    return out


def _windows(start, end, symbol, kind, scope, sizes, config) -> list[_Segment]:
    """Split a line range into pieces within the character and line budgets."""
    out = []
    piece_start, piece_chars = start, 0
    for line in range(start, end + 1):
        size = sizes[line - 1]
        too_long = line - piece_start >= config.text_window_lines
        if line > piece_start and (piece_chars + size > config.max_chunk_chars or too_long):
            out.append(_Segment(piece_start, line - 1, symbol, kind, scope))
            piece_start, piece_chars = line, 0
        piece_chars += size
    out.append(_Segment(piece_start, end, symbol, kind, scope))
    return out


def _absorb_blank(segments: list[_Segment], lines: list[str], sizes, config) -> list[_Segment]:
    """Blank-only gaps join a neighbour that has room instead of becoming chunks nobody should embed."""
    out: list[_Segment] = []
    for segment in segments:
        previous = out[-1] if out else None
        blank = _blank(segment, lines)
        if (previous is not None and (blank or _blank(previous, lines))
                and _chars(sizes, previous.start, segment.end) <= config.max_chunk_chars):
            if blank:
                previous.end = segment.end
            else:
                segment.start = previous.start
                out[-1] = segment
        else:
            out.append(segment)
    return out


def _merge_small(segments: list[_Segment], sizes, config) -> list[_Segment]:
    """Greedily merge adjacent segments while one of them is under min size and the sum fits."""
    out: list[_Segment] = []
    for segment in segments:
        if out:
            previous = out[-1]
            a, b = _chars(sizes, previous.start, previous.end), _chars(sizes, segment.start, segment.end)
            # Two definitions stay apart unless both are tiny; code between definitions joins its neighbour.
            both_definitions = _is_definition(previous) and _is_definition(segment)
            small_enough = max(a, b) < config.min_chunk_chars if both_definitions else min(a, b) < config.min_chunk_chars
            if previous.scope == segment.scope and a + b <= config.max_chunk_chars and small_enough:
                keep = previous if a >= b else segment
                out[-1] = _Segment(previous.start, segment.end, keep.symbol, keep.kind, previous.scope)
                continue
        out.append(segment)
    return out


def _is_definition(segment: _Segment) -> bool:
    return segment.symbol is not None and segment.scope == segment.symbol.parent_id


def _pieces(segment: _Segment, lines: list[str], max_chars: int) -> Iterator[tuple[int, int, str]]:
    """(start line, end line, text) of the segment's chunks: the segment whole when it fits, else line by
    line with any line longer than max_chars cut into consecutive pieces (minified code, data blobs)."""
    text = "\n".join(lines[segment.start - 1:segment.end])
    if len(text) <= max_chars:
        yield segment.start, segment.end, text
        return
    # Only a single line gets here: every multi-line segment was already cut to the budget.
    for number in range(segment.start, segment.end + 1):
        line = lines[number - 1]
        for offset in range(0, max(len(line), 1), max_chars):
            yield number, number, line[offset:offset + max_chars]


def _record(segment: _Segment, start: int, end: int, text: str, language: str | None) -> ChunkRecord:
    scope = segment.symbol.symbol_id if segment.symbol else "(top level)"
    signature = segment.symbol.signature if segment.symbol else ""
    header = f"{language or 'text'} {segment.kind} {scope}" + (f"\n{signature}" if signature else "")
    embed_text = f"{header}\n{text}"
    chunk_hash = hashlib.sha256(f"{CHUNKER_VERSION}\0{embed_text}".encode("utf-8", "surrogatepass")).hexdigest()
    return ChunkRecord(start, end, segment.symbol.symbol_id if segment.symbol else None,
                       segment.kind, text, embed_text, chunk_hash)
