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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from codegraph_assets.errors import CodegraphError, ErrorCode

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
    snippet_max_lines: int = Field(30, ge=1)  # a longer hit's snippet is its best window (± snippet_context_lines)
    # Units (core/lexical_units.py): a function whole; code around functions in windows of this many lines.
    unit_window_lines: int = Field(40, ge=1)
    max_unit_lines: int = Field(400, ge=1)  # a longer definition is indexed in windows of this size
    # BM25 per field: per query word the best field counts, the others add tie_breaker × their score.
    names_boost: float = Field(3.0, ge=0)  # names of the definitions in a unit
    signature_boost: float = Field(1.5, ge=0)
    doc_boost: float = Field(1.0, ge=0)  # docstrings and comments
    path_boost: float = Field(1.5, ge=0)
    identifier_boost: float = Field(2.0, ge=0)  # a whole compound identifier of the query, matched exactly
    field_tie_breaker: float = Field(0.3, ge=0, le=1)
    phrase_slop: int = Field(0, ge=0)  # words a "quoted phrase" may have between its own


class IRBuildConfig(_Section):
    """The IR: what `defaults.semantic_tier` extracts is in `core/ir_parser.py` (BASE: definitions and imports;
    EXTENDED and FULL: also references, locals, calls, edges, and cross-file resolution)."""

    occurrences: bool = True  # False keeps only definition occurrences (part of the IR key)
    cross_file: bool = True  # resolve imports and imported names across the snapshot's files (EXTENDED+)
    retrieval_index: bool = True
    # A file whose parse runs longer (or crashes the grammar) is indexed as text: status parse_timeout/parse_crashed.
    parse_timeout_s: float = Field(5.0, gt=0)
    # gitignore-style patterns of test code: navigation marks occurrences there with the `test` role.
    test_patterns: list[str] = Field(default_factory=lambda: [
        "test_*.py", "*_test.py", "tests/", "test/", "testing/", "__tests__/", "*_test.go", "*.test.*", "*.spec.*",
        "src/test/"])


class ChunkingConfig(_Section):
    """Budgets for AST-aware chunks, in the embedding model's tokens of the embedded text (header included)."""

    # Capped by the local model's own input length (all-MiniLM-L6-v2: 256, [CLS] and [SEP] included).
    max_chunk_tokens: int = Field(256, ge=16)
    min_chunk_tokens: int = Field(32, ge=0)  # definitions this small merge with adjacent small siblings
    max_header_tokens: int = Field(40, ge=0)  # the scope header's share of the budget, at most
    chars_per_token: float = Field(3.0, gt=0)  # estimate for models without a local tokenizer (OpenAI-compatible)
    text_window_lines: int = Field(40, ge=1)  # line windows for files without a grammar, at most
    # With enrichment on, chunks leave this much of the window for the summaries put before them (a
    # 200-character summary line is about 50 word pieces), so no summarized chunk loses its tail.
    summary_reserve_tokens: int = Field(64, ge=0)


