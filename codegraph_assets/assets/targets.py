"""What a partition's run indexes: the (repo, snapshot) of its key, resolved to one commit.

The commit comes from the run tag `codegraph/commit` when the launcher pinned it (CLI, sensor,
schedule), so every asset of a run indexes the same commit even if the branch moves meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.source import SourceSnapshot
from codegraph_assets.partitions import split_partition_key
from codegraph_assets.stages.snapshot import load_snapshot, registered_repo, resolve_commit
from codegraph_assets.stages.stats import StageStats
from resources.git import GitResource
from resources.metadata_store import MetadataStore, RepoRecord

COMMIT_TAG = "codegraph/commit"
ASSET_GROUP = "codegraph"


@dataclass(frozen=True)
class SnapshotRef:
    """What one asset hands the next: which manifest of which partition it finished."""

    repo: str
    snapshot: str
    commit: str
    manifest_id: str


@dataclass(frozen=True)
class Target:
    repo: RepoRecord
    snapshot: SourceSnapshot

    def ref(self) -> SnapshotRef:
        return SnapshotRef(self.snapshot.repo, self.snapshot.snapshot, self.snapshot.commit,
                           self.snapshot.manifest_id)


def resolve_target(context: dg.AssetExecutionContext, store: MetadataStore, git: GitResource,
                   config: IndexingConfig) -> Target | None:
    """The partition's snapshot, or None (logged once) when its ref does not exist in that repo."""
    repo_name, ref = split_partition_key(context.partition_key)
    repo = registered_repo(store, repo_name)
    commit = context.run.tags.get(COMMIT_TAG) or resolve_commit(repo, ref, git)
    if commit is None:
        context.log.info(f"skipped {repo_name}|{ref}: repository {repo_name!r} has no branch or tag {ref!r}")
        return None
    return Target(repo, load_snapshot(repo, ref, commit, store, git, config))


def target_from_ref(ref: SnapshotRef, store: MetadataStore, git: GitResource, config: IndexingConfig) -> Target:
    """Rebuild the target an upstream asset finished (its manifest is already stored)."""
    repo = registered_repo(store, ref.repo)
    return Target(repo, load_snapshot(repo, ref.snapshot, ref.commit, store, git, config))


def output(target: Target, stats: StageStats) -> dg.Output:
    """The asset's output: the snapshot ref, the commit as data version, the stage figures as metadata."""
    figures = stats.as_dict()
    metadata: dict[str, object] = {"commit": target.snapshot.commit, "repo": target.snapshot.repo,
                                   "snapshot": target.snapshot.snapshot}
    for name, value in figures.items():
        metadata[name] = dg.MetadataValue.json(value) if isinstance(value, dict) else value
    return dg.Output(target.ref(), data_version=dg.DataVersion(target.snapshot.commit), metadata=metadata)
