"""The four handlers on real repositories and real stores: results, errors and their categories."""

from __future__ import annotations

import asyncio

import pytest

from codegraph_assets.jobs.handlers import (
    DEFAULT_CONFIG,
    ChunkBuildHandler,
    ErrorCategory,
    ErrorCode,
    IRBuildHandler,
    JobState,
    JobType,
    LexicalIndexHandler,
    VectorIndexHandler,
)

FILES = {"app/orders.py": "class OrderBook:\n    def cancel_order(self, order_id):\n        return order_id\n",
         "README.md": "# orders\n"}


def run(handler, payload):
    return asyncio.run(handler.execute(payload))


@pytest.fixture
def payload(codegraph_home, make_repo):
    repo = make_repo(FILES)
    return {"repo_path": str(repo.path), "repo_id": "orders", "snapshot_id": "main", "semantic_tier": "FULL"}


def test_all_four_stages_succeed_in_order_with_counts_and_cache_keys(payload):
    ir = run(IRBuildHandler(), payload)
    assert ir.success and ir.job_type is JobType.BUILD_IR and ir.state is JobState.COMPLETED
    assert ir.data["files_parsed"] == 1 and ir.data["symbols"] == 2
    assert ir.data["cache_key"] == "ir:orders:main"
    assert ir.data["duration_s"] > 0 and "commit" in ir.data
    lexical = run(LexicalIndexHandler(), payload)
    assert lexical.success and lexical.data["documents_total"] == 2
    chunk = run(ChunkBuildHandler(), payload)
    assert chunk.success and chunk.data["chunks_created"] >= 2
    assert chunk.data["cache_key"] == "chunk:orders:main"
    vector = run(VectorIndexHandler(), payload)
    assert vector.success and vector.data["points_total"] == vector.data["chunks_total"] >= 2
    assert vector.error is None and vector.error_code is None


@pytest.mark.parametrize("bad", [{}, {"repo_id": "x"}, {"repo_path": "/tmp", "repo_id": 7},
                                 {"repo_path": "/tmp", "repo_id": "x", "semantic_tier": "ALL"}])
def test_invalid_payloads_fail_permanently(codegraph_home, bad):
    result = run(IRBuildHandler(), bad)
    assert not result.success
    assert result.error_code is ErrorCode.INVALID_PAYLOAD
    assert result.error_category is ErrorCategory.PERMANENT
    assert "Fix:" in result.error


def test_a_missing_path_is_path_not_found(codegraph_home, tmp_path):
    result = run(IRBuildHandler(), {"repo_path": str(tmp_path / "nowhere"), "repo_id": "gone"})
    assert (result.error_code, result.error_category) == (ErrorCode.PATH_NOT_FOUND, ErrorCategory.PERMANENT)
    assert str(tmp_path / "nowhere") in result.error


def test_an_empty_repository_succeeds_with_a_warning(codegraph_home, make_repo):
    empty = make_repo()  # `git init`, no commits
    result = run(IRBuildHandler(), {"repo_path": str(empty.path), "repo_id": "empty"})
    assert result.success
    assert result.data["files_total"] == 0
    assert result.warnings == [f"repository 'empty' at {empty.path} has no commits yet"]


def test_chunk_before_ir_is_an_ir_cache_miss(payload):
    result = run(ChunkBuildHandler(), payload)
    assert (result.error_code, result.error_category) == (ErrorCode.IR_CACHE_MISS, ErrorCategory.PERMANENT)
    assert "materialize the ir asset" in result.error


def test_vector_before_chunk_is_a_chunk_cache_miss(payload):
    assert run(IRBuildHandler(), payload).success
    result = run(VectorIndexHandler(), payload)
    assert (result.error_code, result.error_category) == (ErrorCode.CHUNK_CACHE_MISS, ErrorCategory.PERMANENT)


def test_a_stage_past_its_timeout_is_reported_as_an_error(payload):
    config = DEFAULT_CONFIG.model_copy(update={"timeouts": DEFAULT_CONFIG.timeouts.model_copy(
        update={"ir_build": 1e-9})})
    result = run(IRBuildHandler(config), payload)
    assert result.state is JobState.TIMED_OUT and not result.success
    assert (result.error_code, result.error_category) == (ErrorCode.TIMEOUT, ErrorCategory.TRANSIENT)
    assert "timeouts.ir_build" in result.error


def test_the_payload_semantic_tier_is_part_of_the_ir_key(payload):
    full = run(IRBuildHandler(), payload)
    base = run(IRBuildHandler(), payload | {"semantic_tier": "BASE"})
    assert full.data["files_parsed"] == 1
    assert base.data["files_parsed"] == 1  # a different tier is a different IR: parsed again
    again = run(IRBuildHandler(), payload | {"semantic_tier": "BASE"})
    assert again.data["files_parsed"] == 0
