"""Search hits and how rankings are fused: reciprocal rank fusion with overlap de-duplication."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from codegraph_assets.core.text_lines import split_lines
from codegraph_assets.core.tokenizing import code_tokens

ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class SearchHit:
    path: str
    start_line: int  # 1-based inclusive
    end_line: int
    score: float
    symbol: str | None  # repository-wide SCIP descriptor when the hit sits in a definition
    snippet: str
    language: str | None = None
    source: str = ""  # lexical | vector | hybrid

    def to_json(self) -> dict:
        return asdict(self)

    def overlaps(self, other: SearchHit) -> bool:
        return self.path == other.path and self.start_line <= other.end_line and other.start_line <= self.end_line


def reciprocal_rank_fusion(rankings: list[tuple[list[SearchHit], float]], *, k: int, limit: int) -> list[SearchHit]:
    """Fuse weighted rankings by RRF; hits overlapping a better-placed hit of the same file merge into it."""
    fused: list[tuple[float, SearchHit]] = []
    for hits, weight in rankings:
        for rank, hit in enumerate(hits, start=1):
            contribution = weight / (k + rank)
            for i, (score, kept) in enumerate(fused):
                if kept.overlaps(hit):
                    # Prefer the tighter range: a chunk is more precise than a lexical window.
                    better = hit if (hit.end_line - hit.start_line) < (kept.end_line - kept.start_line) else kept
                    fused[i] = (score + contribution, better)
                    break
            else:
                fused.append((contribution, hit))
    fused.sort(key=lambda pair: -pair[0])
    return [replace(hit, score=round(score, 6), source="hybrid") for score, hit in fused[:limit]]


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
