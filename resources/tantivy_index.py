"""TantivyResource: one immutable Tantivy index per (repo, snapshot, manifest), built incrementally.

A run never edits the index readers use. It builds the new manifest's index in a staging directory
that starts as hard links of the previous manifest's segment files (Tantivy never rewrites a segment
file, so the two share disk and stay independent), applies only the diff, commits, and renames the
staging directory into place. Readers open the directory of the manifest the metadata store says is
serving, so they see the previous complete snapshot until every stage has published the new one, and
a killed run leaves only a staging directory that the next run of the partition removes.
Each file is indexed as its lexical units, one Tantivy document each; the schema, the analyzers and the
queries are in resources/tantivy_schema.py.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import tantivy

from codegraph_assets.config import LexicalConfig, codegraph_home
from codegraph_assets.core.lexical_query import LexicalQuery, parse_query
from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.file_lock import LockHeld, exclusive_file_lock
from resources.tantivy_schema import (
    LexicalDocument,
    LexicalMatch,
    UnitFields,
    build_query,
    build_schema,
    file_heads_query,
    file_units,
    match_of,
    register_analyzers,
    unit_document,
)

# Bump when fields, tokenization or the directory layout change: a new version starts fresh directories
# (and garbage collection removes the old ones). 2: one directory per manifest. 3: one document per
# lexical unit (function, method, the rest of a class or module) with ranked fields.
SCHEMA_VERSION = "3"
_STAGING_PREFIX = ".staging-"
# Beside an index's segments: the settings its units were cut with (`build(built_with=...)`), so a run with
# other settings neither reuses the index nor builds on it. Written fresh per build, never hard-linked.
_BUILT_WITH_FILE = "codegraph-built-with"
_LOCK_FILE = ".partition.lock"
_MANIFEST_DIR = re.compile(r"^[0-9a-f]{16,64}$")

__all__ = ["LexicalDocument", "LexicalMatch", "SCHEMA_VERSION", "TantivyResource", "UnitFields", "file_units"]


class TantivyResource(dg.ConfigurableResource):
    """Tantivy indexes under `index_dir` (default $CODEGRAPH_HOME/lexical)."""

    index_dir: str = ""
    writer_heap_bytes: int = 64_000_000
    min_free_disk_bytes: int = 64_000_000  # a failed write with less free space than this is DISK_FULL

    def root(self) -> Path:
        return (Path(self.index_dir) if self.index_dir else codegraph_home() / "lexical") / f"v{SCHEMA_VERSION}"

    def partition_dir(self, repo: str, snapshot: str) -> Path:
        """The directory holding every manifest's index of one partition."""
        digest = hashlib.sha256(f"{repo}\0{snapshot}".encode()).hexdigest()[:12]
        return self.root() / _safe(repo) / f"{_safe(snapshot)}-{digest}"

    def manifest_dir(self, repo: str, snapshot: str, manifest_id: str) -> Path:
        if not _MANIFEST_DIR.match(manifest_id):
            raise ValueError(f"not a manifest id: {manifest_id!r}")
        return self.partition_dir(repo, snapshot) / manifest_id

    def has_index(self, repo: str, snapshot: str, manifest_id: str) -> bool:
        """A manifest's directory only ever appears complete (it is renamed into place after its commit)."""
        return (self.manifest_dir(repo, snapshot, manifest_id) / "meta.json").is_file()

    def built_with(self, repo: str, snapshot: str, manifest_id: str) -> str | None:
        """The settings a manifest's index was built with (`build`'s `built_with`); None without an index,
        "" for one built before they were recorded."""
        directory = self.manifest_dir(repo, snapshot, manifest_id)
        if not (directory / "meta.json").is_file():
            return None
        try:
            return (directory / _BUILT_WITH_FILE).read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def build(self, repo: str, snapshot: str, manifest_id: str, *, base_manifest_id: str | None,
              remove_paths: Iterable[str], add: Iterable[list[UnitFields]], built_with: str = "") -> int:
        """Build the index of `manifest_id` from `base_manifest_id`'s (None: from nothing) by removing
        `remove_paths` and adding `add` (each file's units, as `tantivy_schema.file_units` makes them), then
        put it in place (replacing one that exists, in one step). `built_with` names the settings the units
        were cut with. Returns the number of files added. The caller holds `partition_lock`."""
        partition = self.partition_dir(repo, snapshot)
        final = self.manifest_dir(repo, snapshot, manifest_id)
        for leftover in partition.glob(f"{_STAGING_PREFIX}*"):  # from killed runs: the lock says none is live
            shutil.rmtree(leftover, ignore_errors=True)
        staging = partition / f"{_STAGING_PREFIX}{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            if base_manifest_id is not None:
                _link_segments(self.manifest_dir(repo, snapshot, base_manifest_id), staging)
            added = self._write(repo, snapshot, staging, remove_paths, add)
            (staging / _BUILT_WITH_FILE).write_text(built_with, encoding="utf-8")
            if final.exists():  # a rebuild: the new index takes the old one's place, the old one is removed below
                _exchange_directories(staging, final)
            else:
                staging.rename(final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return added

    def retain(self, repo: str, snapshot: str, keep: set[str]) -> int:
        """Delete this partition's manifest indexes not in `keep`; returns how many went. The caller holds
        `partition_lock` (and read `keep` under it)."""
        partition = self.partition_dir(repo, snapshot)
        return _remove_manifest_dirs(partition, keep) if partition.is_dir() else 0

    def remove_unreferenced(self, keep: Callable[[], set[tuple[str, str, str]]], tracked: set[tuple[str, str]]) -> int:
        """Garbage collection: delete the manifest indexes `keep()` does not name ((repo, snapshot,
        manifest_id)), the whole directories of partitions not `tracked`, and those of older schema versions.

        `keep` is called under each partition's lock, so a run that built an index and is about to publish
        it (it holds the lock until it has) never loses it; a partition being written is skipped. Only
        directories this resource lays out are touched (never through a symlink), whatever shares the root.
        """
        removed = 0
        base = self.root().parent
        for version in sorted(base.iterdir()) if base.is_dir() else []:
            if re.fullmatch(r"v\d+", version.name) and not version.is_symlink() and version != self.root():
                for directory in sorted(version.glob("*/*")):  # the layout of version 1: one index per partition
                    if (not directory.is_symlink() and not directory.parent.is_symlink()
                            and (directory / "meta.json").is_file()):
                        shutil.rmtree(directory)
                        removed += 1
        live = {self.partition_dir(repo, snapshot) for repo, snapshot in tracked}
        root = self.root()
        for partition in sorted(root.glob("*/*")) if root.is_dir() else []:
            if partition.is_symlink() or partition.parent.is_symlink() or not partition.is_dir():
                continue
            try:
                with exclusive_file_lock(partition / _LOCK_FILE, wait=False):
                    wanted = {manifest_id for repo, snapshot, manifest_id in keep()
                              if self.partition_dir(repo, snapshot) == partition}
                    removed += _remove_manifest_dirs(partition, wanted)
                    if partition not in live and not wanted:  # (registered and published meanwhile: kept)
                        shutil.rmtree(partition)
            except LockHeld:
                continue
        return removed

    def document_count(self, repo: str, snapshot: str, manifest_id: str) -> int:
        """Indexed files (not units) in one manifest's index."""
        index = self._open(self.manifest_dir(repo, snapshot, manifest_id))
        if index is None:
            return 0
        return index.searcher().search(file_heads_query(index.schema), 1, count=True).count

    def unit_count(self, repo: str, snapshot: str, manifest_id: str) -> int:
        index = self._open(self.manifest_dir(repo, snapshot, manifest_id))
        return 0 if index is None else index.searcher().num_docs

    def documents(self, repo: str, snapshot: str, manifest_id: str) -> list[tuple[str, str]]:
        """Every (path, blob) in one manifest's index, once per indexed file, sorted (for checks and tests:
        it reads every file's first unit)."""
        index = self._open(self.manifest_dir(repo, snapshot, manifest_id))
        if index is None:
            return []
        searcher = index.searcher()
        if searcher.num_docs == 0:
            return []
        documents = [searcher.doc(address) for _, address in
                     searcher.search(file_heads_query(index.schema), searcher.num_docs).hits]
        return sorted((doc["path"][0], doc["blob"][0]) for doc in documents)

    def search(self, repo: str, snapshot: str, manifest_id: str, query: str | LexicalQuery, limit: int,
               ranking: LexicalConfig | None = None) -> list[LexicalMatch]:
        """The best units for `query` (text in the lexical query language, or parsed) in one manifest's index."""
        directory = self.manifest_dir(repo, snapshot, manifest_id)
        parsed = parse_query(query) if isinstance(query, str) else query
        if parsed.empty:
            return []
        index = self._open(directory)
        if index is None:
            raise CodegraphError(
                ErrorCode.INDEX_CORRUPTED, f"the Tantivy index of {repo}|{snapshot} is missing at {directory}",
                input=str(directory), fix="re-materialize the lexical asset for this partition (it is rebuilt)",
            )
        searcher = index.searcher()
        result = searcher.search(build_query(index.schema, parsed, ranking or LexicalConfig()), limit)
        return [match_of(searcher.doc(address), score) for score, address in result.hits]

    def _write(self, repo: str, snapshot: str, directory: Path, remove_paths: Iterable[str],
               add: Iterable[list[UnitFields]]) -> int:
        """Delete, add, commit once, in `directory`."""
        index = self._open(directory, create=True)
        writer = index.writer(heap_size=self.writer_heap_bytes, num_threads=1)
        added = 0
        try:
            for path in remove_paths:
                writer.delete_documents_by_term("path", path)
            for units in add:
                for ordinal, fields in enumerate(units):
                    writer.add_document(unit_document(fields, file_head=ordinal == 0))
                added += 1
            writer.commit()
            writer.wait_merging_threads()
        except (OSError, ValueError) as exc:
            # Tantivy reports I/O failures as a dead writer thread without the errno, so the free space
            # tells a full disk from a broken index.
            if shutil.disk_usage(directory).free < self.min_free_disk_bytes:
                raise CodegraphError(
                    ErrorCode.DISK_FULL, f"the disk holding the Tantivy index of {repo}|{snapshot} ({directory}) "
                    "is full", input=str(directory), fix="free disk space under the index directory and re-run",
                ) from exc
            raise CodegraphError(
                ErrorCode.LEXICAL_INDEX_ERROR, f"writing the Tantivy index of {repo}|{snapshot} failed: {exc}",
                input=str(directory), fix="re-run; if it fails again, delete the partition's directory to rebuild it",
            ) from exc
        return added

    @contextmanager
    def partition_lock(self, repo: str, snapshot: str) -> Iterator[None]:
        """One writer per partition, across processes (a second one gets a TRANSIENT INDEX_LOCKED), held
        from building a manifest's index until its head is published, so cleanup never races a publish."""
        partition = self.partition_dir(repo, snapshot)
        partition.mkdir(parents=True, exist_ok=True)
        try:
            with exclusive_file_lock(partition / _LOCK_FILE, wait=False):
                yield
        except LockHeld as exc:
            raise CodegraphError(
                ErrorCode.INDEX_LOCKED, f"the Tantivy index of {repo}|{snapshot} is being written by another run",
                input=str(partition), fix="retry when the other run has finished",
            ) from exc

    def _open(self, directory: Path, *, create: bool = False) -> tantivy.Index | None:
        if not create and not (directory / "meta.json").is_file():
            return None
        try:
            index = tantivy.Index(build_schema(), path=str(directory), reuse=True)
            register_analyzers(index)
            return index
        except ValueError as exc:
            if "schema does not match" in str(exc):
                raise CodegraphError(
                    ErrorCode.LEXICAL_INDEX_ERROR, f"the Tantivy index at {directory} was built with another schema",
                    input=str(directory), fix="delete the directory (it is rebuilt), or bump SCHEMA_VERSION "
                    "when changing fields",
                ) from exc
            raise CodegraphError(
                ErrorCode.INDEX_CORRUPTED, f"the Tantivy index at {directory} cannot be opened: {exc}",
                input=str(directory), fix="delete the directory and re-materialize the lexical asset",
            ) from exc


def _link_segments(source: Path, target: Path) -> None:
    """Hard-link a complete index's files into `target` (copy where links are impossible), without its
    lock files: the new index starts as the old one, sharing its immutable segment files."""
    for item in source.iterdir():
        if (item.name.startswith(".tantivy-") and item.name.endswith(".lock")) or item.name == _BUILT_WITH_FILE:
            continue
        try:
            os.link(item, target / item.name)
        except OSError:  # another filesystem, or links forbidden
            shutil.copy2(item, target / item.name)


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange_directories(first: Path, second: Path) -> None:
    """Swap two directories' names in one step (Linux renameat2 RENAME_EXCHANGE), so the path readers open
    always holds a complete index, even if the process dies here. Where the kernel or filesystem cannot,
    two renames, with the moment between them as the only window."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None and renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                                           _RENAME_EXCHANGE) == 0:
        return
    retired = first.with_name(f"{_STAGING_PREFIX}{uuid.uuid4().hex}")
    second.rename(retired)
    first.rename(second)
    retired.rename(first)


def _remove_manifest_dirs(partition: Path, keep: set[str]) -> int:
    removed = 0
    for directory in sorted(partition.iterdir()):
        stale_staging = directory.name.startswith(_STAGING_PREFIX)
        if directory.is_symlink() or not directory.is_dir():
            continue
        if stale_staging or (_MANIFEST_DIR.match(directory.name) and directory.name not in keep
                             and (directory / "meta.json").is_file()):
            shutil.rmtree(directory, ignore_errors=True)
            removed += not stale_staging
    return removed


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:80]
