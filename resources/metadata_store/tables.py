"""The metadata store's schema (SQLAlchemy Core). Migrations in `migrations/versions` create it.

Everything expensive is keyed by content: IR documents by (parser version, tier, blob sha), cross-file
resolutions by their own content (named per manifest and path), chunk sets by
(chunker version, IR document), embeddings by (model id, chunk hash). A snapshot is a manifest of
(path, blob) rows; `published_snapshots` says which manifest each stage of a partition serves.
"""

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
)

metadata = MetaData()

repos = Table(
    "repos",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("location", Text, nullable=False),
    Column("kind", String(20), nullable=False),  # git_local | git_remote | directory
    Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
)

repo_refs = Table(
    "repo_refs",
    metadata,
    Column("repo", String(200), primary_key=True),
    Column("ref", String(500), primary_key=True),
)

manifests = Table(
    "manifests",
    metadata,
    Column("manifest_id", String(64), primary_key=True),  # sha256(repo, commit, discovery options)
    Column("repo", String(200), nullable=False, index=True),
    Column("commit_sha", String(80), nullable=False),
    Column("entry_count", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    # Refreshed whenever a run starts from this manifest: garbage collection spares recently used ones.
    # NULL until first reused (SQLite cannot add a column with a computed default): then created_at counts.
    Column("last_used_at", DateTime(timezone=True)),
)

manifest_entries = Table(
    "manifest_entries",
    metadata,
    Column("manifest_id", String(64), primary_key=True),
    Column("path", Text, primary_key=True),
    Column("blob_sha", String(64), nullable=False, index=True),
    Column("size", Integer, nullable=False),
    Column("language", String(40)),
    Column("skip_reason", String(40)),  # NULL = indexed
)

ir_documents = Table(
    "ir_documents",
    metadata,
    Column("doc_key", String(160), primary_key=True),  # "ir.<parser digest>.<tier>:<blob sha>"
    Column("blob_sha", String(64), nullable=False, index=True),
    Column("language", String(40), nullable=False),
    Column("status", String(20), nullable=False),  # parsed | binary | text
    Column("parse_errors", Integer, nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("imports", Text, nullable=False),  # JSON list of module strings as written
)

ir_symbols = Table(
    "ir_symbols",
    metadata,
    Column("doc_key", String(160), primary_key=True),
    Column("ordinal", Integer, primary_key=True),
    Column("symbol_id", Text, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("name", String(500), nullable=False, index=True),
    Column("start_line", Integer, nullable=False),
    Column("start_col", Integer, nullable=False),
    Column("end_line", Integer, nullable=False),
    Column("end_col", Integer, nullable=False),
    Column("enclosing_start_line", Integer, nullable=False),
    Column("enclosing_start_col", Integer, nullable=False),
    Column("enclosing_end_line", Integer, nullable=False),
    Column("enclosing_end_col", Integer, nullable=False),
    Column("parent_id", Text),
    Column("signature", Text, nullable=False),
    Column("docstring", Text, nullable=False),
)

ir_document_graphs = Table(
    "ir_document_graphs",
    metadata,
    Column("doc_key", String(160), primary_key=True),
    Column("graph", LargeBinary, nullable=False),  # occurrences and edges, packed (core/ir_packing.py)
    Column("interface", Text, nullable=False),  # JSON of DocumentInterface: what cross-file resolution reads
)

ir_resolutions = Table(
    "ir_resolutions",
    metadata,
    # A content-addressed map, shared by every manifest whose file resolves the same way:
    # a target as the document wrote it ("import .models User") → the repository-wide symbol.
    Column("resolution_key", String(64), primary_key=True),
    Column("expression", Text, primary_key=True),
    Column("target", Text, nullable=False, index=True),
)

manifest_resolutions = Table(
    "manifest_resolutions",
    metadata,
    Column("manifest_id", String(64), primary_key=True),
    Column("resolver", String(160), primary_key=True),  # IR key prefix + resolver version
    Column("path", Text, primary_key=True),
    Column("resolution_key", String(64), nullable=False, index=True),
)

resolved_manifests = Table(
    "resolved_manifests",
    metadata,
    # Written with a manifest's resolutions, in the same transaction: present = resolved completely.
    Column("manifest_id", String(64), primary_key=True),
    Column("resolver", String(160), primary_key=True),
    Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
)

chunk_sets = Table(
    "chunk_sets",
    metadata,
    Column("set_key", String(200), primary_key=True),  # "<chunker version>:<doc key>"
    Column("blob_sha", String(64), nullable=False, index=True),
    Column("chunk_count", Integer, nullable=False),
)

chunks = Table(
    "chunks",
    metadata,
    Column("set_key", String(200), primary_key=True),
    Column("ordinal", Integer, primary_key=True),
    Column("chunk_hash", String(64), nullable=False, index=True),
    Column("start_line", Integer, nullable=False),
    Column("end_line", Integer, nullable=False),
    Column("symbol_id", Text),
    Column("kind", String(20), nullable=False),
)

chunk_texts = Table(
    "chunk_texts",
    metadata,
    Column("chunk_hash", String(64), primary_key=True),
    Column("text", Text, nullable=False),  # what users see
    Column("embed_text", Text, nullable=False),  # what the model reads: scope header + text
)

embeddings = Table(
    "embeddings",
    metadata,
    Column("model_id", String(200), primary_key=True),
    Column("chunk_hash", String(64), primary_key=True),
    Column("vector", LargeBinary, nullable=False),  # float32 little-endian
)

published_snapshots = Table(
    "published_snapshots",
    metadata,
    Column("repo", String(200), primary_key=True),
    Column("snapshot", String(500), primary_key=True),
    Column("stage", String(20), primary_key=True),  # ir | lexical | chunk | vector
    Column("commit_sha", String(80), nullable=False),
    Column("manifest_id", String(64), nullable=False),
    Column("published_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
)

run_commits = Table(
    "run_commits",
    metadata,
    # The first asset of a run that resolves a partition's ref pins the commit here; the others of the
    # same run read it, so one run never indexes two commits even when the branch moves meanwhile.
    Column("run_id", String(64), primary_key=True),
    Column("repo", String(200), primary_key=True),
    Column("snapshot", String(500), primary_key=True),
    Column("commit_sha", String(80), nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
)

repo_ref_patterns = Table(
    "repo_ref_patterns",
    metadata,
    # Globs (fnmatch, over whole branch and tag names: release/*, v*) whose matching refs the push sensor
    # starts tracking (into repo_refs) when they appear. Matched in Python, never passed to git.
    Column("repo", String(200), primary_key=True),
    Column("pattern", String(500), primary_key=True),
)

summaries = Table(
    "summaries",
    metadata,
    # LLM summaries (core/enrichment.py) by sha256(prompt version, model, language, function text): the same
    # function anywhere is summarized once. Only successes are stored; a failed request is asked again.
    Column("summary_key", String(64), primary_key=True),
    Column("summary", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
)

symbol_summaries = Table(
    "symbol_summaries",
    metadata,
    # Which summary belongs to which function of an IR document, under one enrichment tag (prompt version
    # and model): the vector stage finds a chunk's summary here without reading the file again.
    Column("enrichment", String(200), primary_key=True),
    Column("doc_key", String(160), primary_key=True),
    Column("symbol_id", Text, primary_key=True),
    Column("summary_key", String(64), nullable=False, index=True),
)

summarized_chunks = Table(
    "summarized_chunks",
    metadata,
    # The embedding key of a chunk embedded with its functions' summaries → the chunk: garbage collection
    # keeps such a cached vector exactly as long as it keeps the chunk.
    Column("embed_key", String(64), primary_key=True),
    Column("chunk_hash", String(64), nullable=False, index=True),
)

lexical_enrichment = Table(
    "lexical_enrichment",
    metadata,
    # How a partition's Tantivy index of a manifest was enriched: its enrichment tag, and the paths whose
    # functions still lack a summary (failed or over the per-run cap), re-indexed by the next lexical run.
    # No row: built without enrichment.
    Column("repo", String(200), primary_key=True),
    Column("snapshot", String(500), primary_key=True),
    Column("manifest_id", String(64), primary_key=True),
    Column("enrichment", String(200), nullable=False),
    Column("pending_paths", Text, nullable=False),  # JSON list
)
