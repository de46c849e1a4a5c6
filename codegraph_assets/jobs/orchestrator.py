"""ParallelIndexingOrchestrator: the seed's one-call pipeline, run by Dagster.

One Dagster run of the `index_partition` job per call, on the configured instance (so it shows in
the UI) with the commit pinned: ir and lexical run in parallel step processes, then chunk, then
vector. An IR failure stops chunk and vector (Dagster skips steps whose upstream failed). The run
executes in a child process group, so the pipeline timeout stops it for real: the run is killed,
marked failed, and nothing half-written is published.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import dagster as dg

from codegraph_assets.assets.targets import COMMIT_TAG, INVOCATION_TAG
from codegraph_assets.config import DEFAULT_CONFIG, IndexingConfig
from codegraph_assets.errors import CATEGORY_OF, CodegraphError, ErrorCode
from codegraph_assets.instance import dagster_instance
from codegraph_assets.jobs.payloads import IndexingPayload
from codegraph_assets.jobs.results import JobResult, JobState, JobType
from codegraph_assets.jobs.stage_handlers import snapshot_ref
from codegraph_assets.registry import register_repo
from codegraph_assets.resource_defs import build_resource_defs
from codegraph_assets.stages.snapshot import commit_to_index
from resources.git import parse_location

ASSET_OF = {JobType.BUILD_IR: "ir", JobType.LEXICAL_INDEX: "lexical", JobType.BUILD_CHUNK: "chunk",
            JobType.VECTOR_INDEX: "vector"}


@dataclass
class StageTiming:
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass
class PipelineResult:
    """Per-stage results, when each stage ran, and the pipeline's own errors (timeout, bad input)."""

    repo_id: str
    snapshot_id: str
    commit: str | None = None
    run_id: str | None = None
    stages: dict[JobType, JobResult] = field(default_factory=dict)
    timings: dict[JobType, StageTiming] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    error_code: ErrorCode | None = None
    duration_s: float = 0.0

    @property
    def success(self) -> bool:
        return not self.errors and all(r.success for r in self.stages.values())

    def metrics(self) -> dict[str, dict[str, Any]]:
        return {job.value: result.data for job, result in self.stages.items()}


