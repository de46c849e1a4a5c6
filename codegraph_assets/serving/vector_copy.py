"""Vector reads for a long-lived server, without ever holding the Qdrant local store indexing runs write.

Qdrant local mode locks its directory for one client (an exclusive, non-blocking lock on `.lock`): a
server that kept the store open would make every indexing run's vector step fail with INDEX_LOCKED. So a
server reads a private copy of the store instead. The copy is taken under the writer lock that vector
steps hold while they write (`QdrantResource.writing()`), so it is never half-written, and it holds the
lock only for the copy: a vector step waits that long at most. The first copy is taken when the server
starts (waiting a bounded time for a vector step to finish), a fresh one when a partition is asked about
whose serving manifest is newer than the copy; while a vector step holds the lock, the previous copy
keeps answering (`CodeSearch` filters its points by the serving manifest, so a file changed
by the newest snapshot lacks vector hits until the step ends). A search holds the copy it reads until it
ends: a newer copy taken meanwhile retires the old one, deleted when its last search is done. A Qdrant
server needs none of this: its resource is used directly.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.file_lock import LockHeld, exclusive_file_lock
from resources.metadata_store import SERVING, MetadataStore
from resources.qdrant_store import QdrantResource

log = logging.getLogger(__name__)

_COPY_PREFIX = "qdrant-copy-"
_QDRANT_CLIENT_LOCK = ".lock"  # the client lock inside a local store: the copy gets its own


class _StoreCopy:
    """One private copy of the store, and the searches reading it: a newer copy retires it, and it is
    deleted when the last of them ends (deleting it under a search would fail that search)."""

    __slots__ = ("directory", "reader", "serving", "users", "retired")

    def __init__(self, directory: Path, reader: QdrantResource, serving: dict[tuple[str, str], str]) -> None:
        self.directory, self.reader = directory, reader
        self.serving = serving  # (repo, snapshot) → serving manifest the copy holds the points of
        self.users = 0
        self.retired = False


class VectorReader:
    """The Qdrant resource a server's searches read: a private copy of a local store, or the server itself.
    Thread-safe: searches hold a copy for as long as they read it (`reading`), one thread at a time takes a
    new copy, and the others keep reading theirs meanwhile."""

    def __init__(self, qdrant: QdrantResource, store: MetadataStore, copy_root: Path) -> None:
        self.qdrant, self.store, self.copy_root = qdrant, store, copy_root
        self._copy: _StoreCopy | None = None
        self._lock = threading.Lock()  # guards _copy and every copy's users and retired flag; held briefly
        self._refresh_lock = threading.RLock()  # one copy taken at a time (copying takes seconds)

    @property
    def copies_local_store(self) -> bool:
        return not self.qdrant.url

    @contextmanager
    def reading(self, repo: str, snapshot: str, manifest_id: str) -> Iterator[QdrantResource]:
        """A resource holding the points of `manifest_id`, the partition's serving manifest, when it can; it
        stays readable until the block ends, whatever newer copies other threads take meanwhile."""
        if not self.copies_local_store:
            yield self.qdrant
            return
        copy = self._hold(repo, snapshot, manifest_id)
        if copy is None:
            with self._refresh_lock:
                copy = self._hold(repo, snapshot, manifest_id)  # another thread may have just taken it
                if copy is None:
                    copy = self._refresh_or_previous(repo, snapshot)
        try:
            yield copy.reader
        finally:
            self._release(copy)

    @contextmanager
    def reading_latest(self) -> Iterator[QdrantResource | None]:
        """What searches that need no vectors may hold: the current copy (or the server), None before one."""
        if not self.copies_local_store:
            yield self.qdrant
            return
        with self._lock:
            copy = self._copy
            if copy is not None:
                copy.users += 1
        try:
            yield None if copy is None else copy.reader
        finally:
            if copy is not None:
                self._release(copy)

    def latest(self) -> QdrantResource | None:
        """The resource of the current copy (or the server), None before one; not held: see `reading`."""
        if not self.copies_local_store:
            return self.qdrant
        copy = self._copy
        return None if copy is None else copy.reader

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

    def refresh(self) -> None:
        """Take a new copy now if no vector step is writing; LockHeld if one is. The previous copy is deleted
        once no search reads it."""
        with self._refresh_lock:
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
            fresh = _StoreCopy(target, QdrantResource(path=str(target),
                                                      collection_prefix=self.qdrant.collection_prefix), serving)
            with self._lock:
                previous, self._copy = self._copy, fresh
            if previous is not None:
                self._retire(previous)

    def close(self) -> None:
        with self._lock:
            current, self._copy = self._copy, None
        if current is not None:
            self._retire(current)

    def _hold(self, repo: str, snapshot: str, manifest_id: str) -> _StoreCopy | None:
        """The current copy, held, if it holds the points of `manifest_id`; else None."""
        with self._lock:
            copy = self._copy
            if copy is None or copy.serving.get((repo, snapshot)) != manifest_id:
                return None
            copy.users += 1
            return copy

    def _refresh_or_previous(self, repo: str, snapshot: str) -> _StoreCopy:
        """A new copy, held; the previous one while a vector step writes (INDEX_LOCKED if there is none)."""
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
        with self._lock:  # only this thread replaces the copy (it holds the refresh lock): it is there
            copy = self._copy
            copy.users += 1
            return copy

    def _release(self, copy: _StoreCopy) -> None:
        with self._lock:
            copy.users -= 1
            unused = copy.retired and copy.users == 0
        if unused:
            _discard(copy)

    def _retire(self, copy: _StoreCopy) -> None:
        with self._lock:
            copy.retired = True
            unused = copy.users == 0
        if unused:
            _discard(copy)


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
