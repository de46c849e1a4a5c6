"""`codegraph index` of an up-to-date partition: answered from the last run's stamp, without Dagster.

Each test runs the real command in its own process (that is where the import cost lives) against one
real git repository, real SQLite, Tantivy, Qdrant local mode and the packaged model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FILES = {"billing/invoice.py": "def compute_invoice_total(lines):\n    \"\"\"Sum the invoice lines.\"\"\"\n"
                               "    return sum(line.amount for line in lines)\n"}

# Runs the CLI like the `codegraph` script, then reports whether Dagster was imported along the way.
_RUN_AND_REPORT_IMPORTS = (
    "import json, sys\n"
    "from codegraph_assets.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    "print(json.dumps({'dagster_imported': 'dagster' in sys.modules}), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def index(env: dict, *args: str) -> tuple[dict, bool]:
    """(the JSON summary, whether the process imported Dagster)."""
    result = subprocess.run([sys.executable, "-c", _RUN_AND_REPORT_IMPORTS, "index", *args, "--json"], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stderr.strip().splitlines()[-1])
    return json.loads(result.stdout), report["dagster_imported"]


@pytest.fixture
def indexed(tmp_path):
    from conftest import GitRepo

    repo = GitRepo(tmp_path / "shop")
    repo.commit(FILES, "initial")
    env = {**os.environ, "CODEGRAPH_HOME": str(tmp_path / "home"), "DAGSTER_HOME": str(tmp_path / "dagster"),
           "HF_HUB_OFFLINE": "1"}
    summary, _ = index(env, str(repo.path))
    assert summary["success"] and summary["up_to_date"] is False
    return env, repo, summary


def test_an_unchanged_commit_is_answered_up_to_date_without_importing_dagster(indexed):
    env, repo, first = indexed
    summary, dagster_imported = index(env, str(repo.path))
    assert summary["up_to_date"] is True and summary["success"] is True
    assert summary["commit"] == first["commit"] == repo.git("rev-parse", "HEAD")
    assert summary["run_id"] is None and summary["stages"] == {}
    assert dagster_imported is False


def test_a_new_commit_runs_the_pipeline_and_is_then_up_to_date(indexed):
    env, repo, first = indexed
    second_commit = repo.commit({"billing/refund.py": "def issue_refund(order):\n    return order.total\n"})
    summary, dagster_imported = index(env, str(repo.path))
    assert summary["up_to_date"] is False and dagster_imported is True
    assert summary["commit"] == second_commit != first["commit"]
    assert summary["stages"]["vector"]["chunks_embedded"] == 1  # only the new file's chunk
    again, _ = index(env, str(repo.path))
    assert again["up_to_date"] is True and again["commit"] == second_commit


def test_a_changed_configuration_runs_the_pipeline(indexed):
    env, repo, _ = indexed
    summary, _ = index({**env, "CODEGRAPH_LEXICAL__UNIT_WINDOW_LINES": "20"}, str(repo.path))
    assert summary["up_to_date"] is False and set(summary["stages"]) == {"ir", "lexical", "chunk", "vector"}


def test_force_runs_the_pipeline(indexed):
    env, repo, _ = indexed
    summary, dagster_imported = index(env, str(repo.path), "--force")
    assert summary["up_to_date"] is False and dagster_imported is True
    assert summary["stages"]["vector"]["chunks_embedded"] == 0  # the caches still make it a no-op


def test_a_deleted_lexical_index_is_rebuilt_instead_of_trusting_the_stamp(indexed):
    env, repo, _ = indexed
    stamp = json.loads(next((Path(env["CODEGRAPH_HOME"]) / "cli" / "index-stamps").glob("*.json")).read_text())
    shutil.rmtree(stamp["lexical_index"])
    summary, _ = index(env, str(repo.path))
    assert summary["up_to_date"] is False
    assert (Path(stamp["lexical_index"]) / "meta.json").is_file()


def test_a_head_moved_by_another_run_runs_the_pipeline(indexed, monkeypatch):
    """Another run (the UI, a schedule) published a stage of this partition since the stamp was written."""
    env, repo, first = indexed
    monkeypatch.setenv("CODEGRAPH_HOME", env["CODEGRAPH_HOME"])
    from codegraph_assets.cli.up_to_date import open_metadata_store
    from codegraph_assets.config import load_indexing_config

    store = open_metadata_store(load_indexing_config())
    try:
        ir_head = store.published("shop", "main", "ir")
        store.publish("shop", "main", "ir", "f" * 40, "0" * 32)  # a partial run of another commit
    finally:
        store.close()
    summary, _ = index(env, str(repo.path))
    assert summary["up_to_date"] is False and summary["success"] is True
    assert summary["commit"] == first["commit"] == ir_head.commit


def test_the_stamp_holds_no_secret(indexed):
    env, repo, _ = indexed
    secret = "sk-test-never-written-4242"
    with_key = {**env, "CODEGRAPH_EMBEDDING_API_KEY": secret}
    forced, _ = index(with_key, str(repo.path), "--force")  # writes a new stamp with the key in the environment
    summary, _ = index(with_key, str(repo.path))
    assert forced["up_to_date"] is False and summary["up_to_date"] is True  # a key changes nothing written
    stamps = list((Path(env["CODEGRAPH_HOME"]) / "cli" / "index-stamps").glob("*"))
    assert stamps and all(secret not in path.read_text() for path in stamps)
    # The location is kept as a digest: a remote's URL may carry a token.
    assert all(str(repo.path) not in path.read_text() for path in stamps)


def test_a_deleted_local_vector_store_runs_the_pipeline(indexed):
    env, repo, first = indexed
    shutil.rmtree(Path(env["CODEGRAPH_HOME"]) / "qdrant")
    summary, _ = index(env, str(repo.path))
    assert summary["up_to_date"] is False
    assert summary["stages"]["vector"]["points_total"] == first["stages"]["vector"]["points_total"]
