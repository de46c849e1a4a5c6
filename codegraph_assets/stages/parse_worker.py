"""Parses blobs in child processes: in parallel, and so that a file that hangs or crashes a grammar costs one
timeout, not the run.

Tree-sitter runs in C and holds the GIL: a thread cannot be interrupted, and py-tree-sitter 0.26's query
progress callback is unsafe to use (it keeps a pointer to a stack variable). A pathological file, such as
100 KB of `(` in Python, makes the extraction query quadratic (≈10 s here); a grammar bug can segfault.
Both stay in a child: past `ir_build.parse_timeout_s` it is killed and a fresh one takes the next file.
Several children parse at once (`defaults.parallel_workers`, at most one per CPU) while the parent reads
blobs and stores documents.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import TypeVar

from codegraph_assets.core.ir_model import DocumentIR
from codegraph_assets.errors import CodegraphError, ErrorCode

Tag = TypeVar("Tag")
_READY = "ready"
_STARTUP_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    """A parsed document, or None with why not: "timeout" (past the limit) or "crashed" (the child died)."""

    document: DocumentIR | None
    failure: str | None = None


class _Worker:
    """One parsing child process, started on first use and replaced after a timeout or a crash. It holds at
    most one file at a time: strict request → reply, so neither side can block the other on a full pipe."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self.connection: Connection | None = None

    def send(self, content: bytes, language: str, tier: str) -> None:
        if self._process is None:
            self._start()
        assert self.connection is not None
        try:
            self.connection.send((content, language, tier))
        except (BrokenPipeError, ConnectionResetError):
            pass  # it died between files: receive() reports the crash

    def receive(self) -> ParseOutcome:
        assert self.connection is not None
        try:
            ok, value = self.connection.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self.close()
            return ParseOutcome(None, "crashed")
        if not ok:
            raise value  # an ordinary exception of parse_document (e.g. PARSE_ERROR), not a grammar failure
        return ParseOutcome(value)

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        if self.connection is not None:
            self.connection.close()
        self._process = self.connection = None

    def _start(self) -> None:
        # A fresh interpreter, not multiprocessing's fork (a run has threads) or spawn (it re-imports __main__).
        ours, theirs = multiprocessing.Pipe()
        self._process = subprocess.Popen([sys.executable, "-m", __name__, str(theirs.fileno())],
                                         pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        self.connection = ours
        # Wait until it has imported the grammars, so its start-up never counts against a file's timeout.
        try:
            ready = ours.poll(_STARTUP_TIMEOUT_S) and ours.recv() == _READY
        except EOFError:  # it died importing the grammars
            ready = False
        if not ready:
            self.close()
            raise CodegraphError(ErrorCode.IR_BUILD_ERROR, "the tree-sitter parsing process did not start",
                                 input=sys.executable, fix="check that the grammar packages import in this "
                                 "environment (`python -m codegraph_assets.stages.parse_worker` needs them)")


class IsolatedParser:
    """A pool of parsing children; each file gets `timeout_s` from the moment a child starts on it. `tier`
    is the semantic tier every file is parsed at (see `parse_document`)."""

    def __init__(self, timeout_s: float, workers: int = 1, tier: str = "FULL") -> None:
        self.timeout_s = timeout_s
        self.tier = tier
        self._workers = [_Worker() for _ in range(max(1, min(workers, os.cpu_count() or 1)))]

    def parse(self, content: bytes, language: str) -> ParseOutcome:
        [(_, outcome)] = self.parse_stream([(None, content, language)])
        return outcome

    def parse_stream(self, items: Iterable[tuple[Tag, bytes, str]]) -> Iterator[tuple[Tag, ParseOutcome]]:
        """(tag, outcome) of every (tag, content, language), in the order the children finish them."""
        pending = iter(items)
        idle = list(self._workers)
        busy: dict[Connection, tuple[_Worker, Tag, float]] = {}
        exhausted = False
        while True:
            while idle and not exhausted:
                item = next(pending, None)
                if item is None:
                    exhausted = True
                    break
                worker = idle.pop()
                tag, content, language = item
                worker.send(content, language, self.tier)
                busy[worker.connection] = (worker, tag, time.monotonic())
            if not busy:
                return
            oldest = min(started for _, _, started in busy.values())
            ready = wait(list(busy), timeout=max(0.0, oldest + self.timeout_s - time.monotonic()))
            for connection in ready:
                worker, tag, _ = busy.pop(connection)
                idle.append(worker)
                yield tag, worker.receive()
            now = time.monotonic()
            for connection, (worker, tag, started) in list(busy.items()):
                if connection not in ready and now - started >= self.timeout_s:
                    del busy[connection]
                    worker.close()  # the next file gets a fresh child
                    idle.append(worker)
                    yield tag, ParseOutcome(None, "timeout")

    def close(self) -> None:
        for worker in self._workers:
            worker.close()

    def __enter__(self) -> IsolatedParser:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _serve(connection: Connection) -> None:
    from codegraph_assets.core.ir_parser import parse_document

    connection.send(_READY)
    while True:
        try:
            content, language, tier = connection.recv()
        except EOFError:
            return
        try:
            reply = (True, parse_document(content, language, tier))
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            reply = (False, exc)
        connection.send(reply)


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
