"""Source snapshots: which files of a repository at a commit get indexed, and why the others don't.

A snapshot is a *manifest*, the list of `(path, blob sha)` at one commit, each entry either indexed
or skipped with a recorded reason. The git plumbing that lists trees and reads blobs lives in
`resources/git.py`; this module only decides.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import pathspec

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.languages import language_for_path
from codegraph_assets.core.text_lines import split_lines


class SkipReason:
    """Why a file of the snapshot is not indexed; stable strings shown in metadata."""

    SYMLINK = "symlink"
    SUBMODULE = "submodule"
    EXCLUDED = "excluded"
    GITIGNORED = "gitignored"
    TOO_LARGE = "too_large"
    BINARY = "binary"
    NOT_MATCHED = "not_matched"  # outside defaults.file_patterns
    UNDECODABLE_PATH = "undecodable_path"  # not valid UTF-8: cannot be stored or shown faithfully
    UNSAFE_PATH = "unsafe_path"  # control characters (newline, escape sequences) or a "." / ".." component
    UNREADABLE = "unreadable"  # the file vanished or could not be read while listing a directory


GIT_MODE_SYMLINK = "120000"
GIT_MODE_SUBMODULE = "160000"


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One path of a git tree (or a working directory hashed like one)."""

    path: str
    blob_sha: str
    size: int
    mode: str = "100644"
    problem: str | None = None  # a SkipReason found while listing (undecodable path, unreadable file)


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    path: str
    blob_sha: str
    size: int
    language: str | None
    skip_reason: str | None = None

    @property
    def indexed(self) -> bool:
        return self.skip_reason is None


@dataclass(frozen=True, slots=True)
class SourceSnapshot:
    """One (repo, snapshot ref) resolved to a commit, with its manifest."""

    repo: str
    snapshot: str
    commit: str
    manifest_id: str
    entries: tuple[ManifestEntry, ...]

    def indexed(self) -> list[ManifestEntry]:
        return [e for e in self.entries if e.indexed]

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(e.skip_reason for e in self.entries if not e.indexed))

    def languages(self) -> dict[str, int]:
        return dict(Counter(e.language or "unknown" for e in self.indexed()))


def discovery_options_key(config: IndexingConfig) -> str:
    """Options that change which files are indexed are part of the manifest's identity."""
    options = {
        "excludes": config.exclude_patterns.get_lexical_excludes(),
        "patterns": config.defaults.file_patterns,
        "max_bytes": config.discovery.max_file_bytes,
        "gitignore": config.discovery.honour_gitignore,
    }
    return json.dumps(options, sort_keys=True)


def manifest_id_for(repo: str, commit: str, config: IndexingConfig) -> str:
    text = f"{repo}\0{commit}\0{discovery_options_key(config)}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def classify_tree(
    entries: Iterable[TreeEntry],
    gitignore_files: Mapping[str, bytes],
    config: IndexingConfig,
) -> list[ManifestEntry]:
    """Decide for every tree entry whether it is indexed; `gitignore_files` maps dir ('' = root) to text.

    Callers pass .gitignore files only for working trees: in a commit every file is tracked, and git
    never ignores tracked files.
    """
    excludes = pathspec.GitIgnoreSpec.from_lines(config.exclude_patterns.get_lexical_excludes())
    patterns = pathspec.GitIgnoreSpec.from_lines(config.defaults.file_patterns)
    ignores = {
        directory: pathspec.GitIgnoreSpec.from_lines(split_lines(text.decode("utf-8", "replace")))
        for directory, text in gitignore_files.items()
    } if config.discovery.honour_gitignore else {}
    manifest = []
    for entry in sorted(entries, key=lambda e: e.path):
        reason = _skip_reason(entry, excludes, patterns, ignores, config)
        manifest.append(
            ManifestEntry(entry.path, entry.blob_sha, entry.size, language_for_path(entry.path), reason)
        )
    return manifest


def excluded_directory(config: IndexingConfig) -> Callable[[str], bool]:
    """A predicate for directory walks: True for a directory the default excludes leave out entirely."""
    excludes = pathspec.GitIgnoreSpec.from_lines(config.exclude_patterns.get_lexical_excludes())
    return lambda directory: excludes.match_file(directory.rstrip("/") + "/")


def ir_excluded(config: IndexingConfig) -> Callable[[str], bool]:
    """A predicate for paths that are indexed but not parsed (minified bundles, lock files)."""
    spec = pathspec.GitIgnoreSpec.from_lines(config.exclude_patterns.ir_build)
    return spec.match_file


def _skip_reason(entry, excludes, patterns, ignores, config) -> str | None:
    if entry.problem:
        return entry.problem
    if _unsafe_path(entry.path):
        return SkipReason.UNSAFE_PATH  # would forge lines in output or terminals, or look like a traversal
    if entry.mode == GIT_MODE_SYMLINK:
        return SkipReason.SYMLINK  # never followed: a link may point outside the repository
    if entry.mode == GIT_MODE_SUBMODULE:
        return SkipReason.SUBMODULE
    if excludes.match_file(entry.path):
        return SkipReason.EXCLUDED
    if _gitignored(entry.path, ignores):
        return SkipReason.GITIGNORED
    if not patterns.match_file(entry.path):
        return SkipReason.NOT_MATCHED
    if entry.size > config.discovery.max_file_bytes:
        return SkipReason.TOO_LARGE
    return None


def _unsafe_path(path: str) -> bool:
    """Control characters anywhere, or a component git itself refuses to check out ("", ".", "..")."""
    return any(ord(c) < 32 or c == "\x7f" for c in path) or any(
        part in ("", ".", "..") for part in path.split("/"))


def _gitignored(path: str, ignores: Mapping[str, pathspec.GitIgnoreSpec]) -> bool:
    """Git's precedence: the deepest .gitignore with a matching rule decides, its last match wins (`!` re-includes)."""
    directory = posixpath.dirname(path)
    while True:
        spec = ignores.get(directory)
        if spec is not None:
            verdict = spec.check_file(path[len(directory) + 1:] if directory else path).include
            if verdict is not None:
                return verdict
        if not directory:
            return False
        directory = posixpath.dirname(directory)


def is_binary(content: bytes, sniff_bytes: int) -> bool:
    """Git's own heuristic: a NUL byte near the start means binary."""
    return b"\0" in content[:sniff_bytes]


def diff_manifests(
    old: Iterable[ManifestEntry], new: Iterable[ManifestEntry]
) -> tuple[list[ManifestEntry], list[ManifestEntry]]:
    """(entries to add, entries to remove) between two manifests' indexed entries, by (path, blob)."""
    old_keys = {(e.path, e.blob_sha): e for e in old if e.indexed}
    new_keys = {(e.path, e.blob_sha): e for e in new if e.indexed}
    added = [e for k, e in new_keys.items() if k not in old_keys]
    removed = [e for k, e in old_keys.items() if k not in new_keys]
    return added, removed
