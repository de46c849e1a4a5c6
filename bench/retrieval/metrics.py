"""Function-level Recall@k and MRR@k, and latency percentiles.

A hit finds a target function when it is in the same file and their line ranges overlap by at least half
of the target or half of the hit: a chunk inside the function, the function as a unit, or a chunk that
holds the whole (short) function all count; a neighbour that merely touches it does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.retrieval.dataset import FunctionSpan

MIN_OVERLAP = 0.5


def finds(path: str, start: int, end: int, target: FunctionSpan) -> bool:
    if path != target.path:
        return False
    overlap = min(end, target.end_line) - max(start, target.start_line) + 1
    if overlap <= 0:
        return False
    return (overlap >= MIN_OVERLAP * (target.end_line - target.start_line + 1)
            or overlap >= MIN_OVERLAP * (end - start + 1))


def first_rank(hits: Sequence[tuple[str, int, int]], target: FunctionSpan) -> int | None:
    """1-based rank of the first hit that finds the target, None when none does."""
    return next((rank for rank, hit in enumerate(hits, 1) if finds(*hit, target)), None)


@dataclass(frozen=True)
class Quality:
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float

    @classmethod
    def of(cls, ranks: list[int | None]) -> Quality:
        n = max(len(ranks), 1)
        return cls(round(sum(1 for r in ranks if r and r <= 5) / n, 3),
                   round(sum(1 for r in ranks if r and r <= 10) / n, 3),
                   round(sum(1 / r for r in ranks if r and r <= 10) / n, 3))


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[index]
