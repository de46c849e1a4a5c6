"""The asset checks, run by Dagster after a real materialization and alone, against broken stores."""

from __future__ import annotations

import dagster as dg
import pytest
import tantivy
from indexing import Indexer

from codegraph_assets.assets import ALL_ASSETS, ALL_CHECKS
from codegraph_assets.definitions import index_partition_job
from codegraph_assets.partitions import REPO_SNAPSHOT, partition_key

FILES = {
    "src/shapes.py": 'class Circle:\n    def area(self, r):\n        return 3.14 * r * r\n',
    "web/cart.ts": "export function total(items: number[]): number {\n  return items.length;\n}\n",
    "logo.bin": b"\x89PNG\x00\x00binary",  # in the manifest, but no lexical document
    "README.md": "# shapes\n",
}
CHECKS = {"ir:parse_error_rate", "lexical:documents_match_files", "vector:points_match_chunks",
          "vector:index_is_fresh"}
# What the UI's "Execute" on the checks of a partition runs: the checks without their assets.
CHECKS_ONLY = dg.define_asset_job("checks_only", selection=dg.AssetSelection.all_asset_checks(),
                                  partitions_def=REPO_SNAPSHOT)


def run_checks(indexer: Indexer, *, materialize: bool,
               run_config: dict | None = None) -> dict[str, dg.AssetCheckEvaluation]:
    """Run the index_partition job on demo|main, or its checks alone; evaluations by `asset:check`."""
    defs = dg.Definitions(assets=ALL_ASSETS, asset_checks=ALL_CHECKS, jobs=[index_partition_job, CHECKS_ONLY],
                          resources=indexer.resources)
    job = defs.resolve_job_def(index_partition_job.name if materialize else CHECKS_ONLY.name)
    key = partition_key("demo", "main")
    # Partition tags as the UI sets them: Dagster's in-process partition_key wants an asset in the selection.
    tags = {"dagster/partition": key, **{f"dagster/partition/{dimension}": value
                                         for dimension, value in key.keys_by_dimension.items()}}
    result = job.execute_in_process(tags=tags, instance=indexer.instance, run_config=run_config)
    assert result.success
    return {f"{e.asset_key.to_user_string()}:{e.check_name}": e for e in result.get_asset_check_evaluations()}


def figures(evaluation: dg.AssetCheckEvaluation) -> dict:
    return {name: value.value for name, value in evaluation.metadata.items()}


@pytest.fixture
def indexed(codegraph_home, make_repo):
    repo = make_repo(FILES)
    indexer = Indexer()
    indexer.register("demo", str(repo.path), ["main"])
    evaluations = run_checks(indexer, materialize=True)
    return indexer, repo, evaluations


def test_every_check_passes_per_partition_after_a_normal_materialization(indexed):
    _indexer, repo, evaluations = indexed
    assert set(evaluations) == CHECKS
    head = repo.git("rev-parse", "HEAD")
    for evaluation in evaluations.values():
        assert evaluation.passed, evaluation.description
        assert evaluation.partition == "demo|main"
        assert figures(evaluation)["commit"] == head
    assert figures(evaluations["lexical:documents_match_files"])["expected"] == 3  # not the binary
    assert figures(evaluations["lexical:documents_match_files"])["actual"] == 3
    points = figures(evaluations["vector:points_match_chunks"])
    assert points["expected"] == points["actual"] > 0


def test_a_point_deleted_from_qdrant_fails_the_points_check_with_error(indexed):
    indexer, _repo, _ = indexed
    with dg.build_resources(indexer.resources) as r:
        collection = r.qdrant.collection_name(r.embeddings.model_id())
        point_id, (path, _blob) = sorted(r.qdrant.point_files(collection, "demo", "main").items())[0]
        r.qdrant.delete(collection, [point_id])
    evaluations = run_checks(indexer, materialize=False)
    points = evaluations["vector:points_match_chunks"]
    assert not points.passed
    assert points.severity == dg.AssetCheckSeverity.ERROR
    assert figures(points)["actual"] == figures(points)["expected"] - 1
    assert figures(points)["first_wrong_files"] == [path]
    assert evaluations["lexical:documents_match_files"].passed


def test_a_document_deleted_from_the_serving_tantivy_index_fails_the_documents_check_with_error(indexed):
    indexer, _repo, _ = indexed
    with dg.build_resources(indexer.resources) as r:
        serving = r.metadata.open().serving("demo", "main")
        directory = r.tantivy.manifest_dir("demo", "main", serving.manifest_id)
    index = tantivy.Index.open(str(directory))
    writer = index.writer(heap_size=15_000_000, num_threads=1)
    writer.delete_documents_by_term("path", "web/cart.ts")
    writer.commit()
    writer.wait_merging_threads()
    documents = run_checks(indexer, materialize=False)["lexical:documents_match_files"]
    assert not documents.passed
    assert documents.severity == dg.AssetCheckSeverity.ERROR
    assert (figures(documents)["expected"], figures(documents)["actual"]) == (3, 2)
    assert figures(documents)["first_missing"] == ["web/cart.ts"]


def test_a_commit_pushed_after_indexing_makes_the_freshness_check_warn_naming_both_commits(indexed):
    indexer, repo, _ = indexed
    indexed_commit = repo.git("rev-parse", "HEAD")
    pushed = repo.commit({"src/more.py": "def more():\n    return 1\n"})
    evaluations = run_checks(indexer, materialize=False)
    fresh = evaluations["vector:index_is_fresh"]
    assert not fresh.passed
    assert fresh.partition == "demo|main"
    assert fresh.severity == dg.AssetCheckSeverity.WARN
    assert figures(fresh)["indexed_commit"] == indexed_commit
    assert figures(fresh)["ref_commit"] == pushed
    assert pushed[:12] in fresh.description
    assert all(e.passed for name, e in evaluations.items() if name != "vector:index_is_fresh")


def test_parse_errors_above_the_run_configs_threshold_warn(codegraph_home, make_repo):
    repo = make_repo({"ok.py": "def fine():\n    return 1\n", "broken.py": "def broken(:\n    return\n"})
    indexer = Indexer()
    indexer.register("demo", str(repo.path), ["main"])
    strict = {"ops": {"ir": {"config": {"checks": {"max_parse_error_rate": 0.0}}}}}
    rate = run_checks(indexer, materialize=True, run_config=strict)["ir:parse_error_rate"]
    assert not rate.passed
    assert rate.severity == dg.AssetCheckSeverity.WARN
    assert (figures(rate)["expected"], figures(rate)["actual"]) == (0.0, 0.5)
    assert figures(rate)["first_files_with_parse_errors"] == ["broken.py"]
