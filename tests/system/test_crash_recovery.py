"""A run killed with SIGKILL in the middle of a stage, then run again: nothing duplicated or lost."""

from __future__ import annotations

import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time

import dagster as dg
import pytest
from conftest import GitRepo
from indexing import Indexer

from codegraph_assets.config import load_indexing_config
from codegraph_assets.instance import dagster_instance

FIRST = {"app/core.py": "def original_entry_point():\n    return 'first release'\n"}
# Enough distinct functions that embedding them takes many batches.
SECOND = {f"gen/module_{m}.py": "".join(f"def generated_handler_{m}_{f}(payload):\n"
                                         f"    return payload.get('field_{m}_{f}')\n\n" for f in range(30))
          for m in range(8)}


def _embeddings(database) -> int:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]


def test_a_run_killed_mid_vector_resumes_without_duplicates_and_serves_the_old_snapshot(codegraph_home, tmp_path):
    repo = GitRepo(tmp_path / "crash")
    repo.commit(FIRST, "first")
    env = {**os.environ, "CODEGRAPH_BATCH__VECTOR_BATCH_SIZE": "8", "HF_HUB_OFFLINE": "1"}
    cli = [sys.executable, "-m", "codegraph_assets.cli.main", "index", str(repo.path), "--repo", "crash"]
    assert subprocess.run(cli, env=env, capture_output=True, timeout=600).returncode == 0
    database = load_indexing_config().metadata_db_path()
    before = _embeddings(database)

    repo.commit(SECOND, "second")
    run = subprocess.Popen(cli, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    selector = selectors.DefaultSelector()
    selector.register(run.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + 600
    # Kill once some, not all, of the new chunks have embeddings saved: the vector step is mid-way.
    while _embeddings(database) < before + 24:
        assert run.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        if selector.select(timeout=0.2):
            run.stderr.readline()
    run.send_signal(signal.SIGKILL)
    run.wait()
    saved = _embeddings(database) - before
    assert 0 < saved < 8 * 30

    indexer = Indexer()  # a reader in between: vector still serves the first commit, complete
    hits = indexer.search("original entry point", "crash", "main", "vector")
    assert hits[0].path == "app/core.py"
    assert all(h.path == "app/core.py" for h in indexer.search("generated handler payload field", "crash", "main",
                                                                "vector"))

    rerun = subprocess.run(cli + ["--json"], env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    import json

    vector = json.loads(rerun.stdout)["stages"]["vector"]
    assert vector["chunks_cached"] >= saved  # what the killed run embedded is not embedded again
    assert vector["points_total"] == vector["chunks_total"]  # no duplicates, nothing missing
    with dg.build_resources(indexer.resources) as r:
        collection = r.qdrant.collection_name(r.embeddings.model_id())
        assert r.qdrant.count(collection, "crash", "main") == vector["chunks_total"]
    top = indexer.search("generated_handler_3_7", "crash", "main", "lexical")[0]  # the exact identifier
    assert top.path == "gen/module_3.py"


def _started_steps(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START).records
    return {r.event_log_entry.step_key for r in records}


def _finished_steps(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    records = instance.get_records_for_run(run_id, of_type={dg.DagsterEventType.STEP_SUCCESS,
                                                            dg.DagsterEventType.STEP_FAILURE}).records
    return {r.event_log_entry.step_key for r in records}


@pytest.mark.parametrize("stage", ["ir", "lexical", "chunk"])
def test_a_run_killed_when_a_stage_starts_resumes_without_duplicates_and_serves_the_old_snapshot(
        codegraph_home, tmp_path, stage):
    repo = GitRepo(tmp_path / "crash")
    repo.commit(FIRST, "first")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cli = [sys.executable, "-m", "codegraph_assets.cli.main", "index", str(repo.path), "--repo", "crash"]
    assert subprocess.run(cli, env=env, capture_output=True, timeout=600).returncode == 0
    instance = dagster_instance()  # the CLI's instance (DAGSTER_HOME): the test reads the run's event log
    [first_run] = instance.get_runs()

    repo.commit(SECOND, "second")
    run = subprocess.Popen(cli, env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    run_id = None
    # Kill as soon as the stage's STEP_START is in the event log: the stage has begun, and not yet ended.
    while run_id is None or stage not in _started_steps(instance, run_id):
        assert run.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        runs = instance.get_runs(limit=1)
        run_id = runs[0].run_id if runs and runs[0].run_id != first_run.run_id else None
        time.sleep(0.01)  # a poll of the event log with a deadline; there is no event to wait on
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert stage not in _finished_steps(instance, run_id)

    indexer = Indexer()  # a reader in between: every mode still serves the first commit, complete
    for mode in ("lexical", "vector"):
        assert indexer.search("original entry point", "crash", "main", mode)[0].path == "app/core.py"
        assert all(h.path == "app/core.py" for h in indexer.search("generated handler payload field", "crash",
                                                                    "main", mode))

    rerun = subprocess.run(cli + ["--json"], env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    import json

    stages = json.loads(rerun.stdout)["stages"]
    assert stages["vector"]["points_total"] == stages["vector"]["chunks_total"]  # no duplicates, nothing missing
    with dg.build_resources(indexer.resources) as r:
        collection = r.qdrant.collection_name(r.embeddings.model_id())
        assert r.qdrant.count(collection, "crash", "main") == stages["vector"]["chunks_total"]
        serving = r.metadata.open().serving("crash", "main")
        assert serving.commit == repo.git("rev-parse", "HEAD")
        assert r.tantivy.document_count("crash", "main", serving.manifest_id) == len(SECOND) + len(FIRST)
    top = indexer.search("generated_handler_3_7", "crash", "main", "lexical")[0]  # the exact identifier
    assert top.path == "gen/module_3.py"
