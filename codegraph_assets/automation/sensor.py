"""The push sensor: polls every tracked repository's refs and requests a run when a push moves one.

A tick reads refs with `git ls-remote` (no objects move; the run fetches what it indexes), a few
repositories at a time, within a time budget below Dagster's evaluation timeout; repositories the budget
did not reach are polled first on the next tick. State lives in the cursor (the refs seen per repository
and when each was last polled); run keys (`repo:ref:commit`) deduplicate across ticks,
and a commit the partition already serves (all four stages published it) is never requested again. Refs that
match a repository's patterns (`codegraph repo add … --track 'release/*'`) become tracked refs and
partitions when they first appear. A repository that cannot be polled is logged on the tick, by name,
and the others are still served.
"""

from __future__ import annotations

import time

import dagster as dg

from codegraph_assets.automation.ref_watch import (
    PartitionRun, SensorCursor, dump_cursor, parse_cursor, plan_pushes, poll_order,
)
from codegraph_assets.automation.repo_heads import (
    TICK_BUDGET_SETTING, is_trackable, poll_failure, poll_remote_heads, run_request,
)
from codegraph_assets.config import AutomationConfig
from codegraph_assets.partitions import REPO_DIMENSION, REPO_PARTITIONS, SNAPSHOT_DIMENSION, SNAPSHOT_PARTITIONS
from resources.git import GitResource
from resources.metadata_store import MetadataStore, MetadataStoreResource

PUSH_SENSOR_NAME = "push_sensor"
RUN_KEY_TAG, SENSOR_NAME_TAG = "dagster/run_key", "dagster/sensor_name"  # the tags Dagster's daemon dedupes on


def build_push_sensor(job: dg.UnresolvedAssetJobDefinition, config: AutomationConfig) -> dg.SensorDefinition:
    """The sensor for `job` (the index job), polling every `config.push_sensor_interval_s` seconds."""

    @dg.sensor(
        name=PUSH_SENSOR_NAME, job=job, minimum_interval_seconds=config.push_sensor_interval_s,
        default_status=(dg.DefaultSensorStatus.RUNNING if config.push_sensor_enabled
                        else dg.DefaultSensorStatus.STOPPED),
        description="Reads every tracked repository's refs (git ls-remote) and indexes each tracked ref a push "
                    "moved (one run per repo, ref and commit); starts tracking new refs that match a repository's "
                    "patterns.",
    )
    def push_sensor(context: dg.SensorEvaluationContext, metadata: MetadataStoreResource,
                    git: GitResource) -> dg.SensorResult:
        store = metadata.open()
        cursor = parse_cursor(context.cursor)
        patterns = store.ref_patterns()
        # A plain directory has no refs to push to; the nightly schedule re-reads it.
        repos = {repo.name: repo for repo in store.list_repos() if repo.kind != "directory"}
        polls = poll_remote_heads(git, [repos[name] for name in poll_order(repos, cursor.polled)],
                                  concurrency=config.push_sensor_concurrency,
                                  budget_s=config.push_sensor_tick_budget_s)
        runs: list[PartitionRun] = []
        next_cursor = SensorCursor()
        failures: list[str] = []
        deferred: list[str] = []
        now = time.time()
        for poll in polls:
            repo = poll.repo
            if poll.heads is None:  # unchanged: its refs are checked next tick
                if repo.name in cursor.refs:
                    next_cursor.refs[repo.name] = cursor.refs[repo.name]
                if repo.name in cursor.polled:
                    next_cursor.polled[repo.name] = cursor.polled[repo.name]
                if poll.deferred:
                    deferred.append(repo.name)
                else:
                    failures.append(poll_failure(repo, poll.error))
                    context.log.warning(failures[-1])
                    next_cursor.polled[repo.name] = now  # tried: the repositories it held up go first next tick
                continue
            next_cursor.polled[repo.name] = now
            plan = plan_pushes(repo.name, repo.refs, patterns.get(repo.name, ()), poll.heads,
                               cursor.refs.get(repo.name, {}),
                               is_indexed=lambda ref, commit, name=repo.name: _is_indexed(store, name, ref, commit),
                               is_trackable=is_trackable)
            if plan.new_refs:
                store.track_refs(repo.name, plan.new_refs)
                context.log.info(f"repository {repo.name!r} now tracks {', '.join(plan.new_refs)} (matched "
                                 f"{', '.join(patterns[repo.name])})")
            runs.extend(plan.runs)
            next_cursor.refs[repo.name] = plan.seen
        if deferred:
            failures.append(f"the tick's {config.push_sensor_tick_budget_s:g} s budget ran out before polling "
                            f"{', '.join(repr(name) for name in deferred)}: polled first next tick "
                            f"(raise {TICK_BUDGET_SETTING} or push_sensor_concurrency)")
            context.log.warning(failures[-1])
        requests = []
        for run in runs:
            run_key = _unspent_run_key(context.instance, run)
            if run_key is None:
                context.log.info(f"{run.repo}|{run.ref} at {run.commit}: its run is still queued or in progress")
                continue
            context.log.info(f"{run.repo}|{run.ref} moved to {run.commit}: requesting a run")
            requests.append(run_request(run, "push", run_key=run_key))
        skip = None
        if not requests:
            skip = "no tracked ref moved" + (f"; {'; '.join(failures)}" if failures else "")
        return dg.SensorResult(
            run_requests=requests, skip_reason=skip,
            cursor=dump_cursor(next_cursor),
            dynamic_partitions_requests=_missing_partitions(context.instance, runs),
        )

    return push_sensor


def _unspent_run_key(instance: dg.DagsterInstance, run: PartitionRun) -> str | None:
    """`repo:ref:commit`, unless a run of this sensor already used it: Dagster drops a request whose key was
    used before, so a ref moved back to a commit indexed earlier (or a repository registered again) gets
    `…:2`, `…:3`. None while the run holding the key is still queued or in progress: it stands."""
    key, generation = run.run_key, 1
    while True:
        earlier = instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: key, SENSOR_NAME_TAG: PUSH_SENSOR_NAME}),
                                    limit=1)
        if not earlier:
            return key
        if not earlier[0].is_finished:
            return None
        generation += 1
        key = f"{run.run_key}:{generation}"


def _is_indexed(store: MetadataStore, repo: str, ref: str, commit: str) -> bool:
    serving = store.serving(repo, ref)
    return serving is not None and serving.commit == commit


def _missing_partitions(instance: dg.DagsterInstance, runs: list[PartitionRun]) -> list[dg.AddDynamicPartitionsRequest]:
    """Add requests for the partition keys the runs need and the instance lacks (new refs, mostly)."""
    requests = []
    for dimension, definition, keys in ((REPO_DIMENSION, REPO_PARTITIONS, {run.repo for run in runs}),
                                        (SNAPSHOT_DIMENSION, SNAPSHOT_PARTITIONS, {run.ref for run in runs})):
        missing = sorted(keys - set(instance.get_dynamic_partitions(dimension)))
        if missing:
            requests.append(definition.build_add_request(missing))
    return requests
