"""AST-aware chunking in the spirit of cAST, budgeted in the embedding model's own tokens.

A parsed file is cut along its tree-sitter tree, as outlined by the parse worker (the chunker never
parses): a node whose text (plus the scope header) fits the budget is one chunk; one that does not is
split into its children (syntax_tiles.py: whole lines, shared lines glued), recursively, and adjacent
small siblings are merged greedily while they fit. Two definitions stay apart unless both are under
`min_chunk_tokens`, so a hit names one function. Only a node without children (a long string) is cut into
line windows, and only a line longer than the budget into token pieces. Files without a grammar get line
windows. Every line of a file lands in a chunk.

The scope header (language, kind, dotted name, and the signatures of enclosing definitions the chunk does
not show) is prepended to the embedded text only. It holds no path: a chunk set is computed once per
blob and shared by every path holding that blob, and embeddings are keyed by the chunk's hash, so a
renamed, moved or copied file re-embeds nothing; path words reach ranking through the lexical index
instead, which hybrid search fuses in. A chunk's identity is the hash of its embedded text plus
CHUNKER_VERSION; its chunk set's key also names the token budget (`chunk_set_key`).
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass

import numpy as np

from codegraph_assets.config import ChunkingConfig
from codegraph_assets.core.ir_model import DocumentIR, Symbol
from codegraph_assets.core.languages import PARSEABLE_LANGUAGES
from codegraph_assets.core.syntax_tiles import Tile, read_outline, tiles, unglue_comments
from codegraph_assets.core.text_lines import split_lines
from codegraph_assets.core.token_budget import TokenBudget
from codegraph_assets.errors import CodegraphError, ErrorCode

# Bump when chunk boundaries or embed text change: it is part of every chunk-set key.
# 3: cut along the tree-sitter tree in model tokens; header with dotted names and enclosing signatures.
CHUNKER_VERSION = "3"


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    start_line: int  # 1-based inclusive
    end_line: int
    symbol_id: str | None  # document-relative; None for module-level code and text
    kind: str  # a symbol kind, "module" for top-level code, "text" for files without a grammar
    text: str  # displayed
    embed_text: str  # scope header + text: what the model reads
    chunk_hash: str


def chunk_set_key(doc_key: str, budget_tag: str) -> str:
    """The key of one blob's chunks: chunker version, token budget (model and limit) and IR key."""
    budget = hashlib.sha256(budget_tag.encode()).hexdigest()[:10]
    return f"c{CHUNKER_VERSION}.{budget}:{doc_key}"


def chunk_document(content: bytes, ir: DocumentIR | None, language: str | None, config: ChunkingConfig,
                   budget: TokenBudget) -> list[ChunkRecord]:
    lines = split_lines(content.decode("utf-8", "replace"))
    if not any(line.strip() for line in lines):
        return []
    cutter = _Cutter(lines, budget.counter.line_tokens(lines), ir.symbols if ir else [], config, budget)
    if ir is not None and language in PARSEABLE_LANGUAGES and ir.symbols:
        if not ir.outline:  # every parse stores one (IR extractor 3): this IR was not made by the parse worker
            raise CodegraphError(
                ErrorCode.CHUNK_BUILD_ERROR, f"a parsed {language} document with {len(ir.symbols)} symbols has no "
                "syntax outline to cut along", input=language,
                fix="the IR cache is inconsistent: bump IR_EXTRACTOR_VERSION or delete the document, then "
                "re-materialize ir")
        ranges = cutter.merge_small(cutter.split(1, len(lines), [read_outline(ir.outline)]))
    else:
        ranges = cutter.windows(1, len(lines), config.text_window_lines)
    kind = "module" if ir is not None else "text"
    return [record for start, end in _absorb_blank(ranges, lines)
            for record in cutter.records(start, end, language, kind)]


