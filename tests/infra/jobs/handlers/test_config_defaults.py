"""The seed's IndexingConfig sections and defaults, from the public job module."""

from __future__ import annotations

from codegraph_assets.config import IndexingConfig as AssetsIndexingConfig
from codegraph_assets.jobs.handlers import DEFAULT_CONFIG, IndexingConfig


def test_it_is_the_same_config_the_assets_use():
    assert IndexingConfig is AssetsIndexingConfig


def test_defaults_section():
    d = DEFAULT_CONFIG.defaults
    assert (d.snapshot_id, d.semantic_tier, d.parallel_workers) == ("main", "FULL", 4)
    assert d.file_patterns and d.embedding_model == "all-MiniLM-L6-v2"
    assert hasattr(d, "db_path") and hasattr(d, "tantivy_index_dir")


def test_timeouts_batch_and_priority():
    assert DEFAULT_CONFIG.timeouts.pipeline == 600
    for stage in ("ir_build", "chunk_build", "vector_index", "lexical_index"):
        assert getattr(DEFAULT_CONFIG.timeouts, stage) > 0
    assert DEFAULT_CONFIG.batch.vector_batch_size == 100
    assert DEFAULT_CONFIG.batch.lexical_batch_size > 0
    assert DEFAULT_CONFIG.priority.ir_build == 10
    assert {"chunk_build", "lexical_index", "vector_index"} <= set(type(DEFAULT_CONFIG.priority).model_fields)


def test_exclude_patterns():
    excludes = DEFAULT_CONFIG.exclude_patterns
    assert {"venv", ".venv", "node_modules", "__pycache__"} <= set(excludes.get_ir_excludes())
    assert set(excludes.default) <= set(excludes.get_ir_excludes())
    assert excludes.get_lexical_excludes() == excludes.default


def test_metrics_lexical_and_ir_build_sections():
    assert DEFAULT_CONFIG.metrics.min_duration_epsilon > 0
    assert DEFAULT_CONFIG.lexical.indexing_mode in ("incremental", "rebuild")
    assert DEFAULT_CONFIG.lexical.file_read_errors in ("skip", "fail")
    ir = DEFAULT_CONFIG.ir_build
    assert (ir.occurrences, ir.cross_file, ir.retrieval_index) == (True, True, True)


def test_cache_keys():
    keys = DEFAULT_CONFIG.cache_keys
    assert (keys.ir_prefix, keys.chunk_prefix) == ("ir", "chunk")
    assert keys.make_ir_key("repo-123", "main") == "ir:repo-123:main"
    assert keys.make_chunk_key("repo-123", "main") == "chunk:repo-123:main"
