"""What the schedule and the sensor share: repositories' current heads read with `git ls-remote` within a time
budget, the report of one that cannot be read, and the pinned run request of one partition."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dagster as dg

from codegraph_assets.automation.ref_watch import PartitionRun
from codegraph_assets.assets.targets import COMMIT_TAG
from codegraph_assets.errors import CodegraphError
from codegraph_assets.partitions import partition_key
from resources.git import GitResource, display_location, validate_ref
from resources.metadata_store import RepoRecord

TRIGGER_TAG = "codegraph/trigger"  # which automation requested a run: nightly | push


@dataclass(frozen=True, slots=True)
class HeadsPoll:
    """One repository's poll on a tick: its heads, the error that stopped it, or neither (deferred: the
    tick's time budget ran out before its turn)."""

    repo: RepoRecord
    heads: dict[str, str] | None = None
    error: CodegraphError | None = None

    @property
    def deferred(self) -> bool:
        return self.heads is None and self.error is None


TICK_BUDGET_SETTING = "automation.push_sensor_tick_budget_s"


def poll_remote_heads(git: GitResource, repos: Sequence[RepoRecord], *, concurrency: int, budget_s: float,
                      budget_setting: str = TICK_BUDGET_SETTING,
                      clock: Callable[[], float] = time.monotonic) -> list[HeadsPoll]:
    """`git ls-remote` every repository, `concurrency` at a time, in the given order, within `budget_s`.

    A poll started late gets only the time left, and none starts once it is spent, so a tick ends within
    its budget whatever the remotes do (Dagster abandons an evaluation past its gRPC timeout, cursor and all)."""
    deadline = clock() + budget_s

    def poll(repo: RepoRecord) -> HeadsPoll:
        remaining = min(deadline - clock(), git.timeout_s)
        if remaining <= 0:
            return HeadsPoll(repo)
        try:
            return HeadsPoll(repo, heads=git.remote_heads(repo.name, repo.kind, repo.location, timeout_s=remaining,
                                                          timeout_setting=budget_setting))
        except CodegraphError as error:
            return HeadsPoll(repo, error=error)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="push-sensor-poll") as pool:
        return list(pool.map(poll, repos))


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

