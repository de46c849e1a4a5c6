"""What the schedule and the sensor share: a repository's current heads read through GitResource, the
report of one that cannot be read, and the pinned run request of one partition."""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from codegraph_assets.automation.ref_watch import PartitionRun
from codegraph_assets.assets.targets import COMMIT_TAG
from codegraph_assets.errors import CodegraphError
from codegraph_assets.partitions import partition_key
from resources.git import GitResource, display_location, is_full_sha, validate_ref
from resources.metadata_store import RepoRecord

TRIGGER_TAG = "codegraph/trigger"  # which automation requested a run: nightly | push


def fetch_heads(git: GitResource, repo: RepoRecord, tracked: Iterable[str]) -> dict[str, str]:
    """Fetch a remote into its mirror, then every branch and tag → commit, plus the `tracked` refs that name
    a commit some other way (a full sha). A plain directory has none: {}."""
    git.sync(repo.name, repo.kind, repo.location)
    heads = git.list_refs(repo.name, repo.kind, repo.location)
    for ref in tracked:  # branches and tags were all listed: only a tracked full sha is left to resolve
        if ref not in heads and repo.kind != "directory" and is_full_sha(ref):
            commit = git.resolve_ref(repo.name, repo.kind, repo.location, ref)
            if commit is not None:
                heads[ref] = commit
    return heads


def poll_failure(repo: RepoRecord, error: CodegraphError) -> str:
    """One line naming the repository and why it could not be read; locations print without credentials."""
    problem = " ".join(error.problem.split())  # git's stderr spans lines; a tick shows one line per repository
    return (f"could not poll repository {repo.name!r} at {display_location(repo.location)}: "
            f"{error.category.value} {error.code.value}: {problem}")


def is_trackable(ref: str) -> bool:
    """A ref that can become a snapshot partition (validate_ref also refuses `|`, the key separator)."""
    try:
        validate_ref(ref)
    except CodegraphError:
        return False
    return True


def run_request(run: PartitionRun, trigger: str, run_key: str | None = None) -> dg.RunRequest:
    """The index job's run for one partition, pinned to its commit through the run tag the assets verify."""
    tags = {TRIGGER_TAG: trigger}
    if run.commit is not None:
        tags[COMMIT_TAG] = run.commit
    return dg.RunRequest(run_key=run_key or run.run_key, partition_key=partition_key(run.repo, run.ref), tags=tags)

