"""What a partition's run indexes: the (repo, snapshot) of its key, resolved to one commit.

ir and lexical take the commit from the run tag `codegraph/commit` when the launcher pinned it (the
CLI, the job API); otherwise the first of them to resolve the ref pins the commit for the run in the
metadata store, so the assets of one run never index two commits even if the branch moves meanwhile.
chunk and vector read what their upstream stage *published* for the partition from the metadata
store, so they work the same in one run, in separate runs, and in separate containers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dagster as dg
from opentelemetry.trace import Span

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.source import SourceSnapshot
from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.partitions import split_partition_key
from codegraph_assets.stages.snapshot import load_snapshot, published_snapshot, registered_repo, resolve_commit
from codegraph_assets.stages.stats import StageStats
from codegraph_assets.tracing import record_counts, stage_span
from resources.git import GitResource
from resources.metadata_store import MetadataStore, RepoRecord

COMMIT_TAG = "codegraph/commit"
INVOCATION_TAG = "codegraph/invocation"  # lets a launcher find the run it started
PROGRESS_PREFIX = "progress: "  # a step's log lines that say how far it is (the CLI prints them as they come)
ASSET_GROUP = "codegraph"
_MISSING_UPSTREAM = {"ir": ErrorCode.IR_CACHE_MISS, "chunk": ErrorCode.CHUNK_CACHE_MISS}


@dataclass(frozen=True)
class Target:
    repo: RepoRecord
    snapshot: SourceSnapshot


def resolve_target(context: dg.AssetExecutionContext, store: MetadataStore, git: GitResource,
                   config: IndexingConfig) -> Target | None:
    """The partition's snapshot, or None (logged once) when its ref does not exist in that repo."""
    repo_name, ref = split_partition_key(context.partition_key)
    repo = registered_repo(store, repo_name)
    pinned = context.run.tags.get(COMMIT_TAG)
    if pinned:
        commit = git.verify_commit(repo.name, repo.kind, repo.location, pinned)
    else:
        commit = resolve_commit(repo, ref, git, config)
        if commit is not None:  # ir and lexical of one run agree on one commit, whoever resolves first
            commit = store.pin_run_commit(context.run_id, repo_name, ref, commit)
    if commit is None:
        context.log.info(f"skipped {repo_name}|{ref}: repository {repo_name!r} has no branch or tag {ref!r}")
        return None
    return Target(repo, load_snapshot(repo, ref, commit, store, git, config))


def upstream_target(context: dg.AssetExecutionContext, store: MetadataStore, upstream: str) -> Target:
    """The snapshot the upstream stage last published for this partition."""
    repo_name, ref = split_partition_key(context.partition_key)
    repo = registered_repo(store, repo_name)
    head = store.published(repo_name, ref, upstream)
    if head is None:
        raise CodegraphError(
            _MISSING_UPSTREAM[upstream], f"{repo_name}|{ref} has no published {upstream} output",
            input=f"{repo_name}|{ref}", fix=f"materialize the {upstream} asset for this partition first",
        )
    return Target(repo, published_snapshot(head, store))


@contextmanager
def traced_stage(context: dg.AssetExecutionContext) -> Iterator[Span]:
    """An OpenTelemetry span around the asset's stage (a no-op unless an OTLP endpoint is configured)."""
    repo, ref = split_partition_key(context.partition_key)
    with stage_span(context.asset_key.to_user_string(), {
        "codegraph.repo": repo, "codegraph.snapshot": ref, "dagster.run_id": context.run_id,
        "dagster.retry_number": context.retry_number,
    }) as span:
        yield span


def trace_result(span: Span, target: Target, stats: StageStats) -> None:
    span.set_attribute("codegraph.commit", target.snapshot.commit)
    record_counts(span, stats.as_dict())


def output(target: Target, stats: StageStats) -> dg.MaterializeResult:
    """The materialization: the commit as data version, the stage figures as metadata (no IO manager)."""
    figures = stats.as_dict()
    metadata: dict[str, object] = {"commit": target.snapshot.commit, "repo": target.snapshot.repo,
                                   "snapshot": target.snapshot.snapshot}
    for name, value in figures.items():
        metadata[name] = dg.MetadataValue.json(value) if isinstance(value, dict) else value
    return dg.MaterializeResult(data_version=dg.DataVersion(target.snapshot.commit), metadata=metadata)
