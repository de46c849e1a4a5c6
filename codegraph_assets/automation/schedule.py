"""The nightly reindex: one run per tracked (repo, ref) that exists, pinned to the commit resolved at the tick.

Re-indexing an unchanged commit costs almost nothing (everything is content-addressed), so the schedule
requests every tracked partition: that is also how a parser, chunker or model upgrade reaches them all.
A tracked ref the repository does not have is not requested (no flood of skipped runs); a repository that
cannot be fetched is logged by name and the others are still requested.
"""

from __future__ import annotations

import dagster as dg

from codegraph_assets.automation.ref_watch import plan_nightly
from codegraph_assets.automation.repo_heads import fetch_heads, poll_failure, run_request
from codegraph_assets.config import AutomationConfig
from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.partitions import REPO_DIMENSION, SNAPSHOT_DIMENSION
from resources.git import GitResource
from resources.metadata_store import MetadataStoreResource

NIGHTLY_SCHEDULE_NAME = "nightly_reindex"


def build_nightly_schedule(job: dg.UnresolvedAssetJobDefinition, config: AutomationConfig) -> dg.ScheduleDefinition:
    """The schedule for `job` (the index job) at `config.nightly_cron` in `config.nightly_timezone`."""

    def nightly_reindex(context: dg.ScheduleEvaluationContext, metadata: MetadataStoreResource, git: GitResource):
        store = metadata.open()
        existing_repos = set(context.instance.get_dynamic_partitions(REPO_DIMENSION))
        existing_snapshots = set(context.instance.get_dynamic_partitions(SNAPSHOT_DIMENSION))
        requests, failures = [], []
        for repo in store.list_repos():
            try:
                heads: dict[str, str | None] = dict(fetch_heads(git, repo, repo.refs))
            except CodegraphError as error:
                failures.append(poll_failure(repo, error))
                context.log.warning(failures[-1])
                continue
            if repo.kind == "directory":
                # Not pinned: a run walks the directory again, so a tick-time listing would not pin anything.
                heads = {ref: None for ref in repo.refs}
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
