"""StageStats: the counters and timings a stage reports, shaped for Dagster metadata."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class StageStats:
    stage: str
    counts: dict[str, int] = field(default_factory=dict)
    breakdowns: dict[str, dict[str, int]] = field(default_factory=dict)  # e.g. skipped by reason
    bytes_processed: int = 0
    started: float = field(default_factory=time.perf_counter)
    duration_s: float = 0.0

    def add(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    def finish(self, epsilon: float) -> StageStats:
        self.duration_s = max(time.perf_counter() - self.started, epsilon)
        return self

    def rate(self, name: str) -> float:
        return round(self.counts.get(name, 0) / self.duration_s, 2) if self.duration_s else 0.0

    def as_dict(self) -> dict[str, object]:
        """Flat, JSON-friendly figures (Dagster metadata, CLI summaries, handler results)."""
        figures: dict[str, object] = dict(self.counts)
        figures.update({name: dict(values) for name, values in self.breakdowns.items()})
        figures["duration_s"] = round(self.duration_s, 3)
        if self.bytes_processed:
            figures["mb_per_s"] = round(self.bytes_processed / 1e6 / self.duration_s, 3)
        return figures
