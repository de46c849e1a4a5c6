"""Search hits and how rankings are fused: reciprocal rank fusion with overlap de-duplication."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from codegraph_assets.core.text_lines import split_lines
from codegraph_assets.core.tokenizing import code_tokens

ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class SearchHit:
    path: str
    start_line: int  # 1-based inclusive: the chunk, function or unit the hit is
    end_line: int
    score: float
    symbol: str | None  # repository-wide SCIP descriptor when the hit sits in a definition
    snippet: str  # lines snippet_start_line.. of the file: the whole hit, or its best window when long
    language: str | None = None
    source: str = ""  # lexical | vector | hybrid
    snippet_start_line: int = 0  # 0: the snippet starts at start_line
    kind: str = ""  # function, method, class, module, text... (the IR symbol kind of the hit)
    summary: str = ""  # the LLM summary of the definition the hit is, when the served index has one (enrichment)

    def to_json(self) -> dict:
        return asdict(self)

    def overlaps(self, other: SearchHit) -> bool:
        return self.path == other.path and self.start_line <= other.end_line and other.start_line <= self.end_line


@dataclass
class _FusedGroup:
    """Hits of several rankings that overlap: one result, scored once per ranking at its best rank."""

    members: list[tuple[SearchHit, int, float]] = field(default_factory=list)  # (hit, ranking, contribution)
    scored_by: set[int] = field(default_factory=set)
    score: float = 0.0

    def shown(self, preferred: int | None) -> SearchHit:
        """The best-placed hit of the preferred ranking (the chunks), else the best-placed hit; symbol and
        kind filled in from a hit of the same range (kind also from one of the same symbol) when it lacks them."""
        mine = [m for m in self.members if m[1] == preferred] or self.members
        shown = max(mine, key=lambda m: m[2])[0]
        same = [m for m, _, _ in self.members if (m.start_line, m.end_line) == (shown.start_line, shown.end_line)]
        symbol = shown.symbol or next((m.symbol for m in same if m.symbol), None)
        # A lexical unit also holds the comment above its definition, so its range can differ from the chunk's
        # while naming the same symbol: that symbol's kind is the chunk's kind too.
        named = [m for m, _, _ in self.members if symbol is not None and m.symbol == symbol]
        return replace(shown, kind=shown.kind or next((m.kind for m in [*same, *named] if m.kind), ""), symbol=symbol)


def reciprocal_rank_fusion(rankings: list[tuple[list[SearchHit], float]], *, k: int, limit: int,
                           show_from: int | None = None) -> list[SearchHit]:
    """Fuse weighted rankings by RRF (sum over rankings of weight / (k + rank)). Hits overlapping an earlier
    one of the same file join its group, so a function found as a lexical unit and as two vector chunks is
    one result; each ranking adds only its best rank to a group. A result is shown as the group's best hit
    of ranking `show_from` (chunk precision), else its best hit."""
    groups: list[_FusedGroup] = []
    for ranking, (hits, weight) in enumerate(rankings):
        for rank, hit in enumerate(hits, start=1):
            group = next((g for g in groups if any(member.overlaps(hit) for member, _, _ in g.members)), None)
            if group is None:
                group = _FusedGroup()
                groups.append(group)
            contribution = weight / (k + rank)
            group.members.append((hit, ranking, contribution))
            if ranking not in group.scored_by:
                group.scored_by.add(ranking)
                group.score += contribution
    groups.sort(key=lambda g: -g.score)  # stable: ties keep the order of the first ranking
    return [replace(g.shown(show_from), score=round(g.score, 6), source="hybrid") for g in groups[:limit]]


def best_window(text: str, query: str, context_lines: int) -> tuple[int, int]:
    """The 1-based line range around the line that matches most query tokens (for file-level hits)."""
    wanted = set(code_tokens(query))
    lines = split_lines(text) or [""]
    best_line, best_score = 0, -1
    for index, line in enumerate(lines):
        score = len(wanted.intersection(code_tokens(line)))
        if score > best_score:
            best_line, best_score = index, score
    start = max(0, best_line - context_lines)
    end = min(len(lines) - 1, best_line + context_lines)
    return start + 1, end + 1


def snippet(lines: list[str], start: int, end: int, max_line_chars: int) -> str:
    """Lines start..end (1-based, inclusive) joined; a line over max_line_chars is cut to that length, ending in "…"."""
    # A lexical hit on a minified one-line file would otherwise carry the whole file.
    keep = max(max_line_chars - len(ELLIPSIS), 0)
    return "\n".join(line if len(line) <= max_line_chars else line[:keep] + ELLIPSIS
                     for line in lines[max(start, 1) - 1:end])
