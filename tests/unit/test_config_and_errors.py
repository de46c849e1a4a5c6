"""IndexingConfig defaults and environment overrides; the error taxonomy."""

from __future__ import annotations

import pytest

from codegraph_assets.config import DEFAULT_CONFIG, IndexingConfig, load_indexing_config
from codegraph_assets.errors import CATEGORY_OF, CodegraphError, ErrorCategory, ErrorCode
from codegraph_assets.run_config import IndexingRunConfig


def test_seed_defaults():
    assert DEFAULT_CONFIG.defaults.snapshot_id == "main"
    assert DEFAULT_CONFIG.defaults.semantic_tier == "FULL"
    assert DEFAULT_CONFIG.defaults.parallel_workers == 4
    assert DEFAULT_CONFIG.timeouts.pipeline == 600
    assert DEFAULT_CONFIG.batch.vector_batch_size == 100
    assert DEFAULT_CONFIG.priority.ir_build == 10
    assert {"venv", ".venv", "node_modules"} <= set(DEFAULT_CONFIG.exclude_patterns.get_ir_excludes())
    assert DEFAULT_CONFIG.cache_keys.make_ir_key("repo-123", "main") == "ir:repo-123:main"
    assert DEFAULT_CONFIG.cache_keys.make_chunk_key("repo-123", "main") == "chunk:repo-123:main"


def test_environment_overrides_any_field_by_section():
    config = load_indexing_config({"CODEGRAPH_BATCH__VECTOR_BATCH_SIZE": "32",
                                   "CODEGRAPH_EXCLUDE_PATTERNS__DEFAULT": '["vendor"]',
                                   "CODEGRAPH_HOME": "/ignored/not/a/section"})
    assert config.batch.vector_batch_size == 32
    assert config.exclude_patterns.default == ["vendor"]


def test_invalid_environment_values_are_rejected_naming_the_variable():
    with pytest.raises(CodegraphError) as raised:
        load_indexing_config({"CODEGRAPH_BATCH__VECTOR_BATCH_SIZE": "0"})
    assert raised.value.code is ErrorCode.INVALID_PAYLOAD
    assert raised.value.input == "CODEGRAPH_BATCH__VECTOR_BATCH_SIZE"
    assert "greater than or equal to 1" in raised.value.message
    with pytest.raises(CodegraphError) as misspelt:
        load_indexing_config({"CODEGRAPH_CHUNKING__NO_SUCH_FIELD": "1"})
    assert misspelt.value.input == "CODEGRAPH_CHUNKING__NO_SUCH_FIELD"


def test_run_config_mirrors_the_tree_and_validates_through_it():
    run_config = IndexingRunConfig()
    assert run_config.to_indexing_config() == IndexingConfig()
    bad = IndexingRunConfig(defaults={"semantic_tier": "EVERYTHING"})
    with pytest.raises(CodegraphError) as raised:
        bad.to_indexing_config()
    assert raised.value.code is ErrorCode.INVALID_PAYLOAD
    assert "defaults.semantic_tier" in raised.value.message


def test_every_error_code_has_a_category():
    assert set(CATEGORY_OF) == set(ErrorCode)
    assert CATEGORY_OF[ErrorCode.RATE_LIMITED] is ErrorCategory.TRANSIENT
    assert CATEGORY_OF[ErrorCode.PATH_NOT_FOUND] is ErrorCategory.PERMANENT
    assert CATEGORY_OF[ErrorCode.DISK_FULL] is ErrorCategory.INFRASTRUCTURE


def test_error_messages_name_problem_and_fix():
    error = CodegraphError(ErrorCode.PATH_NOT_FOUND, "repository 'payments' points at /srv/x, which does not exist",
                           input="/srv/x", fix="`codegraph repo add payments <path-or-url>`")
    assert error.message == ("PERMANENT PATH_NOT_FOUND: repository 'payments' points at /srv/x, which does not exist"
                             "\nFix: `codegraph repo add payments <path-or-url>`")
    assert not error.retryable
