"""A pool of child interpreters that take requests one at a time: CPU-bound Python (parsing, chunking) runs
on every core instead of behind the GIL, and a request that hangs or crashes its child costs that child.

Each child is a fresh interpreter running a worker module (`python -m <module> <fd>`), not multiprocessing's
fork (a run has threads) or spawn (it re-imports __main__). The module calls `serve` with a factory that
turns the pool's `setup` (sent once per child, e.g. a token budget) into the function that answers
requests. Strict request → reply per child, so neither side can block the other on a full pipe.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

from codegraph_assets.errors import CodegraphError, ErrorCode

Tag = TypeVar("Tag")
_READY = "ready"
_STARTUP_TIMEOUT_S = 120.0
# Below this many files a stage's children cost more than they save: each takes about half a second to start
# (imports, and a tokenizer or grammar), and one core gets through about 50 files a second.
PARALLEL_FROM_FILES = 100


@dataclass(frozen=True, slots=True)
class Outcome:
    """A child's reply to one request, or None with why not: "timeout" (past the limit) or "crashed"."""

    value: Any
    failure: str | None = None


class _Worker:
    """One child process, started on first use and replaced after a timeout or a crash."""

    def __init__(self, module: str, setup: Any, start_error: ErrorCode) -> None:
        self.module, self.setup, self.start_error = module, setup, start_error
        self._process: subprocess.Popen | None = None
        self.connection: Connection | None = None
        self.starts = 0  # processes started: the first, and each replacement after a timeout or a crash

    def send(self, request: tuple) -> None:
        if self._process is None:
            self._start()
        assert self.connection is not None
        try:
            self.connection.send(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it died between requests: receive() reports the crash

    def receive(self) -> Outcome:
        assert self.connection is not None
        try:
            ok, value = self.connection.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self.close()
            return Outcome(None, "crashed")
        if not ok:
            raise value  # an ordinary exception of the request's function, not a failure of the child
        return Outcome(value)

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        if self.connection is not None:
            self.connection.close()
        self._process = self.connection = None

    def _start(self) -> None:
        self.starts += 1
        ours, theirs = multiprocessing.Pipe()
        self._process = subprocess.Popen([sys.executable, "-m", self.module, str(theirs.fileno())],
                                         pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        self.connection = ours
        # Wait until it has imported what it needs, so its start-up never counts against a request's timeout.
        try:
            ready = ours.poll(_STARTUP_TIMEOUT_S) and ours.recv() == _READY
        except EOFError:  # it died importing
            ready = False
        if not ready:
            self.close()
            raise CodegraphError(self.start_error, f"the worker process {self.module} did not start",
                                 input=sys.executable,
                                 fix=f"check that `python -m {self.module}` imports in this environment")
        ours.send(self.setup)


class WorkerPool:
    """Children of `module`, at most one per CPU. With `timeout_s`, a request gets that long from the moment
    a child starts on it; past it the child is killed and a fresh one takes the next request. A child that
    cannot start is a `start_error` (the stage's own error code)."""

    def __init__(self, module: str, workers: int, start_error: ErrorCode, *, setup: Any = None,
                 timeout_s: float | None = None) -> None:
        self.timeout_s = timeout_s
        count = max(1, min(workers, os.cpu_count() or 1))
        self._workers = [_Worker(module, setup, start_error) for _ in range(count)]

    def stream(self, items: Iterable[tuple[Tag, tuple]]) -> Iterator[tuple[Tag, Outcome]]:
        """(tag, outcome) of every (tag, request), in the order the children finish them. Requests are drawn
        from `items` only as children become free, so a lazy iterable streams."""
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
                tag, request = item
                worker.send(request)
                busy[worker.connection] = (worker, tag, time.monotonic())
            if not busy:
                return
            if self.timeout_s is None:
                ready = wait(list(busy))
            else:
                oldest = min(started for _, _, started in busy.values())
                ready = wait(list(busy), timeout=max(0.0, oldest + self.timeout_s - time.monotonic()))
            for connection in ready:
                worker, tag, _ = busy.pop(connection)
                idle.append(worker)
                yield tag, worker.receive()
            if self.timeout_s is None:
                continue
            now = time.monotonic()
            for connection, (worker, tag, started) in list(busy.items()):
                if connection not in ready and now - started >= self.timeout_s:
                    del busy[connection]
                    worker.close()  # the next request gets a fresh child
                    idle.append(worker)
                    yield tag, Outcome(None, "timeout")

    @property
    def processes_started(self) -> int:
        """Child processes started so far (for a stage's metadata: 0 means none was needed)."""
        return sum(worker.starts for worker in self._workers)

    def close(self) -> None:
        for worker in self._workers:
            worker.close()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class FunctionPool:
    """`handler_for(setup)` applied to a stream of requests, results in request order: in `workers` children
    of `module` (whose main runs `serve(connection, handler_for)`), or in this process when `workers` is 1
    or there is one CPU. Results travel back pickled, so handlers return plain values (tuples, strings)."""

    def __init__(self, module: str, handler_for: Callable[[Any], Callable[..., Any]], setup: Any, workers: int,
                 start_error: ErrorCode) -> None:
        parallel = workers > 1 and (os.cpu_count() or 1) > 1
        self._pool = WorkerPool(module, workers, start_error, setup=setup) if parallel else None
        self._handle = None if parallel else handler_for(setup)

    def stream(self, items: Iterable[tuple[Tag, tuple]]) -> Iterator[tuple[Tag, Any]]:
        """(tag, result) of every (tag, request), in the order of `items`; result None: the child handling
        that request died (killed, out of memory), for the caller to report."""
        if self._pool is None:
            for tag, request in items:
                yield tag, self._handle(*request)
            return
        tags: dict[int, Tag] = {}

        def numbered() -> Iterator[tuple[int, tuple]]:
            for number, (tag, request) in enumerate(items):
                tags[number] = tag
                yield number, request

        # Children finish out of order: results wait here until those of every earlier request are out.
        finished: dict[int, Any] = {}
        next_out = 0
        for number, outcome in self._pool.stream(numbered()):
            finished[number] = outcome.value
            while next_out in finished:
                yield tags.pop(next_out), finished.pop(next_out)
                next_out += 1

    @property
    def processes_started(self) -> int:
        """Child processes started so far; 0 when the requests run in this process."""
        return self._pool.processes_started if self._pool is not None else 0

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    def __enter__(self) -> FunctionPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def child_died(code: ErrorCode, work: str, path: str) -> CodegraphError:
    """The error of a file whose child process died on it (killed, out of memory): the run fails naming it."""
    return CodegraphError(code, f"the process {work} {path} died (killed or out of memory)", input=path,
                          fix="re-run; if it dies again on this file, leave it out (exclude_patterns.default)")


def serve(connection: Connection, handler_for: Callable[[Any], Callable[..., Any]]) -> None:
    """The child's loop: ready, then the setup, then one reply per request until the parent hangs up."""
    connection.send(_READY)
    try:
        handle = handler_for(connection.recv())
    except EOFError:
        return
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        try:
            reply = (True, handle(*request))
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            reply = (False, exc)
        connection.send(reply)
