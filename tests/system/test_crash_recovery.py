"""A run killed with SIGKILL in the middle of `vector`, then run again: nothing duplicated or lost."""

from __future__ import annotations

import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time

import dagster as dg
from conftest import GitRepo
from indexing import Indexer

from codegraph_assets.config import load_indexing_config

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
    top = indexer.search("generated handler 3 7 payload field 3 7", "crash", "main", "lexical")[0]
    assert top.path == "gen/module_3.py"
