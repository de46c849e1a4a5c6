"""Parses blobs in a child process, so that a file that hangs or crashes a grammar costs one timeout, not the run.

Tree-sitter runs in C and holds the GIL: a thread cannot be interrupted, and py-tree-sitter 0.26's query
progress callback is unsafe to use (it keeps a pointer to a stack variable). A pathological file, such as
100 KB of `(` in Python, makes the extraction query quadratic (≈10 s here); a grammar bug can segfault.
Both stay in the child: past `ir_build.parse_timeout_s` it is killed and a fresh one takes the next file.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection

from codegraph_assets.core.ir_model import DocumentIR


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    """A parsed document, or None with why not: "timeout" (past the limit) or "crashed" (the child died)."""

    document: DocumentIR | None
    failure: str | None = None


class IsolatedParser:
    """One parsing child process, started on first use and replaced after a timeout or a crash."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._process: subprocess.Popen | None = None
        self._connection: Connection | None = None

    def parse(self, content: bytes, language: str) -> ParseOutcome:
        if self._process is None:
            self._start()
        assert self._connection is not None
        try:
            self._connection.send((content, language))
            if not self._connection.poll(self.timeout_s):
                self.close()
                return ParseOutcome(None, "timeout")
            ok, value = self._connection.recv()
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
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None

    def __enter__(self) -> IsolatedParser:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _start(self) -> None:
        # A fresh interpreter, not multiprocessing's fork (a run has threads) or spawn (it re-imports __main__).
        ours, theirs = multiprocessing.Pipe()
        self._process = subprocess.Popen([sys.executable, "-m", __name__, str(theirs.fileno())],
                                         pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        self._connection = ours


def _serve(connection: Connection) -> None:
    from codegraph_assets.core.ir_parser import parse_document

    while True:
        try:
            content, language = connection.recv()
        except EOFError:
            return
        try:
            reply = (True, parse_document(content, language))
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            reply = (False, exc)
        connection.send(reply)


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
