"""Parses blobs in child processes (`worker_pool`): in parallel, and so that a file that hangs or crashes a
grammar costs one timeout, not the run.

Tree-sitter runs in C and holds the GIL: a thread cannot be interrupted, and py-tree-sitter 0.26's query
progress callback is unsafe to use (it keeps a pointer to a stack variable). A pathological file, such as
100 KB of `(` in Python, makes the extraction query quadratic (≈10 s here); a grammar bug can segfault.
Both stay in a child: past `ir_build.parse_timeout_s` it is killed and a fresh one takes the next file.
Several children parse at once (`defaults.parallel_workers`, at most one per CPU) while the parent reads
blobs and stores documents.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TypeVar

from codegraph_assets.core.ir_model import DocumentIR
from codegraph_assets.errors import ErrorCode
from codegraph_assets.stages.worker_pool import WorkerPool, serve

Tag = TypeVar("Tag")


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    """A parsed document, or None with why not: "timeout" (past the limit) or "crashed" (the child died)."""

    document: DocumentIR | None
    failure: str | None = None


class IsolatedParser:
    """A pool of parsing children; each file gets `timeout_s` from the moment a child starts on it. `tier`
    is the semantic tier every file is parsed at (see `parse_document`)."""

    def __init__(self, timeout_s: float, workers: int = 1, tier: str = "FULL") -> None:
        self.timeout_s = timeout_s
        self._pool = WorkerPool(__name__, workers, ErrorCode.IR_BUILD_ERROR, setup=tier, timeout_s=timeout_s)

    def parse(self, content: bytes, language: str) -> ParseOutcome:
        [(_, outcome)] = self.parse_stream([(None, content, language)])
        return outcome

    def parse_stream(self, items: Iterable[tuple[Tag, bytes, str]]) -> Iterator[tuple[Tag, ParseOutcome]]:
        """(tag, outcome) of every (tag, content, language), in the order the children finish them."""
        requests = ((tag, (content, language)) for tag, content, language in items)
        for tag, outcome in self._pool.stream(requests):
            yield tag, ParseOutcome(outcome.value, outcome.failure)

    @property
    def processes_started(self) -> int:
        return self._pool.processes_started

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> IsolatedParser:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _parser_at(tier: str):
    from codegraph_assets.core.ir_parser import parse_document

    def parse(content: bytes, language: str) -> DocumentIR:
        return parse_document(content, language, tier)

    return parse


if __name__ == "__main__":
    # The grammars load before `serve` reports ready: a child's start-up never counts against a file's timeout.
    importlib.import_module("codegraph_assets.core.ir_parser")
    serve(Connection(int(sys.argv[1])), _parser_at)
