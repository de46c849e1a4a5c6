"""The repository registry: repos, their refs and ref patterns in the metadata store; refs mirrored as dynamic
partitions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from codegraph_assets.automation.ref_watch import validate_ref_pattern
from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.git_operations import WORKTREE_SNAPSHOT, parse_location, validate_ref
from resources.metadata_store import MetadataStore, RepoRecord

if TYPE_CHECKING:  # the CLI's up-to-date check names repositories without importing Dagster
    import dagster as dg

_REPO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


def validate_repo_name(name: str) -> str:
    if not _REPO_NAME.match(name):
        raise CodegraphError(
            ErrorCode.INVALID_PAYLOAD, f"repository name {name!r} is not allowed",
            input=name, fix="use letters, digits, '.', '_' and '-', starting with a letter or digit",
        )
    return name


def default_repo_name(location: str) -> str:
    """A name from the last path or URL segment: /src/payments.git → payments."""
    tail = location.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    tail = tail[:-4] if tail.endswith(".git") else tail
    return re.sub(r"[^A-Za-z0-9_.-]", "-", tail).lstrip(".-_") or "repo"


def register_repo(store: MetadataStore, instance: dg.DagsterInstance, name: str, location: str,
                  refs: list[str], patterns: Sequence[str] = ()) -> RepoRecord:
    """Record the repo and add its partitions; a plain directory gets the single snapshot `local`.

    `patterns` (globs such as `release/*`, `v*`) are added to the repo's patterns: the push sensor starts
    tracking every branch or tag that matches one when it appears."""
    validate_repo_name(name)
    parsed = parse_location(location)
    if parsed.kind == "directory":
        if patterns:
            raise CodegraphError(
                ErrorCode.INVALID_PAYLOAD, f"{location!r} is a plain directory: it has no branches or tags to track",
                input=location, fix="drop --track, or register a git repository",
            )
        refs = [WORKTREE_SNAPSHOT]
    refs = [validate_ref(ref) for ref in refs]
    patterns = [validate_ref_pattern(pattern) for pattern in patterns]
    from codegraph_assets.partitions import REPO_DIMENSION, SNAPSHOT_DIMENSION  # imports Dagster

    record = store.add_repo(name, parsed.location, parsed.kind, refs)
    if patterns:
        store.add_ref_patterns(name, patterns)
    instance.add_dynamic_partitions(REPO_DIMENSION, [name])
    instance.add_dynamic_partitions(SNAPSHOT_DIMENSION, list(record.refs))
    return record


def unregister_repo(store: MetadataStore, instance: dg.DagsterInstance, name: str) -> bool:
    """Forget the repo; a snapshot partition goes too when no other repository tracks that ref.

    Its published heads go, so nothing serves it any more; its mirror, Tantivy directories and Qdrant
    points stay on disk until garbage collection (content-addressed rows may serve other repos).
    """
    from codegraph_assets.partitions import REPO_DIMENSION, SNAPSHOT_DIMENSION  # imports Dagster

    record = store.get_repo(name)
    if record is None:
        return False
    store.remove_ref_patterns(name)
    if not store.remove_repo(name):
        return False
    instance.delete_dynamic_partition(REPO_DIMENSION, name)
    still_tracked = {ref for repo in store.list_repos() for ref in repo.refs}
    for ref in record.refs:
        if ref not in still_tracked:
            instance.delete_dynamic_partition(SNAPSHOT_DIMENSION, ref)
    return True
