"""ParallelIndexingOrchestrator: one Dagster run per call, real step processes, real stores."""

from __future__ import annotations

import asyncio
from pathlib import Path

import dagster as dg
import pytest

from codegraph_assets.jobs.handlers import (
    DEFAULT_CONFIG,
    ErrorCode,
    JobState,
    JobType,
    ParallelIndexingOrchestrator,
)

FILES = {"pay/ledger.py": "def post_ledger_entry(amount):\n    \"\"\"Record a payment.\"\"\"\n    return amount\n",
         "web/ui.ts": "export function renderInvoice(id: string): string {\n  return id;\n}\n"}


def index(orchestrator, **kwargs):
    return asyncio.run(orchestrator.index_repository(**kwargs))


@pytest.fixture
def repo(codegraph_home, make_repo):
    return make_repo(FILES)


def test_stages_run_ir_and_lexical_first_then_chunk_then_vector(repo):
    result = index(ParallelIndexingOrchestrator(), repo_path=str(repo.path), repo_id="ledger",
                   snapshot_id="main", semantic_tier="FULL")
    assert result.success, result.errors
    assert result.commit == repo.git("rev-parse", "HEAD")
    assert {job: r.state for job, r in result.stages.items()} == dict.fromkeys(JobType, JobState.COMPLETED)
    t = result.timings
    assert max(t[JobType.BUILD_IR].finished_at, t[JobType.LEXICAL_INDEX].finished_at) <= \
        t[JobType.BUILD_CHUNK].started_at
    assert t[JobType.BUILD_CHUNK].finished_at <= t[JobType.VECTOR_INDEX].started_at
    assert result.metrics()["VECTOR_INDEX"]["points_total"] >= 2
    run = dg.DagsterInstance.get().get_run_by_id(result.run_id)  # visible to the UI's instance
    assert run.is_success and run.tags["codegraph/commit"] == result.commit
    assert run.tags["dagster/partition"] == "ledger|main"


def test_skip_vector_leaves_the_vector_stage_out(repo):
    result = index(ParallelIndexingOrchestrator(), repo_path=str(repo.path), repo_id="ledger", skip_vector=True)
    assert result.success, result.errors
    assert result.stages[JobType.VECTOR_INDEX].state is JobState.SKIPPED
    assert result.stages[JobType.BUILD_CHUNK].state is JobState.COMPLETED
    run = dg.DagsterInstance.get().get_run_by_id(result.run_id)
    assert "vector" not in {key.to_user_string() for key in run.asset_selection}


def test_an_ir_failure_stops_chunk_and_vector(repo):
    blob = repo.git("rev-parse", "HEAD:pay/ledger.py")
    Path(repo.path, ".git", "objects", blob[:2], blob[2:]).unlink()  # a corrupt repository: the blob is gone
    result = index(ParallelIndexingOrchestrator(), repo_path=str(repo.path), repo_id="ledger")
    assert not result.success
    ir = result.stages[JobType.BUILD_IR]
    assert ir.state is JobState.FAILED and ir.error_code is ErrorCode.FILE_ACCESS_ERROR
    assert result.stages[JobType.BUILD_CHUNK].state is JobState.SKIPPED
    assert result.stages[JobType.VECTOR_INDEX].state is JobState.SKIPPED


def test_the_pipeline_timeout_stops_the_run_and_is_reported(repo):
    config = DEFAULT_CONFIG.model_copy(update={"timeouts": DEFAULT_CONFIG.timeouts.model_copy(
        update={"pipeline": 1.0})})
    result = index(ParallelIndexingOrchestrator(config), repo_path=str(repo.path), repo_id="ledger")
    assert not result.success
    assert result.error_code is ErrorCode.TIMEOUT
    assert "timeouts.pipeline=1s" in result.errors[0]
    if result.run_id is not None:  # killed after Dagster created the run: it is marked failed, not left running
        assert dg.DagsterInstance.get().get_run_by_id(result.run_id).is_finished


def test_bad_input_is_an_error_in_the_result(codegraph_home, tmp_path):
    result = index(ParallelIndexingOrchestrator(), repo_path=str(tmp_path / "missing"), repo_id="x")
    assert not result.success and result.error_code is ErrorCode.PATH_NOT_FOUND


def test_a_run_process_killed_from_outside_is_reported_and_marked_failed(repo):
    import os
    import signal
    import threading

    orchestrator = ParallelIndexingOrchestrator()
    killed = threading.Event()

    def kill_the_run_once_it_started():
        instance = dg.DagsterInstance.get()
        while not killed.is_set():
            runs = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]), limit=1)
            if runs:
                found = subprocess.run(["pgrep", "-f", "codegraph_assets.jobs.run_partition"], capture_output=True,
                                       text=True).stdout.split()
                for pid in found:
                    os.kill(int(pid), signal.SIGKILL)  # as the out-of-memory killer would
                if found:
                    killed.set()
            killed.wait(0.2)  # pacing a watcher thread; the test itself waits on the orchestrator's result

    import subprocess

    # Create Dagster's storage before two threads touch it: its SQLite migrations are not concurrency-safe.
    from codegraph_assets.instance import dagster_instance

    dagster_instance().get_runs(limit=1)
    watcher = threading.Thread(target=kill_the_run_once_it_started, daemon=True)
    watcher.start()
    result = index(orchestrator, repo_path=str(repo.path), repo_id="ledger")
    killed.set()
    watcher.join()
    assert not result.success
    assert result.error_code is ErrorCode.RUN_ABORTED
    for run in dg.DagsterInstance.get().get_runs():  # killed before or after creating its run: never left running
        assert run.is_failure
