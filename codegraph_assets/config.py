"""`IndexingConfig`: the one pydantic tree that holds every tunable of codegraph.

Everything else reads its numbers from here: the assets receive it as Dagster run config (the schema
is derived from this tree in `run_config.py`), resources take their defaults from it, and
environment variables override it (`CODEGRAPH_<SECTION>__<FIELD>`, see `load_indexing_config`).
Plain Python: no Dagster imports.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

SemanticTier = Literal["BASE", "EXTENDED", "FULL"]

# Directories nobody wants indexed (gitignore syntax). Dependency and cache folders match at any depth;
# build outputs only at the root, because `build/` or `target/` deeper down is often real source.
_DEFAULT_EXCLUDES = [
    ".git", "venv", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache", ".tox",
    "*.egg-info", ".idea", ".vscode", ".next", "/dist/", "/build/", "/target/", "/vendor/",
]


# Marks fields that configure resources at load time; the Launchpad does not offer them per run.
LOAD_TIME = {"load_time": True}


def codegraph_home() -> Path:
    """The one root of all local state (metadata DB, Tantivy, Qdrant, git mirrors)."""
    return Path(os.environ.get("CODEGRAPH_HOME", Path.home() / ".codegraph")).expanduser()


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DefaultsConfig(_Section):
    snapshot_id: str = "main"
    semantic_tier: SemanticTier = "FULL"
    parallel_workers: int = Field(4, ge=1)
    file_patterns: list[str] = Field(default_factory=lambda: ["*"])
    # Read when the code location loads (they configure resources), so not editable per run:
    embedding_model: str = Field("all-MiniLM-L6-v2", json_schema_extra=LOAD_TIME)
    db_path: str = Field("", json_schema_extra=LOAD_TIME)  # "" = $CODEGRAPH_HOME/metadata.db
    tantivy_index_dir: str = Field("", json_schema_extra=LOAD_TIME)  # "" = $CODEGRAPH_HOME/lexical


class TimeoutsConfig(_Section):
    """Seconds."""

    pipeline: float = 600.0
    ir_build: float = 300.0
    chunk_build: float = 300.0
    vector_index: float = 600.0
    lexical_index: float = 300.0
    git: float = 120.0  # one fetch, ls-tree or rev-parse
    git_clone: float = 1800.0  # the first clone of a large remote takes long
    db_busy: float = 30.0  # how long a SQLite writer waits for another before DB_LOCKED


class BatchConfig(_Section):
    vector_batch_size: int = Field(100, ge=1)
    lexical_batch_size: int = Field(500, ge=1)
    store_batch_size: int = Field(500, ge=1)


class PriorityConfig(_Section):
    """Dagster run priorities by stage (higher runs first)."""

    ir_build: int = 10
    chunk_build: int = 8
    lexical_index: int = 5
    vector_index: int = 3


class ExcludePatternsConfig(_Section):
    """gitignore-style patterns: `default` leaves files out of every index; `ir_build` only skips parsing
    (minified and lock files are still searchable lexically and chunked as text)."""

    default: list[str] = Field(default_factory=lambda: list(_DEFAULT_EXCLUDES))
    ir_build: list[str] = Field(default_factory=lambda: ["*.min.js", "*.min.css", "*.lock", "package-lock.json"])

    def get_ir_excludes(self) -> list[str]:
        return [*self.default, *self.ir_build]

    def get_lexical_excludes(self) -> list[str]:
        return list(self.default)


class DiscoveryConfig(_Section):
    """Which files of a snapshot are indexed at all."""

    max_file_bytes: int = Field(1_000_000, ge=1)
    binary_sniff_bytes: int = Field(8192, ge=1)
    honour_gitignore: bool = True


class MetricsConfig(_Section):
    min_duration_epsilon: float = 1e-6  # avoids division by zero in throughput figures


class LexicalConfig(_Section):
    indexing_mode: Literal["incremental", "rebuild"] = "incremental"
    file_read_errors: Literal["skip", "fail"] = "skip"
    writer_heap_bytes: int = Field(64_000_000, ge=15_000_000)
    min_free_disk_bytes: int = Field(64_000_000, ge=0)  # below this, a failed write is reported as DISK_FULL
    snippet_context_lines: int = Field(3, ge=0)
    snippet_max_line_chars: int = Field(300, ge=10)  # minified lines are cut, not returned whole


class IRBuildConfig(_Section):
    occurrences: bool = True
    cross_file: bool = True
    retrieval_index: bool = True
    # A file whose parse runs longer (or crashes the grammar) is indexed as text: status parse_timeout/parse_crashed.
    parse_timeout_s: float = Field(5.0, gt=0)


class ChunkingConfig(_Section):
    """Budgets for AST-aware chunks, in characters of displayed text."""

    max_chunk_chars: int = Field(1500, ge=100)
    min_chunk_chars: int = Field(200, ge=0)  # smaller adjacent siblings are merged up to the max
    text_window_lines: int = Field(40, ge=1)  # line windows for files without a grammar


class SearchConfig(_Section):
    default_limit: int = Field(10, ge=1)
    rrf_k: int = Field(60, ge=1)
    lexical_weight: float = Field(1.0, ge=0)
    vector_weight: float = Field(1.0, ge=0)
    candidate_multiplier: int = Field(4, ge=1)  # each ranking fetches limit × this before fusion


class RetryConfig(_Section):
    """Backoff for TRANSIENT errors, applied by Dagster."""

    max_retries: int = Field(3, ge=0)
    base_delay_s: float = Field(2.0, ge=0)
    max_delay_s: float = Field(60.0, ge=0)


class GarbageConfig(_Section):
    """What `codegraph gc` may delete: content no published snapshot reaches, unused for this long."""

    grace_hours: float = Field(24.0, ge=0)  # runs in flight use manifests newer than this; never collected


class AutomationConfig(_Section):
    """The nightly reindex schedule and the push sensor. Read when the code location loads (they shape the
    schedule and sensor definitions), so every field is load-time. Both are defined STOPPED unless enabled:
    turned on, they fetch every remote and launch runs on their own."""

    nightly_cron: str = Field("0 2 * * *", json_schema_extra=LOAD_TIME)
    nightly_timezone: str = Field("UTC", json_schema_extra=LOAD_TIME)  # an IANA name, e.g. Europe/Berlin
    nightly_enabled: bool = Field(False, json_schema_extra=LOAD_TIME)  # RUNNING on first load when true
    push_sensor_interval_s: int = Field(60, ge=1, json_schema_extra=LOAD_TIME)
    push_sensor_enabled: bool = Field(False, json_schema_extra=LOAD_TIME)
    # Below Dagster's 60 s sensor evaluation timeout (DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS): a tick cut off by
    # Dagster loses its cursor, one that stops at its own budget keeps it and resumes where it stopped.
    push_sensor_tick_budget_s: float = Field(40.0, gt=0, json_schema_extra=LOAD_TIME)
    push_sensor_concurrency: int = Field(4, ge=1, json_schema_extra=LOAD_TIME)  # `git ls-remote`s at a time

    @field_validator("nightly_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}; use an IANA name such as UTC or Europe/Berlin") from exc
        return value


class ChecksConfig(_Section):
    """Thresholds of the Dagster asset checks (codegraph_assets/assets/checks.py). Each check reads them
    from the run config of the asset it checks: `max_parse_error_rate` from ir's."""

    max_parse_error_rate: float = Field(
        0.05, ge=0, le=1, description="Most parsed files with tree-sitter errors (share, 0..1) before the ir "
        "asset's parse_error_rate check warns.")


