"""Vector reads for a long-lived server, without ever holding the Qdrant local store indexing runs write.

Qdrant local mode locks its directory for one client (an exclusive, non-blocking lock on `.lock`): a
server that kept the store open would make every indexing run's vector step fail with INDEX_LOCKED. So a
server reads a private copy of the store instead. The copy is taken under the writer lock that vector
steps hold while they write (`QdrantResource.writing()`), so it is never half-written, and it holds the
lock only for the copy: a vector step waits that long at most. The first copy is taken when the server
starts (waiting a bounded time for a vector step to finish), a fresh one when a partition is asked about
whose serving manifest is newer than the copy; while a vector step holds the lock, the previous copy
keeps answering (`CodeSearch` filters its points by the serving manifest, so a file changed
by the newest snapshot lacks vector hits until the step ends). A Qdrant server needs none of this: its
resource is used directly.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.file_lock import LockHeld, exclusive_file_lock
from resources.metadata_store import SERVING, MetadataStore
from resources.qdrant_store import QdrantResource

log = logging.getLogger(__name__)

_COPY_PREFIX = "qdrant-copy-"
_QDRANT_CLIENT_LOCK = ".lock"  # the client lock inside a local store: the copy gets its own


@dataclass(frozen=True, slots=True)
class _StoreCopy:
    directory: Path
    reader: QdrantResource
    serving: dict[tuple[str, str], str]  # (repo, snapshot) → serving manifest the copy holds the points of


class VectorReader:
    """The Qdrant resource a server's searches read: a private copy of a local store, or the server itself."""

    def __init__(self, qdrant: QdrantResource, store: MetadataStore, copy_root: Path) -> None:
        self.qdrant, self.store, self.copy_root = qdrant, store, copy_root
        self._copy: _StoreCopy | None = None

    @property
    def copies_local_store(self) -> bool:
        return not self.qdrant.url

    def reader(self, repo: str, snapshot: str, manifest_id: str) -> QdrantResource:
        """A resource holding the points of `manifest_id`, the partition's serving manifest, when it can."""
        if not self.copies_local_store:
            return self.qdrant
        if self._copy is not None and self._copy.serving.get((repo, snapshot)) == manifest_id:
            return self._copy.reader
        try:
            self.refresh()
        except LockHeld:
            if self._copy is None:
                raise CodegraphError(
                    ErrorCode.INDEX_LOCKED, f"an indexing run's vector step is writing the Qdrant local store "
                    f"{self.qdrant.location}, and this server has no copy of it yet", input=self.qdrant.location,
                    fix="retry when the vector step has finished (lexical search works meanwhile), or run a "
                    "Qdrant server and set CODEGRAPH_QDRANT_URL") from None
            log.info("a vector step is writing %s: %s|%s answers from the previous copy until it ends",
                     self.qdrant.location, repo, snapshot)
        return self._copy.reader

    def take_first_copy(self, wait_s: float, poll_s: float) -> bool:
        """Copy the store now, trying the writer lock every `poll_s` for up to `wait_s` while a vector step
        holds it; whether a copy was taken. Vector steps of a busy backfill follow each other closely, and a
        server that waited for a query to try would find the lock free only by luck."""
        if not self.copies_local_store:
            return True
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.refresh()
                return True
            except LockHeld:
                if time.monotonic() >= deadline:
                    log.warning("a vector step held %s for %ss: vector searches answer 503 until a copy is taken",
                                self.qdrant.location, wait_s)
                    return False
                time.sleep(poll_s)  # polling a lock another process holds, bounded by the deadline

    def latest(self) -> QdrantResource | None:
        """What searches that need no vectors may hold: the current copy (or the server), None before one."""
        if not self.copies_local_store:
            return self.qdrant
        return None if self._copy is None else self._copy.reader

    def refresh(self) -> None:
        """Take a new copy now if no vector step is writing; LockHeld if one is."""
        self.copy_root.mkdir(parents=True, exist_ok=True)
        source = Path(self.qdrant.location)
        target = Path(tempfile.mkdtemp(prefix=f"{_COPY_PREFIX}{os.getpid()}-", dir=self.copy_root))
        self.qdrant.writer_lock_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with exclusive_file_lock(self.qdrant.writer_lock_path, wait=False):
                # Heads read under the lock: every manifest serving now had its points written before it.
                serving = {(h.repo, h.snapshot): h.manifest_id for h in self.store.published_heads()
                           if h.stage == SERVING}
                if source.is_dir():
                    shutil.copytree(source, target, dirs_exist_ok=True,
                                    ignore=shutil.ignore_patterns(_QDRANT_CLIENT_LOCK))
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        previous = self._copy
        self._copy = _StoreCopy(target, QdrantResource(path=str(target),
                                                       collection_prefix=self.qdrant.collection_prefix), serving)
        if previous is not None:
            _discard(previous)

    def close(self) -> None:
        if self._copy is not None:
            _discard(self._copy)
            self._copy = None


def remove_abandoned_copies(copy_root: Path) -> int:
    """Delete copies left by servers that died without closing (their process is gone); returns how many."""
    removed = 0
    for directory in copy_root.glob(f"{_COPY_PREFIX}*") if copy_root.is_dir() else []:
        pid = directory.name.removeprefix(_COPY_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)) and not directory.is_symlink():
            shutil.rmtree(directory, ignore_errors=True)
            removed += 1
    return removed


def _discard(copy: _StoreCopy) -> None:
    copy.reader.close()
    shutil.rmtree(copy.directory, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True
