"""`codegraph index PATH_OR_URL`: register if needed, pin the commit, materialize the four assets.

An up-to-date partition is answered before this module is imported: see `cli/up_to_date.py`.
"""

from __future__ import annotations

import json
import sys
import time
import uuid

import dagster as dg

from codegraph_assets.assets import ALL_ASSETS
from codegraph_assets.assets.targets import COMMIT_TAG, INVOCATION_TAG
from codegraph_assets.cli.context import cli_resources
from codegraph_assets.instance import dagster_instance
from codegraph_assets.cli.progress import StepProgress
from codegraph_assets.cli.up_to_date import pipeline_fingerprint, stamp_after_run
from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.partitions import partition_key
from codegraph_assets.registry import default_repo_name, register_repo, validate_repo_name
from codegraph_assets.stages.snapshot import commit_to_index
from resources.git import parse_location
from resources.metadata_store import RepoRecord

_SUMMARY_FIELDS = ("files_total", "files_indexed", "files_parsed", "files_cached", "symbols", "documents_total",
                   "chunks_created", "chunks_total", "chunks_embedded", "chunks_cached", "points_total",
                   "duration_s")


def run(args) -> int:
    instance = dagster_instance()
    started = time.perf_counter()
    with cli_resources() as (config, resource_defs, resources):
        store, git = resources.metadata.open(), resources.git
        location = parse_location(args.location)
        name = validate_repo_name(args.repo or default_repo_name(location.location))
        git.sync(name, location.kind, location.location)  # clone or fetch once, before choosing the ref
        # A detached HEAD (CI checkouts, `clone --branch v1`) is indexed under its full commit sha.
        snapshot = (args.snapshot or git.default_branch(name, location.kind, location.location)
                    or git.head_commit(name, location.kind, location.location))
        # Resolved before anything is registered: a ref the repository lacks leaves no partition behind.
        unregistered = RepoRecord(name, location.location, location.kind, (snapshot,) if snapshot else ())
        commit = commit_to_index(unregistered, snapshot, git, config, fetch=False) if snapshot else None  # synced
        if commit is None:  # an unborn branch: `git init` without a commit names one that resolves to nothing
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"{args.location} has no commits to index",
                                 input=args.location, fix="commit something, then index it again")
        existing = store.get_repo(name)
        tracked = list(existing.refs) if existing else []
        register_repo(store, instance, name, args.location, [*tracked, snapshot])
    print(f"indexing {name}|{snapshot} at {commit[:12]}", file=sys.stderr)
    fingerprint = pipeline_fingerprint(config)  # before the run: a stamp certifies what the run was given
    invocation = uuid.uuid4().hex
    with StepProgress(instance, invocation):
        result = dg.materialize(
            ALL_ASSETS, partition_key=partition_key(name, snapshot), instance=instance, resources=resource_defs,
            tags={COMMIT_TAG: commit, INVOCATION_TAG: invocation}, raise_on_error=False,
            # Dagster's event stream stays in the run's log (and the UI); the terminal gets progress lines.
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    if result.success:  # the next `codegraph index` of this commit and configuration can skip the run
        _stamp(config, name, location, snapshot, commit, fingerprint)
    summary = _summary(result, name, snapshot, commit, time.perf_counter() - started)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    return 0 if result.success else 1


def _stamp(config, name: str, location, snapshot: str, commit: str, fingerprint: str) -> None:
    """Leave the up-to-date stamp; it only saves the next run time, so failing to write it is a warning."""
    try:
        with cli_resources(config) as (_, _, resources):
            stamp_after_run(resources.metadata.open(), config, name, location, snapshot, commit,
                            resources.tantivy.manifest_dir, fingerprint)
    except (OSError, CodegraphError) as error:
        print(f"warning: the index is complete, but its up-to-date stamp was not written ({error}); the next "
              "`codegraph index` of it runs the pipeline again", file=sys.stderr)


def _summary(result: dg.ExecuteInProcessResult, repo: str, snapshot: str, commit: str, seconds: float) -> dict:
    stages = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        figures = {k: v.value for k, v in materialization.metadata.items() if k in _SUMMARY_FIELDS}
        stages[materialization.asset_key.to_user_string()] = figures
    failures = [event.step_key for event in result.get_step_failure_events()]
    return {"repo": repo, "snapshot": snapshot, "commit": commit, "success": result.success, "up_to_date": False,
            "run_id": result.run_id, "seconds": round(seconds, 2), "stages": stages, "failed_steps": failures}


def _print_summary(summary: dict) -> None:
    status = "done" if summary["success"] else "FAILED"
    print(f"{status}: {summary['repo']}|{summary['snapshot']} @ {summary['commit'][:12]} "
          f"in {summary['seconds']}s (run {summary['run_id']})")
    for stage, figures in summary["stages"].items():
        print(f"  {stage:8} " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    for step in summary["failed_steps"]:
        print(f"  failed: {step} (see the run in the Dagster UI for the error)")