class CacheKeysConfig(_Section):
    ir_prefix: str = "ir"
    chunk_prefix: str = "chunk"

    def make_ir_key(self, repo_id: str, snapshot_id: str) -> str:
        return f"{self.ir_prefix}:{repo_id}:{snapshot_id}"

    def make_chunk_key(self, repo_id: str, snapshot_id: str) -> str:
        return f"{self.chunk_prefix}:{repo_id}:{snapshot_id}"


class IndexingConfig(_Section):
    """Every tunable of the pipeline, with its default."""

    defaults: DefaultsConfig = DefaultsConfig()
    timeouts: TimeoutsConfig = TimeoutsConfig()
    batch: BatchConfig = BatchConfig()
    priority: PriorityConfig = PriorityConfig()
    exclude_patterns: ExcludePatternsConfig = ExcludePatternsConfig()
    discovery: DiscoveryConfig = DiscoveryConfig()
    metrics: MetricsConfig = MetricsConfig()
    lexical: LexicalConfig = LexicalConfig()
    ir_build: IRBuildConfig = IRBuildConfig()
    chunking: ChunkingConfig = ChunkingConfig()
    search: SearchConfig = SearchConfig()
    retry: RetryConfig = RetryConfig()
    garbage: GarbageConfig = GarbageConfig()
    automation: AutomationConfig = AutomationConfig()
    checks: ChecksConfig = ChecksConfig()
    cache_keys: CacheKeysConfig = CacheKeysConfig()

    def metadata_db_path(self) -> Path:
        return Path(self.defaults.db_path) if self.defaults.db_path else codegraph_home() / "metadata.db"

    def tantivy_dir(self) -> Path:
        return Path(self.defaults.tantivy_index_dir or codegraph_home() / "lexical")


ENV_PREFIX = "CODEGRAPH_"


def load_indexing_config(environ: dict[str, str] | None = None) -> IndexingConfig:
    """Defaults overridden by `CODEGRAPH_<SECTION>__<FIELD>` variables (values parsed as JSON when they can be).

    Example: ``CODEGRAPH_BATCH__VECTOR_BATCH_SIZE=32``, ``CODEGRAPH_EXCLUDE_PATTERNS__DEFAULT='["vendor"]'``.
    """
    environ = os.environ if environ is None else environ
    overrides: dict[str, dict[str, object]] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, field_name = name[len(ENV_PREFIX):].lower().partition("__")
        if section not in IndexingConfig.model_fields:
            continue
        try:
            value: object = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        overrides.setdefault(section, {})[field_name] = value
    return IndexingConfig.model_validate(overrides)


DEFAULT_CONFIG = IndexingConfig()
