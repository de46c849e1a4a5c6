"""The code location as Dagster's own tools see it from the repo root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from codegraph_assets.definitions import defs

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_validate_loadable():
    dg.Definitions.validate_loadable(defs)


def test_the_four_assets_share_the_repo_snapshot_partitions():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {"ir", "lexical", "chunk", "vector"}
    for key in graph.get_all_asset_keys():
        partitions = graph.get(key).partitions_def
        assert isinstance(partitions, dg.MultiPartitionsDefinition)
        assert [d.name for d in partitions.partitions_defs] == ["repo", "snapshot"]


def test_lexical_runs_beside_ir_and_chunk_and_vector_completes_the_snapshot_last():
    graph = defs.resolve_asset_graph()
    parents = {key.to_user_string(): {p.to_user_string() for p in graph.get(key).parent_keys}
               for key in graph.get_all_asset_keys()}
    assert parents == {"ir": set(), "lexical": set(), "chunk": {"ir"}, "vector": {"chunk", "lexical"}}


CHECKS = {"ir": {"parse_error_rate"}, "lexical": {"documents_match_files"}, "chunk": set(),
          "vector": {"points_match_chunks", "index_is_fresh"}}


def test_the_checks_are_partitioned_like_their_assets_and_run_in_the_index_job():
    graph = defs.resolve_asset_graph()
    found: dict[str, set[str]] = {key.to_user_string(): set() for key in graph.get_all_asset_keys()}
    for key in graph.asset_check_keys:
        found[key.asset_key.to_user_string()].add(key.name)
        assert graph.get(key).partitions_def == graph.get(key.asset_key).partitions_def
    assert found == CHECKS
    assert defs.resolve_job_def("index_partition").asset_layer.asset_graph.asset_check_keys == graph.asset_check_keys


def test_dagster_graphql_lists_assets_partitions_config_checks_schedule_and_sensor(tmp_path):
    query = ("{ assetNodes { assetKey { path } isPartitioned partitionDefinition { type } "
             "configField { configType { key } } assetChecksOrError { ... on AssetChecks { checks { name } } } } }")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run([str(Path(sys.executable).parent / "dagster-graphql"), "-w", "workspace.yaml",
                             "-t", query], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    answer = next(line for line in result.stdout.splitlines() if line.startswith('{"data"'))
    nodes = json.loads(answer)["data"]["assetNodes"]
    assert {n["assetKey"]["path"][0] for n in nodes} == {"ir", "lexical", "chunk", "vector"}
    assert all(n["isPartitioned"] and n["partitionDefinition"]["type"] == "MULTIPARTITIONED" for n in nodes)
    assert all(n["configField"] is not None for n in nodes)
    assert {n["assetKey"]["path"][0]: {c["name"] for c in n["assetChecksOrError"]["checks"]} for n in nodes} == CHECKS

    query = ("{ repositoriesOrError { ... on RepositoryConnection { nodes { name "
             "schedules { name cronSchedule executionTimezone } sensors { name minIntervalSeconds } } } } }")
    result = subprocess.run([str(Path(sys.executable).parent / "dagster-graphql"), "-w", "workspace.yaml",
                             "-t", query], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    answer = next(line for line in result.stdout.splitlines() if line.startswith('{"data"'))
    [repository] = json.loads(answer)["data"]["repositoriesOrError"]["nodes"]
    assert repository["schedules"] == [{"name": "nightly_reindex", "cronSchedule": "0 2 * * *",
                                        "executionTimezone": "UTC"}]
    assert repository["sensors"] == [{"name": "push_sensor", "minIntervalSeconds": 60}]


def test_the_embedded_instance_config_queues_runs_and_limits_the_qdrant_pool(tmp_path):
    (tmp_path / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


def test_the_postgres_instance_config_stores_runs_in_postgresql(tmp_path, postgres_database, monkeypatch):
    from sqlalchemy.engine import make_url

    url = make_url(postgres_database)
    monkeypatch.setenv("DAGSTER_PG_HOST", url.host)
    monkeypatch.setenv("DAGSTER_PG_USER", url.username)
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "")
    monkeypatch.setenv("DAGSTER_PG_DB", url.database)
    (tmp_path / "dagster.yaml").write_text((ROOT / "deploy" / "dagster.postgres.yaml").read_text())
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        instance.add_dynamic_partitions("repo", ["payments"])
        assert instance.get_dynamic_partitions("repo") == ["payments"]
    finally:
        instance.dispose()
