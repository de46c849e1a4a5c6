"""The text of a file exactly as a partition's serving snapshot indexed it: its blob, read from git.

The serving manifest names each path's blob; git gives the blob's bytes (`cat-file`, read-only), decoded
as every stage decodes them (UTF-8, bad bytes replaced). A plain directory has no object store, so its
file is read from disk and checked against the blob it was indexed at: a file edited since is refused
rather than shown at the wrong version.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from codegraph_assets.core.source import ManifestEntry
from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.git import GitResource
from resources.metadata_store import MetadataStore


class ServedSnapshot(Protocol):
    repo: str
    snapshot: str
    commit: str
    manifest_id: str


class ServedFiles:
    """Files of serving snapshots; remembers the latest manifest of each partition (manifests never change)."""

    def __init__(self, store: MetadataStore, git: GitResource) -> None:
        self.store, self.git = store, git
        self._manifests: dict[tuple[str, str], tuple[str, dict[str, ManifestEntry]]] = {}

    def read(self, serving: ServedSnapshot, path: str) -> tuple[ManifestEntry, str]:
        entry = self._entries(serving).get(path)
        if entry is None:
            raise CodegraphError(
                ErrorCode.PATH_NOT_FOUND, f"{path!r} is not an indexed file of {serving.repo}|{serving.snapshot} "
                f"(commit {serving.commit[:12]})", input=path,
                fix="give a path relative to the repository root, as search hits print it (binary, too large "
                "and excluded files are not indexed)")
        record = self.store.get_repo(serving.repo)
        if record is None:
            raise CodegraphError(ErrorCode.PATH_NOT_FOUND, f"repository {serving.repo!r} is no longer registered",
                                 input=serving.repo, fix="register it again (`codegraph repo add`)")
        blobs = self.git.read_blobs(record.name, record.kind, record.location, [entry])  # type: ignore[arg-type]
        [(_, content)] = list(blobs)
        if record.kind == "directory" and _git_blob_sha(content) != entry.blob_sha:
            raise CodegraphError(
                ErrorCode.FILE_ACCESS_ERROR, f"{path} in {record.location} changed since {serving.repo}|"
                f"{serving.snapshot} was indexed", input=path,
                fix="re-index the directory (`codegraph index`) to serve the file as it is now")
        return entry, content.decode("utf-8", "replace")

    def _entries(self, serving: ServedSnapshot) -> dict[str, ManifestEntry]:
        key = (serving.repo, serving.snapshot)
        cached = self._manifests.get(key)
        if cached is None or cached[0] != serving.manifest_id:
            entries = {e.path: e for e in self.store.load_manifest(serving.manifest_id) if e.indexed}
            self._manifests[key] = cached = (serving.manifest_id, entries)
        return cached[1]


def _git_blob_sha(content: bytes) -> str:
    """Git's object id of a blob (what the manifest holds for files of a plain directory too)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
