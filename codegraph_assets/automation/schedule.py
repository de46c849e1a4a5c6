"""The nightly reindex: one run per tracked (repo, ref) that exists, pinned to the commit resolved at the tick.

Re-indexing an unchanged commit costs almost nothing (everything is content-addressed), so the schedule
requests every tracked partition: that is also how a parser, chunker or model upgrade reaches them all.
The tick reads refs as the push sensor does, with `git ls-remote`, a few repositories at a time within
`automation.nightly_tick_budget_s` (Dagster abandons a tick past its evaluation timeout, every request with
it); each run fetches what it indexes. A repository the budget did not reach still gets its runs, unpinned:
they resolve their refs themselves. A tracked ref the repository does not have is not requested (no flood
of skipped runs; a remote's tracked full sha, which `ls-remote` cannot confirm, is requested and its run
verifies it after fetching); a repository that cannot be read is logged by name and the others are still
requested.
"""

from __future__ import annotations

import dagster as dg

from codegraph_assets.automation.ref_watch import plan_nightly
from codegraph_assets.automation.repo_heads import HeadsPoll, poll_failure, poll_remote_heads, run_request
from codegraph_assets.config import AutomationConfig
from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.partitions import REPO_DIMENSION, SNAPSHOT_DIMENSION
from resources.git import GitResource, is_full_sha
from resources.metadata_store import MetadataStoreResource, RepoRecord

NIGHTLY_SCHEDULE_NAME = "nightly_reindex"
NIGHTLY_BUDGET_SETTING = "automation.nightly_tick_budget_s"


def build_nightly_schedule(job: dg.UnresolvedAssetJobDefinition, config: AutomationConfig) -> dg.ScheduleDefinition:
    """The schedule for `job` (the index job) at `config.nightly_cron` in `config.nightly_timezone`."""

    def nightly_reindex(context: dg.ScheduleEvaluationContext, metadata: MetadataStoreResource, git: GitResource):
        store = metadata.open()
        existing_repos = set(context.instance.get_dynamic_partitions(REPO_DIMENSION))
        existing_snapshots = set(context.instance.get_dynamic_partitions(SNAPSHOT_DIMENSION))
        requests, failures = [], []
        repos = store.list_repos()
        polls = {poll.repo.name: poll for poll in poll_remote_heads(
            git, [repo for repo in repos if repo.kind != "directory"], concurrency=config.push_sensor_concurrency,
            budget_s=config.nightly_tick_budget_s, budget_setting=NIGHTLY_BUDGET_SETTING)}
        for repo in repos:
            try:
                heads = _tracked_heads(git, repo, polls.get(repo.name))
            except CodegraphError as error:
                failures.append(poll_failure(repo, error))
                context.log.warning(failures[-1])
                continue
            if repo.kind != "directory" and polls[repo.name].deferred:
                context.log.warning(f"{repo.name!r}: the tick's {config.nightly_tick_budget_s:g} s budget ran out "
                                    "before its refs were read; its runs resolve them themselves (raise "
                                    f"{NIGHTLY_BUDGET_SETTING} or push_sensor_concurrency)")
            for run in plan_nightly(repo.name, repo.refs, heads):
                if run.repo not in existing_repos or run.ref not in existing_snapshots:
                    context.log.warning(f"not requested {run.repo}|{run.ref}: tracked but not a partition yet "
                                        f"(the push sensor or `codegraph repo add {run.repo} … --ref {run.ref}` "
                                        "adds it)")
                    continue
                requests.append(run_request(run, "nightly"))
            for ref in sorted(set(repo.refs) - set(heads)):
                context.log.info(f"not requested {repo.name}|{ref}: repository {repo.name!r} has no branch or "
                                 f"tag {ref!r}")
        if not requests:
            return dg.SkipReason("no tracked partition exists" + (f"; {'; '.join(failures)}" if failures else ""))
        return requests

    try:
        return dg.schedule(
            name=NIGHTLY_SCHEDULE_NAME, job=job, cron_schedule=config.nightly_cron,
            execution_timezone=config.nightly_timezone,
            default_status=(dg.DefaultScheduleStatus.RUNNING if config.nightly_enabled
                            else dg.DefaultScheduleStatus.STOPPED),
            description="Re-indexes every tracked repo|snapshot whose ref exists, at the commit it names at the tick.",
        )(nightly_reindex)
    except dg.DagsterInvalidDefinitionError as exc:
        raise CodegraphError(
            ErrorCode.INVALID_PAYLOAD, f"automation.nightly_cron {config.nightly_cron!r} is not a cron schedule",
            input=config.nightly_cron, fix="set CODEGRAPH_AUTOMATION__NIGHTLY_CRON to five fields, e.g. '0 2 * * *'",
        ) from exc


def _tracked_heads(git: GitResource, repo: RepoRecord, poll: HeadsPoll | None) -> dict[str, str | None]:
    """Each tracked ref the repository has → the commit to pin (None: the run resolves it)."""
    if repo.kind == "directory":
        git.sync(repo.name, repo.kind, repo.location)  # only checks that it still exists
        # Not pinned: a run walks the directory again, so a tick-time listing would not pin anything.
        return {ref: None for ref in repo.refs}
    assert poll is not None
    if poll.error is not None:
        raise poll.error
    if poll.heads is None:  # not reached in time
        return {ref: None for ref in repo.refs}
    heads: dict[str, str | None] = dict(poll.heads)
    for ref in repo.refs:  # a tracked full sha is no branch or tag
        if ref not in heads and is_full_sha(ref):
            if repo.kind == "git_remote":  # not fetched at the tick: pinned as itself, the run fetches and verifies it
                heads[ref] = ref
            elif (commit := git.resolve_ref(repo.name, repo.kind, repo.location, ref)) is not None:
                heads[ref] = commit
    return heads
