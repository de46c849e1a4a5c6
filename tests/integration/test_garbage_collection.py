"""Garbage collection removes exactly what no published snapshot or tracked partition needs."""

from __future__ import annotations

import dagster as dg
from indexing import Indexer

from codegraph_assets.registry import unregister_repo
from codegraph_assets.stages.garbage import collect_garbage

FILES = {"billing/tax.py": "def compute_sales_tax(amount):\n    return amount * 0.2\n",
         "billing/old.py": "def legacy_discount_rule(order):\n    return order\n"}


def gc(indexer: Indexer, grace_hours: float) -> dict:
    config = indexer.config.model_copy(update={"garbage": indexer.config.garbage.model_copy(
        update={"grace_hours": grace_hours})})
    with dg.build_resources(indexer.resources) as r:
        return collect_garbage(r.metadata.open(), r.tantivy, r.qdrant, r.embeddings, config).counts


def _two_commits(make_repo):
    repo = make_repo(FILES)
    indexer = Indexer()
    indexer.register("shop", str(repo.path), ["main"])
    indexer.materialize("shop", "main")
    repo.git("rm", "-q", "billing/old.py")
    repo.commit({"billing/tax.py": "def compute_sales_tax(amount):\n    return amount * 0.25\n"})
    indexer.materialize("shop", "main")
    return indexer


def test_content_only_the_old_commit_reached_is_collected(codegraph_home, make_repo):
    indexer = _two_commits(make_repo)
    removed = gc(indexer, grace_hours=0)
    assert removed["manifests_deleted"] == 1  # the first commit's manifest: no longer published
    assert removed["ir_documents_deleted"] == 2  # the old tax.py and old.py blobs
    assert removed["embeddings_deleted"] >= 2
    again = indexer.materialize("shop", "main")  # nothing the published snapshot needs was taken
    assert again.metadata("ir")["files_parsed"] == 0 and again.metadata("vector")["chunks_embedded"] == 0
    assert indexer.search("sales tax", "shop", "main", "hybrid")[0].path == "billing/tax.py"
    assert indexer.search("legacy discount", "shop", "main", "lexical") == []


def test_recently_used_content_is_spared_by_the_grace_period(codegraph_home, make_repo):
    indexer = _two_commits(make_repo)
    removed = gc(indexer, grace_hours=24)
    assert removed["manifests_deleted"] == 0 and removed["ir_documents_deleted"] == 0
    assert removed["embeddings_deleted"] == 0


def test_an_unregistered_repositorys_vectors_and_lexical_index_are_removed(codegraph_home, make_repo):
    indexer = _two_commits(make_repo)
    other = make_repo({"x.py": "def keep_me():\n    return 1\n"})
    indexer.register("keep", str(other.path), ["main"])
    indexer.materialize("keep", "main")
    with dg.build_resources({"metadata": indexer.resources["metadata"]}) as r:
        unregister_repo(r.metadata.open(), indexer.instance, "shop")
    removed = gc(indexer, grace_hours=0)
    assert removed["vector_partitions_deleted"] == 1
    # its head, and the snapshot it served while its last run was in progress (kept until the next run)
    assert removed["lexical_indexes_deleted"] == 2
    assert not indexer.resources["tantivy"].partition_dir("shop", "main").exists()
    with dg.build_resources(indexer.resources) as r:
        collection = r.qdrant.collection_name(r.embeddings.model_id())
        assert r.qdrant.partitions(collection) == {("keep", "main")}
    assert indexer.search("keep me", "keep", "main", "vector")[0].path == "x.py"
