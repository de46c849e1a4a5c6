"""Readers switch between complete snapshots only, and concurrent partitions of one repo do not interfere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
from conftest import GitRepo
from indexing import Indexer

from codegraph_assets.assets import ALL_ASSETS
from codegraph_assets.partitions import partition_key
from resources.embeddings import EmbeddingResource
from resources.metadata_store import MetadataStoreResource
from resources.qdrant_store import QdrantResource
from resources.tantivy_index import TantivyResource

BEFORE = {
    "billing/ledger.py": "def post_ledger_entry(account, amount):\n    \"\"\"Append a ledger entry.\"\"\"\n"
                         "    return account.entries.append(amount)\n",
    "billing/refund.py": "def issue_customer_refund(order):\n    return order.total\n",
}
AFTER = {
    "billing/ledger.py": "def reconcile_quarterly_statement(account):\n    \"\"\"Match bank lines.\"\"\"\n"
                         "    return account.balance\n",
    "billing/audit.py": "def record_audit_trail(event):\n    return event.id\n",
}


def test_searches_keep_the_previous_complete_snapshot_until_every_stage_published_the_new_one(codegraph_home,
                                                                                            make_repo):
    repo = make_repo(BEFORE)
    indexer = Indexer()
    indexer.register("books", str(repo.path), ["main"])
    indexer.materialize("books", "main")
    repo.git("rm", "-q", "billing/refund.py")
    new_commit = repo.commit(AFTER, "rewrite the ledger")

    # ir, lexical and chunk of the new commit finish; vector has not run yet (or failed).
    partial = dg.materialize(ALL_ASSETS, selection=["ir", "lexical", "chunk"], instance=indexer.instance,
                             partition_key=partition_key("books", "main"), resources=indexer.resources)
    assert partial.success
    for mode in ("lexical", "vector", "hybrid"):
        paths = {hit.path for hit in indexer.search("issue customer refund", "books", "main", mode, limit=10)}
        assert "billing/refund.py" in paths and "billing/audit.py" not in paths, mode
        for hit in indexer.search("ledger entry", "books", "main", mode, limit=10):
            assert hit.snippet in BEFORE[hit.path], (mode, hit.path)  # never the new commit's text
    assert indexer.search("reconcile quarterly statement", "books", "main", "lexical") == []

    indexer.materialize("books", "main")  # the new commit completes: every mode switches at once
    for mode in ("lexical", "vector", "hybrid"):
        hits = indexer.search("reconcile quarterly statement", "books", "main", mode, limit=10)
        assert hits[0].path == "billing/ledger.py", mode
        assert all(hit.path != "billing/refund.py" for hit in hits), mode
    with dg.build_resources(indexer.resources) as r:
        assert r.metadata.open().serving("books", "main").commit == new_commit


def _index_state(home: Path) -> dict:
    """What searches of each partition read, from the stores under one CODEGRAPH_HOME."""
    resources = {"metadata": MetadataStoreResource(sqlite_path=str(home / "metadata.db")),
                 "tantivy": TantivyResource(index_dir=str(home / "lexical")),
                 "qdrant": QdrantResource(path=str(home / "qdrant")), "embeddings": EmbeddingResource()}
    state = {}
    with dg.build_resources(resources) as r:
        store = r.metadata.open()
        collection = r.qdrant.collection_name(r.embeddings.model_id())
        for snapshot in ("main", "feature"):
            serving = store.serving("shop", snapshot)
            points = r.qdrant.point_files(collection, "shop", snapshot)
            state[snapshot] = {
                "commit": serving.commit,
                "manifest": sorted((e.path, e.blob_sha) for e in store.load_manifest(serving.manifest_id)),
                "lexical": r.tantivy.documents("shop", snapshot, serving.manifest_id),
                "points": sorted(points.items()),
            }
    return state


def _codegraph(home: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "CODEGRAPH_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "codegraph_assets.cli.main", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> dict:
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    return json.loads(stdout)


def test_two_partitions_of_one_repo_indexed_concurrently_equal_indexing_them_one_by_one(tmp_path):
    repo = GitRepo(tmp_path / "shop")
    repo.commit(BEFORE, "initial")
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(AFTER, "feature work")
    repo.git("checkout", "-q", "main")
    one_by_one, together = tmp_path / "one-by-one", tmp_path / "together"
    for home in (one_by_one, together):
        _finish_plain(_codegraph(home, "repo", "add", "shop", str(repo.path), "--ref", "main", "--ref", "feature"))

    for snapshot in ("main", "feature"):
        _finish(_codegraph(one_by_one, "index", str(repo.path), "--snapshot", snapshot, "--json"))
    runs = [_codegraph(together, "index", str(repo.path), "--snapshot", snapshot, "--json")
            for snapshot in ("main", "feature")]
    summaries = [_finish(run) for run in runs]

    assert all(summary["success"] for summary in summaries)
    expected, actual = _index_state(one_by_one), _index_state(together)
    assert actual == expected
    assert {path for path, _ in actual["feature"]["lexical"]} == {"billing/ledger.py", "billing/refund.py",
                                                                  "billing/audit.py"}
    assert len(actual["main"]["points"]) == summaries[0]["stages"]["vector"]["points_total"]


def _finish_plain(process: subprocess.Popen) -> None:
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
