"""Lexical units: what lexical search ranks and returns, one function or method at a time.

A file is cut along its IR symbols: every function or method is one unit (with the comment block right
above it), a class or module keeps the code around its functions (header, docstring, attributes,
imports) as units of its own, in windows of at most `window_lines`. Files without symbols are line
windows. Units are never budgeted in model tokens: BM25 wants a whole function, not a model-sized
piece of one. A file always yields at least one unit, so the index holds every indexed file.
"""

from __future__ import annotations

from dataclasses import dataclass

from codegraph_assets.core.ir_model import Symbol
from codegraph_assets.core.ir_symbols import CALLABLE_KINDS
from codegraph_assets.core.text_lines import split_lines

# Line starts of comments in the languages we index (docs field); `*` continues a block comment.
_COMMENT_STARTS = ("#", "//", "/*", "*", "--", ";;")
_COMMENT_MARKERS = "#/*-;! \t"


@dataclass(frozen=True, slots=True)
class LexicalUnit:
    start_line: int  # 1-based inclusive
    end_line: int
    symbol_id: str | None  # document-relative id of the definition the unit is (or sits in); None at top level
    kind: str  # the symbol's kind, "module" for top-level code, "text" for files without symbols
    text: str
    names: tuple[str, ...] = ()  # names of the definitions that start inside the unit
    signatures: tuple[str, ...] = ()
    docs: tuple[str, ...] = ()  # their docstrings, and the unit's comment lines without markers


def lexical_units(content: str, symbols: list[Symbol] | None, *, window_lines: int,
                  max_unit_lines: int) -> list[LexicalUnit]:
    """The units of one file, in line order; together they hold every non-blank line. `symbols` are its IR
    symbols, None for a file indexed as text."""
    lines = split_lines(content)
    kind = "text" if symbols is None else "module"
    symbols = symbols or []
    if not symbols:
        ranges = _windows(1, len(lines), None, kind, lines, window_lines)
    else:
        children: dict[str | None, list[Symbol]] = {}
        for symbol in symbols:
            children.setdefault(symbol.parent_id, []).append(symbol)
        ranges = _cover(1, len(lines), children.get(None, []), None, children, lines, window_lines)
    ranges = [piece for r in ranges for piece in _capped(r, lines, max_unit_lines)]
    if not ranges:  # empty or blank file: one unit, so the file still has its document
        return [LexicalUnit(1, max(len(lines), 1), None, "text", "\n".join(lines))]
    by_start = sorted(symbols, key=lambda s: s.span.start_line)
    return [_unit(start, end, symbol, kind, lines, by_start) for start, end, symbol, kind in ranges]


_Range = tuple[int, int, Symbol | None, str]


def _cover(start: int, end: int, symbols: list[Symbol], owner: Symbol | None,
           children: dict[str | None, list[Symbol]], lines: list[str], window_lines: int) -> list[_Range]:
    """Units for lines start..end: callables whole, containers split into their callables and the rest."""
    out: list[_Range] = []
    cursor = start
    owner_kind = owner.kind if owner else "module"
    for symbol in sorted(symbols, key=lambda s: s.enclosing.start_line):
        s_start, s_end = max(symbol.enclosing.start_line, cursor), min(symbol.enclosing.end_line, end)
        if s_start > s_end:
            continue  # nested in something already covered
        if not _splits(symbol, children):
            # The comment block directly above a definition documents it: it joins the definition's unit.
            while s_start - 1 >= cursor and _is_comment(lines[s_start - 2]):
                s_start -= 1
        if s_start > cursor:
            out += _windows(cursor, s_start - 1, owner, owner_kind, lines, window_lines)
        if _splits(symbol, children):
            out += _cover(s_start, s_end, children[symbol.symbol_id], symbol, children, lines, window_lines)
        else:
            out.append((s_start, s_end, symbol, symbol.kind))
        cursor = s_end + 1
    if cursor <= end:
        out += _windows(cursor, end, owner, owner_kind, lines, window_lines)
    return out


def _splits(symbol: Symbol, children: dict[str | None, list[Symbol]]) -> bool:
    """A class (or any non-callable) holding functions is split at them; a function stays whole."""
    return symbol.kind not in CALLABLE_KINDS and any(_holds_callable(c, children) for c in children.get(symbol.symbol_id, ()))


def _holds_callable(symbol: Symbol, children: dict[str | None, list[Symbol]]) -> bool:
    return symbol.kind in CALLABLE_KINDS or any(_holds_callable(c, children) for c in children.get(symbol.symbol_id, ()))


def _windows(start: int, end: int, symbol: Symbol | None, kind: str, lines: list[str], size: int) -> list[_Range]:
    """Non-blank windows of at most `size` lines, trimmed of blank lines at both ends."""
    out = []
    for first in range(start, end + 1, size):
        last = min(first + size - 1, end)
        body = [n for n in range(first, last + 1) if lines[n - 1].strip()]
        if body:
            out.append((body[0], body[-1], symbol, kind))
    return out


def _capped(unit: _Range, lines: list[str], max_lines: int) -> list[_Range]:
    start, end, symbol, kind = unit
    if end - start < max_lines:
        return [unit]
    return _windows(start, end, symbol, kind, lines, max_lines)


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith(_COMMENT_STARTS)


def _unit(start: int, end: int, symbol: Symbol | None, kind: str, lines: list[str], symbols: list[Symbol]) -> LexicalUnit:
    text = "\n".join(lines[start - 1:end])
    inside = [s for s in symbols if start <= s.span.start_line <= end]
    comments = [line.strip().lstrip(_COMMENT_MARKERS) for line in lines[start - 1:end] if _is_comment(line)]
    docs = tuple(d for d in [*(s.docstring for s in inside), *comments] if d)
    return LexicalUnit(start, end, symbol.symbol_id if symbol else None, kind, text,
                       tuple(s.name for s in inside), tuple(s.signature for s in inside if s.signature), docs)