class SearchConfig(_Section):
    default_limit: int = Field(10, ge=1)
    # Tuned on bench/retrieval (toolz, more-itertools, boltons): mean MRR@10 is within 0.01 of the best for
    # lexical weights 0.6-0.8 and k 2-10, and 0.01-0.02 lower at the customary k=60 or at equal weights.
    rrf_k: int = Field(5, ge=1)
    lexical_weight: float = Field(0.6, ge=0)
    vector_weight: float = Field(1.0, ge=0)
    candidate_multiplier: int = Field(4, ge=1)  # each ranking fetches limit × this before fusion
    filtered_fetch_multiplier: int = Field(5, ge=1)  # vector search fetches this many times more under filters
    query_threads: int = Field(1, ge=1)  # torch threads embedding one query (a local model)


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
    turned on, they poll every remote and launch runs on their own."""

    nightly_cron: str = Field("0 2 * * *", json_schema_extra=LOAD_TIME)
    nightly_timezone: str = Field("UTC", json_schema_extra=LOAD_TIME)  # an IANA name, e.g. Europe/Berlin
    nightly_enabled: bool = Field(False, json_schema_extra=LOAD_TIME)  # RUNNING on first load when true
    push_sensor_interval_s: int = Field(60, ge=1, json_schema_extra=LOAD_TIME)
    push_sensor_enabled: bool = Field(False, json_schema_extra=LOAD_TIME)
    # Below Dagster's 60 s sensor evaluation timeout (DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS): a tick cut off by
    # Dagster loses its cursor, one that stops at its own budget keeps it and resumes where it stopped.
    push_sensor_tick_budget_s: float = Field(40.0, gt=0, json_schema_extra=LOAD_TIME)
    push_sensor_concurrency: int = Field(4, ge=1, json_schema_extra=LOAD_TIME)  # `git ls-remote`s at a time
    # The nightly tick reads refs the same way, within this budget (below DAGSTER_SCHEDULE_GRPC_TIMEOUT_SECONDS,
    # 60 s by default); repositories it did not reach get runs that resolve their refs themselves.
    nightly_tick_budget_s: float = Field(40.0, gt=0, json_schema_extra=LOAD_TIME)

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


class ServeConfig(_Section):
    """`codegraph serve` (HTTP JSON API + MCP over streamable HTTP), `codegraph mcp` (stdio) and the Python API.
    Read when a server starts, so the whole section is load-time (`CODEGRAPH_SERVE__PORT=9000`)."""

    host: str = "127.0.0.1"  # loopback unless asked: the API has no authentication of its own
    port: int = Field(8765, ge=0, le=65535)  # 0 = any free port (the address is printed on start)
    mcp_path: str = "/mcp"  # where `codegraph serve` answers MCP (streamable HTTP); "" = not at all
    max_limit: int = Field(100, ge=1)  # the most hits one search may ask for
    max_query_chars: int = Field(2000, ge=1)
    max_snippet_lines: int = Field(400, ge=1)  # a longer snippet request is cut to this many lines
    max_snippet_line_chars: int = Field(2000, ge=10)  # minified lines are cut, not returned whole
    max_request_bytes: int = Field(65536, ge=1024)  # a POST body larger than this is refused
    retry_after_s: int = Field(1, ge=0)  # told to clients of a 503 (the store is busy for a moment)
    access_log: bool = False  # one line per request on stderr
    warm_up: bool = True  # load the embedding model at start, not on the first vector query
    # Where a server keeps its private copy of a Qdrant local store ("" = $CODEGRAPH_HOME/serve):
    qdrant_copy_dir: str = ""
    # At start, how long to wait for a vector step to release the Qdrant local store so the first copy can
    # be taken; past it the server starts without one, and vector searches answer 503 until it has one.
    first_copy_wait_s: float = Field(120.0, ge=0)
    copy_poll_s: float = Field(0.05, gt=0)  # how often that wait tries the writer lock


class EmbeddingConfig(_Section):
    """How the embedding resource runs its model or drives its endpoint. Read when the code location loads (they
    configure the resource), so the whole section is load-time (`CODEGRAPH_EMBEDDING__BACKEND=onnx`)."""

    # Runtime of the local model. "onnx" / "onnx-int8" need the onnx extra and are exported once from the local
    # weights into $CODEGRAPH_HOME/onnx; their vectors differ slightly, so the backend is part of the model id.
    backend: Literal["torch", "onnx", "onnx-int8"] = "torch"
    threads: int = Field(0, ge=0)  # CPU threads of the local model; 0 = the runtime's choice (one per core)
    # Texts per forward pass on a GPU, where larger batches keep it busy; on CPU batch.vector_batch_size is used.
    gpu_batch_size: int = Field(256, ge=1)
    max_concurrent_requests: int = Field(4, ge=1)  # remote endpoint: requests in flight, halved on each 429


class EnrichmentConfig(_Section):
    """LLM summaries of functions without docstrings (README "Enrichment (FULL tier)"). Off by default: when on,
    and with defaults.semantic_tier FULL, function source is sent to the LLM resource's endpoint
    (CODEGRAPH_LLM_BASE_URL, which must then be set)."""

    enabled: bool = False
    max_summaries_per_run: int = Field(1000, ge=0)  # LLM requests one lexical run may make; the rest wait
    max_concurrent_requests: int = Field(4, ge=1)
    max_summary_chars: int = Field(200, ge=20)  # a longer reply is cut to one line of this many characters
    max_function_chars: int = Field(6000, ge=100)  # a longer function is sent cut to its first characters

    def effective(self, semantic_tier: str) -> bool:
        return self.enabled and semantic_tier == "FULL"


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
    enrichment: EnrichmentConfig = EnrichmentConfig()
    embedding: EmbeddingConfig = Field(EmbeddingConfig(), json_schema_extra=LOAD_TIME)  # configures a resource
    serve: ServeConfig = Field(ServeConfig(), json_schema_extra=LOAD_TIME)  # not run config: servers read it

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
    try:
        return IndexingConfig.model_validate(overrides)
    except ValidationError as exc:
        # Only environment values are validated here (defaults are valid): name the variable to fix.
        first = exc.errors()[0]
        variable = ENV_PREFIX + "__".join(str(part) for part in first["loc"][:2]).upper()
        raise CodegraphError(
            ErrorCode.INVALID_PAYLOAD, f"environment variable {variable} is invalid: {first['msg']}",
            input=variable, fix="correct or unset it; codegraph_assets/config.py lists every section and field",
        ) from exc


DEFAULT_CONFIG = IndexingConfig()