class _Cutter:
    def __init__(self, lines: list[str], line_tokens: list[int], symbols: list[Symbol], config: ChunkingConfig,
                 budget: TokenBudget) -> None:
        self.lines, self.config, self.budget, self.symbols = lines, config, budget, symbols
        self.prefix = [0]
        for tokens in line_tokens:
            self.prefix.append(self.prefix[-1] + tokens)
        # What a chunk's text may hold: the budget less the model's special tokens and the header's share.
        self.special_tokens = budget.special_tokens  # a tokenizer call each time it is read
        self.header_tokens: dict[str, int] = {}  # header → its tokens less the special ones: headers repeat
        self.additive = budget.counter.additive_over_lines
        self.room = budget.max_tokens - self.special_tokens - config.max_header_tokens
        if self.room < 1:
            raise CodegraphError(
                ErrorCode.INVALID_PAYLOAD, f"chunking.max_header_tokens ({config.max_header_tokens}) leaves no room "
                f"for code in a chunk budget of {budget.max_tokens} tokens ({budget.tag})",
                input="chunking.max_header_tokens", fix="set it well below the budget (the default is 40 of 256)")
        self.definition_starts = sorted({s.enclosing.start_line for s in symbols})
        self.by_id = {s.symbol_id: s for s in symbols}
        # First and last line of every definition, in document order: _symbol_of and _holding look at all of
        # them for every chunk, as arrays (a module of hundreds of functions makes as many chunks).
        self.firsts = np.array([s.enclosing.start_line for s in symbols], dtype=np.int64)
        self.lasts = np.array([s.enclosing.end_line for s in symbols], dtype=np.int64)
        self.sizes = self.lasts - self.firsts

    def tokens(self, start: int, end: int) -> int:
        return self.prefix[end] - self.prefix[start - 1]

    def fits(self, start: int, end: int) -> bool:
        return self.tokens(start, end) <= self.room

    def split(self, start: int, end: int, nodes) -> list[tuple[int, int]]:
        """cAST: tiles that fit are merged greedily with their neighbours; those that do not are split."""
        out: list[tuple[int, int]] = []
        current: Tile | None = None
        pending = tiles(start, end, nodes)
        while pending:
            tile = pending.pop(0)
            if not self.fits(tile.start, tile.end) and unglue_comments(tile):
                pending[:0] = unglue_comments(tile)  # a doc comment glued on must not get its definition cut
                continue
            if not self.fits(tile.start, tile.end):
                if current:
                    out.append((current.start, current.end))
                current = None
                out += (self.split(tile.start, tile.end, tile.nodes) if tile.splittable
                        else self.windows(tile.start, tile.end, None))
            elif current and self.fits(current.start, tile.end) and self._mergeable(current, tile):
                current = Tile(current.start, tile.end)
            else:
                if current:
                    out.append((current.start, current.end))
                current = tile
        if current:
            out.append((current.start, current.end))
        return out

    def _mergeable(self, a: Tile, b: Tile) -> bool:
        """Code between definitions merges greedily; with a definition only when small; two definitions
        only when both are small (so a hit names one function)."""
        a_defines, b_defines = self._defines(a), self._defines(b)
        if not (a_defines or b_defines):
            return True
        sizes = [self.tokens(a.start, a.end), self.tokens(b.start, b.end)]
        if a_defines and b_defines:
            return max(sizes) < self.config.min_chunk_tokens
        return sizes[1 if a_defines else 0] < self.config.min_chunk_tokens

    def merge_small(self, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Pieces left small by a split (a `def` line before its split body, a closing quote) join a neighbour
        they fit with, if related: one in the same definition (the one before first), else one inside it
        (a class line and its first method). A `def` line whose body does not fit beside it stays
        alone rather than join another definition."""
        out = list(ranges)
        index = 0
        while index < len(out):
            start, end = out[index]
            if self.tokens(start, end) >= self.config.min_chunk_tokens:
                index += 1
                continue
            holder = self._holding(start, end)
            kin = {i: self._kinship(holder, self._holding(*out[i])) for i in (index - 1, index + 1) if 0 <= i < len(out)}
            options = [i for i, k in kin.items() if k and self.fits(min(out[i][0], start), max(out[i][1], end))]
            if not options:
                index += 1
                continue
            chosen = max(options, key=lambda i: kin[i] * 2 + (i < index))
            merged = (min(out[chosen][0], start), max(out[chosen][1], end))
            out[min(chosen, index)] = merged
            del out[max(chosen, index)]
            index = min(chosen, index)
        return out

    def _kinship(self, holder: str | None, other: str | None) -> int:
        """2: the same definition holds both; 1: `other` lies inside `holder`; 0: unrelated."""
        if other == holder:
            return 2
        symbol = self.by_id.get(other) if other else None
        while symbol is not None and symbol.parent_id:
            if symbol.parent_id == holder:
                return 1
            symbol = self.by_id.get(symbol.parent_id)
        return 0

    def _trimmed(self, start: int, end: int) -> tuple[int, int]:
        """The range without its leading and trailing blank lines (a split keeps those with the piece above)."""
        while start < end and not self.lines[end - 1].strip():
            end -= 1
        while start < end and not self.lines[start - 1].strip():
            start += 1
        return start, end

    def _holding(self, start: int, end: int) -> str | None:
        """The smallest definition holding the whole range (the first in document order on a tie)."""
        start, end = self._trimmed(start, end)
        symbol = self._smallest((self.firsts <= start) & (self.lasts >= end))
        return symbol.symbol_id if symbol else None

    def _smallest(self, candidates: np.ndarray) -> Symbol | None:
        """The smallest of the definitions where `candidates` is true; the first in document order on a tie."""
        indexes = np.flatnonzero(candidates)
        if not len(indexes):
            return None
        return self.symbols[int(indexes[np.argmin(self.sizes[indexes])])]  # argmin: the first of equal sizes

    def _defines(self, tile: Tile) -> bool:
        at = bisect.bisect_left(self.definition_starts, tile.start)
        return at < len(self.definition_starts) and self.definition_starts[at] <= tile.end

    def windows(self, start: int, end: int, max_lines: int | None) -> list[tuple[int, int]]:
        """Greedy line windows within the budget (and max_lines); a line over the budget is a window alone."""
        out = []
        first = start
        for line in range(start + 1, end + 1):
            too_many = max_lines is not None and line - first >= max_lines
            if too_many or not self.fits(first, line):
                out.append((first, line - 1))
                first = line
        out.append((first, end))
        return out

    def records(self, start: int, end: int, language: str | None, default_kind: str) -> list[ChunkRecord]:
        symbol = self._symbol_of(start, end)
        header = self._header(symbol, start, language, default_kind)
        kind = symbol.kind if symbol else default_kind
        symbol_id = symbol.symbol_id if symbol else None
        text = "\n".join(self.lines[start - 1:end])
        if self._fits_with_header(header, start, end, text):
            return [_record(start, end, symbol_id, kind, text, header)]
        if start < end:  # a counter that is not additive over lines: halve until each half fits
            middle = (start + end) // 2
            return self.records(start, middle, language, default_kind) + self.records(middle + 1, end, language,
                                                                                          default_kind)
        return [_record(start, end, symbol_id, kind, piece, header) for piece in self._pieces(text, header)]

    def _fits_with_header(self, header: str, start: int, end: int, text: str) -> bool:
        """Whether header + newline + the lines fit the budget; summed from counts already made where the
        tokenizer allows (the chunker's costliest step otherwise: a second tokenization of every chunk)."""
        if self.additive:
            tokens = self.special_tokens + self._header_tokens(header) + self.tokens(start, end)
            return tokens <= self.budget.max_tokens
        return self.budget.fits(f"{header}\n{text}")

    def _pieces(self, line: str, header: str) -> list[str]:
        """A line over the budget in token pieces; re-tokenized alone a piece may grow, so each is checked."""
        room = self.budget.max_tokens - self.budget.counter.count(header + "\n")
        out = []
        for piece in self.budget.counter.cut(line, max(room, 1)):
            if self.budget.fits(f"{header}\n{piece}") or len(piece) <= 1:
                out.append(piece)
            else:
                out += self._pieces_smaller(piece, header, room)
        return out

    def _pieces_smaller(self, text: str, header: str, room: int) -> list[str]:
        while room > 1:
            room = room * 9 // 10
            pieces = self.budget.counter.cut(text, room)
            if all(self.budget.fits(f"{header}\n{p}") for p in pieces):
                return pieces
        return list(text)

    def _symbol_of(self, start: int, end: int) -> Symbol | None:
        """The smallest definition covering at least half of the chunk (a method with its class's closing
        brace is the method's chunk; a class line with a few small methods is the class's)."""
        start, end = self._trimmed(start, end)
        overlap = np.minimum(self.lasts, end) - np.maximum(self.firsts, start) + 1
        return self._smallest(overlap >= (end - start + 1) / 2)

    def _header(self, symbol: Symbol | None, start: int, language: str | None, default_kind: str) -> str:
        """`python method Cart.add` and the signatures of its definitions that start above the chunk."""
        chain: list[Symbol] = []
        while symbol is not None:
            chain.insert(0, symbol)
            symbol = self.by_id.get(symbol.parent_id) if symbol.parent_id else None
        title = f"{language or 'text'} {chain[-1].kind if chain else default_kind}"
        if chain:
            title += " " + ".".join(s.name for s in chain)
        hidden = [s.signature for s in chain if s.signature and s.enclosing.start_line < start]
        limit = self.config.max_header_tokens
        header = "\n".join([title, *hidden])
        while hidden and self._header_tokens(header) > limit:
            hidden.pop(0)  # the outermost signature says least about this chunk
            header = "\n".join([title, *hidden])
        if self._header_tokens(header) > limit:
            header = self.budget.counter.cut(header, limit)[0] if limit else ""
        return header

    def _header_tokens(self, header: str) -> int:
        tokens = self.header_tokens.get(header)
        if tokens is None:
            tokens = self.header_tokens[header] = self.budget.counter.count(header) - self.special_tokens
        return tokens


def _absorb_blank(ranges: list[tuple[int, int]], lines: list[str]) -> list[tuple[int, int]]:
    """A blank-only range joins the range before it (or after it, at the top): nobody searches blank lines."""
    out: list[tuple[int, int]] = []
    for start, end in ranges:
        blank = not any(line.strip() for line in lines[start - 1:end])
        if blank and out:
            out[-1] = (out[-1][0], end)
        elif out and not any(line.strip() for line in lines[out[-1][0] - 1:out[-1][1]]):
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _record(start: int, end: int, symbol_id: str | None, kind: str, text: str, header: str) -> ChunkRecord:
    embed_text = f"{header}\n{text}"
    chunk_hash = hashlib.sha256(f"{CHUNKER_VERSION}\0{embed_text}".encode("utf-8", "surrogatepass")).hexdigest()
    return ChunkRecord(start, end, symbol_id, kind, text, embed_text, chunk_hash)