class ParallelIndexingOrchestrator:
    def __init__(self, config: IndexingConfig = DEFAULT_CONFIG, *,
                 resources: dict[str, dg.ConfigurableResource] | None = None) -> None:
        self.config = config
        self.resources = resources if resources is not None else build_resource_defs(config)

    async def index_repository(self, repo_path: str, repo_id: str, snapshot_id: str | None = None,
                               semantic_tier: str = "FULL", skip_vector: bool = False) -> PipelineResult:
        """Index one repository snapshot; errors come back in the result, never as exceptions."""
        started = time.perf_counter()
        result = PipelineResult(repo_id, snapshot_id or self.config.defaults.snapshot_id)
        try:
            request = IndexingPayload.parse({"repo_path": repo_path, "repo_id": repo_id, "snapshot_id": snapshot_id,
                                             "semantic_tier": semantic_tier})
            config = request.effective_config(self.config)
            instance = dagster_instance()
            try:  # one deadline for everything: registration and fetch included
                await asyncio.wait_for(self._pipeline(request, config, instance, result, skip_vector),
                                       config.timeouts.pipeline)
            except TimeoutError:
                raise CodegraphError(
                    ErrorCode.TIMEOUT, f"indexing {result.repo_id}|{result.snapshot_id} ran past "
                    f"timeouts.pipeline={config.timeouts.pipeline:g}s and was stopped",
                    input="timeouts.pipeline", fix="raise timeouts.pipeline, or index fewer files per run",
                ) from None
            finally:
                if result.run_id is not None:
                    self._collect(instance, result)
        except CodegraphError as error:
            result.errors.append(error.message)
            result.error_code = error.code
            for job in ASSET_OF:  # stages that never reported were stopped by this error
                result.stages.setdefault(job, JobResult(job, JobState.FAILED, error="the run was stopped: "
                                                        + error.problem, error_code=error.code,
                                                        error_category=error.category))
        for job in ASSET_OF:  # in a run that failed by itself, unreported steps waited on a failed upstream
            result.stages.setdefault(job, JobResult(job, JobState.SKIPPED,
                                                    warnings=["not run: an upstream stage failed"]))
        if skip_vector:
            result.stages[JobType.VECTOR_INDEX] = JobResult(JobType.VECTOR_INDEX, JobState.SKIPPED,
                                                            warnings=["skip_vector=True"])
        result.duration_s = round(time.perf_counter() - started, 3)
        return result

    async def _pipeline(self, request: IndexingPayload, config: IndexingConfig, instance: dg.DagsterInstance,
                        result: PipelineResult, skip_vector: bool) -> None:
        commit = await asyncio.to_thread(self._register_and_resolve, request, config, instance, result)
        if commit is not None:
            assets = [ASSET_OF[job] for job in ASSET_OF if not (skip_vector and job is JobType.VECTOR_INDEX)]
            await self._run(instance, config, result, assets)

    def _register_and_resolve(self, request: IndexingPayload, config: IndexingConfig, instance: dg.DagsterInstance,
                              result: PipelineResult) -> str | None:
        """Register the repo (store and partitions) and pin the commit; None for an empty repository."""
        with dg.build_resources(self.resources) as resources:
            store, git = resources.metadata.open(), resources.git
            existing = store.get_repo(request.repo_id)
            ref = snapshot_ref(request, parse_location(request.repo_path).kind, config)
            repo = register_repo(store, instance, request.repo_id, request.repo_path,
                                 [*(existing.refs if existing else ()), ref])
            result.snapshot_id = ref
            commit = commit_to_index(repo, ref, git, config)
            if commit is None:
                for job in ASSET_OF:
                    result.stages[job] = JobResult(job, JobState.COMPLETED, {"files_total": 0},
                                                   warnings=[f"repository {repo.name!r} has no commits yet"])
                return None
            result.commit = commit
            return commit

    async def _run(self, instance: dg.DagsterInstance, config: IndexingConfig, result: PipelineResult,
                   assets: list[str]) -> None:
        invocation = uuid.uuid4().hex
        tags = {COMMIT_TAG: result.commit, INVOCATION_TAG: invocation,
                "dagster/priority": str(config.priority.ir_build)}
        run_config = {"ops": {asset: {"config": _run_config_of(config)} for asset in assets}}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "codegraph_assets.jobs.run_partition", "--repo", result.repo_id,
            "--snapshot", result.snapshot_id, "--tags", json.dumps(tags), "--run-config", json.dumps(run_config),
            "--assets", ",".join(assets), start_new_session=True,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await process.communicate()
        except BaseException:  # the pipeline deadline, a caller's cancellation, Ctrl-C: stop the run for real
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the run process and every step process it started
            await process.wait()
            _mark_failed(instance, invocation, result, "stopped before it finished")
            raise
        run = _run_tagged(instance, invocation)
        died = process.returncode < 0 or (process.returncode != 0 and (run is None or not run.is_finished))
        if died:  # killed from outside (OOM killer, SIGKILL) or crashed, before or after creating its run
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # its orphaned step processes must not write on
            _mark_failed(instance, invocation, result, f"the run process exited with {process.returncode}")
            raise CodegraphError(ErrorCode.RUN_ABORTED, f"the run process of {result.repo_id}|{result.snapshot_id} "
                                 f"died (exit {process.returncode}; -9 is SIGKILL, often the out-of-memory killer)",
                                 input=result.run_id or result.repo_id,
                                 fix="see the run in the Dagster UI and re-run; give the run more memory if it was "
                                 "killed. Its last words: "
                                 + stderr.decode("utf-8", "replace").strip()[-300:])
        result.run_id = run.run_id

    def _collect(self, instance: dg.DagsterInstance, result: PipelineResult) -> None:
        """Per-stage results from the run's event log (what the UI shows)."""
        job_of = {asset: job for job, asset in ASSET_OF.items()}
        for entry in instance.all_logs(result.run_id):
            event = entry.dagster_event
            if event is None or event.step_key not in job_of:
                continue
            job = job_of[event.step_key]
            timing = result.timings.setdefault(job, StageTiming())
            at = datetime.fromtimestamp(entry.timestamp, tz=timezone.utc)
            kind = event.event_type_value
            if kind == "STEP_START":
                timing.started_at = at
            elif kind == "ASSET_MATERIALIZATION":
                metadata = event.event_specific_data.materialization.metadata
                result.stages[job] = JobResult(job, JobState.COMPLETED, {k: v.value for k, v in metadata.items()})
            elif kind == "STEP_SUCCESS":
                timing.finished_at = at
                result.stages.setdefault(job, JobResult(job, JobState.SKIPPED,
                                                        warnings=["the snapshot's ref does not exist"]))
            elif kind == "STEP_FAILURE":
                timing.finished_at = at
                result.stages[job] = _failed(job, event.event_specific_data)
            elif kind == "STEP_SKIPPED":
                result.stages[job] = JobResult(job, JobState.SKIPPED, warnings=["an upstream stage failed"])


def _run_config_of(config: IndexingConfig) -> dict:
    """The run config of one asset: the config tree without its load-time fields."""
    from codegraph_assets.run_config import IndexingRunConfig

    allowed = IndexingRunConfig().model_dump()
    dumped = config.model_dump(mode="json")
    # A section of only load-time fields (e.g. embedding) has no run config at all.
    return {section: {k: v for k, v in values.items() if k in allowed[section]}
            for section, values in dumped.items() if section in allowed}


def _mark_failed(instance: dg.DagsterInstance, invocation: str, result: PipelineResult, why: str) -> None:
    """A run whose process was killed cannot report its end: mark it failed so the UI does not show it running."""
    run = _run_tagged(instance, invocation)
    if run is not None:
        result.run_id = run.run_id
        if not run.is_finished:
            instance.report_run_failed(run, why)
        # A dead run keeps the pool slots it claimed (vector's "qdrant" has one) until run monitoring frees
        # them, and the CLI runs without a daemon: give them back now, or later vector steps wait forever.
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)


def _run_tagged(instance: dg.DagsterInstance, invocation: str) -> dg.DagsterRun | None:
    runs = instance.get_runs(filters=dg.RunsFilter(tags={INVOCATION_TAG: invocation}), limit=1)
    return runs[0] if runs else None


def _failed(job: JobType, failure) -> JobResult:
    details = {k: v.value for k, v in failure.user_failure_data.metadata.items()} if failure.user_failure_data else {}
    code = ErrorCode(details["error_code"]) if "error_code" in details else None
    error = failure.error
    while error is not None and error.cause is not None and "DagsterExecutionStepExecutionError" in error.message:
        error = error.cause  # the user code's own exception, not Dagster's wrapper
    return JobResult(job, JobState.FAILED, error=error.message.strip() if error else "step failed",
                     error_code=code, error_category=CATEGORY_OF[code] if code else None)
