"""`dagster asset materialize` on the code location, as the README's backfill section tells users to run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
from conftest import GitRepo

ROOT = Path(__file__).resolve().parents[2]


def _run(command: list[str], env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def test_dagster_asset_materialize_indexes_a_partition_and_skips_a_missing_ref(tmp_path):
    repo = GitRepo(tmp_path / "shop")
    commit = repo.commit({"billing/invoice.py": "def compute_invoice_total(lines):\n    return sum(lines)\n"})
    env = {**os.environ, "CODEGRAPH_HOME": str(tmp_path / "home"), "DAGSTER_HOME": str(tmp_path / "dagster"),
           "HF_HUB_OFFLINE": "1"}
    _run([sys.executable, "-m", "codegraph_assets.cli.main", "repo", "add", "shop", str(repo.path),
          "--ref", "main", "--ref", "ghost"], env)
    dagster = str(Path(sys.executable).parent / "dagster")
    for key in ("shop|main", "shop|ghost"):
        _run([dagster, "asset", "materialize", "-m", "codegraph_assets.definitions", "--select", "*",
              "--partition", key], env)

    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    for asset in ("ir", "lexical", "chunk", "vector"):
        events = instance.fetch_materializations(dg.AssetKey(asset), limit=10).records
        assert [(e.partition_key, e.asset_materialization.tags["dagster/data_version"]) for e in events] == [
            ("shop|main", commit)], asset
    runs = instance.get_runs()
    assert len(runs) == 2 and all(run.is_success for run in runs)
    hits = _run([sys.executable, "-m", "codegraph_assets.cli.main", "search", "invoice total", "--repo", "shop",
                 "--snapshot", "main", "--mode", "lexical"], env)
    assert "billing/invoice.py" in hits.stdout
