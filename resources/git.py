"""GitResource: the git operations of `resources/git_operations.py` as a Dagster resource.

User input (locations and refs) never reaches git as an option; see `git_operations` for how.
"""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from codegraph_assets.core.source import TreeEntry
from resources.git_operations import (
    WORKTREE_SNAPSHOT,
    GitOperations,
    RepoKind,
    RepoLocation,
    display_location,
    is_full_sha,
    parse_location,
    validate_ref,
    worktree_commit,
)

__all__ = [
    "WORKTREE_SNAPSHOT", "GitResource", "RepoKind", "RepoLocation", "display_location", "is_full_sha",
    "parse_location", "validate_ref", "worktree_commit",
]


class GitResource(dg.ConfigurableResource, GitOperations):
    """Runs git: mirrors remotes under `mirrors_dir`, resolves refs, lists trees, streams blobs."""

    mirrors_dir: str = ""  # "" = $CODEGRAPH_HOME/git
    timeout_s: float = 120.0  # every git call but clone (fetch included)
    clone_timeout_s: float = 1800.0  # a first clone of a large remote takes far longer than a fetch
    # The last directory walk, so `resolve_ref` then `list_tree` of the same worktree commit walks once.
    _last_walk: dict[tuple, tuple[str, list[TreeEntry]]] = PrivateAttr(default_factory=dict)
