"""Chunk stage: AST-aware chunks for every indexed blob of the snapshot, computed once per blob and token
budget (the embedding model's tokenizer and input length, through the embeddings resource)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.chunking import chunk_set_key
from codegraph_assets.core.ir_model import DocumentIR
from codegraph_assets.core.ir_parser import count_lines
from codegraph_assets.core.token_budget import TokenBudget
from codegraph_assets.core.source import ManifestEntry, SourceSnapshot
from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.stages.chunk_worker import Chunker
from codegraph_assets.stages.documents import STATUS_BINARY, STATUS_PARSED, doc_key, unique_blobs
from codegraph_assets.stages.stats import StageStats
from codegraph_assets.stages.worker_pool import PARALLEL_FROM_FILES, child_died
from resources.embedding_tokens import token_budget
from resources.embeddings import EmbeddingResource
from resources.git import GitResource
from resources.metadata_store import MetadataStore, RepoRecord

STAGE = "chunk"


def chunk_budget(config: IndexingConfig, embedder: EmbeddingResource) -> TokenBudget:
    """The token budget chunks are cut to; with enrichment on it leaves `chunking.summary_reserve_tokens` of the
    model's window for the summaries the vector stage puts before a chunk (core/enrichment.py)."""
    return token_budget(embedder, config.chunking, reserve_tokens=summary_reserve_tokens(config))


def summary_reserve_tokens(config: IndexingConfig) -> int:
    return config.chunking.summary_reserve_tokens if config.enrichment.effective(config.defaults.semantic_tier) else 0


def chunk_set_keys(config: IndexingConfig, embedder: EmbeddingResource) -> Callable[[str], str]:
    """blob sha → the key of its chunk set under this config and embedding model (for every reader of chunks)."""
    tag = chunk_budget(config, embedder).tag
    return lambda blob_sha: chunk_set_key(doc_key(blob_sha, config), tag)


def build_chunks(repo: RepoRecord, snapshot: SourceSnapshot, store: MetadataStore, git: GitResource,
                 config: IndexingConfig, embedder: EmbeddingResource) -> StageStats:
    stats = StageStats(STAGE, counts=dict.fromkeys(("files_chunked", "chunks_created"), 0))
    budget = chunk_budget(config, embedder)
    set_key = chunk_set_keys(config, embedder)
    entries = snapshot.indexed()
    doc_keys = {e.blob_sha: doc_key(e.blob_sha, config) for e in entries}
    statuses = store.document_statuses(doc_keys.values())
    missing_ir = [e.path for e in entries if doc_keys[e.blob_sha] not in statuses]
    if missing_ir:
        raise CodegraphError(
            ErrorCode.IR_CACHE_MISS, f"{len(missing_ir)} files of {snapshot.repo}|{snapshot.snapshot} have no IR "
            f"(first: {missing_ir[0]})", input=f"{snapshot.repo}|{snapshot.snapshot}",
            fix="materialize the ir asset for this partition before chunk",
        )
    present = store.present_chunk_sets(set_key(e.blob_sha) for e in entries)
    todo = [e for e in unique_blobs(entries) if set_key(e.blob_sha) not in present]
    stats.add("files_cached", len(entries) - len(todo))
    batch_size = config.batch.store_batch_size
    chunk_sets: list[tuple[str, str, list]] = []

    def record(entry: ManifestEntry, size: int, records: list) -> None:
        # Saved a batch of files per transaction (one commit per file would cost SQLite a disk sync each); a
        # killed run keeps every batch it committed and resumes after them.
        chunk_sets.append((set_key(entry.blob_sha), entry.blob_sha, records))
        stats.add("files_chunked")
        stats.add("chunks_created", len(records))
        stats.bytes_processed += size
        if len(chunk_sets) >= batch_size:
            store.save_chunk_sets(chunk_sets)
            chunk_sets.clear()

    def files() -> Iterator[tuple[tuple[ManifestEntry, int], bytes, DocumentIR | None, str | None]]:
        """Blobs streamed from git with their IR, read a batch at a time in a few queries; binaries have no
        chunks and are recorded here."""
        for first in range(0, len(todo), batch_size):
            batch = todo[first:first + batch_size]
            # Text-only files (no grammar, parse timeout or crash) have no IR to read: they are cut into windows.
            documents = store.chunking_documents(doc_keys[e.blob_sha] for e in batch
                                                 if statuses[doc_keys[e.blob_sha]][0] == STATUS_PARSED)
            for entry, content in git.read_blobs(repo.name, repo.kind, repo.location, batch):  # type: ignore[arg-type]
                if statuses[doc_keys[entry.blob_sha]][0] == STATUS_BINARY:
                    record(entry, len(content), [])
                    continue
                document = documents.get(doc_keys[entry.blob_sha])
                _check_consistent(document, content, entry.path)
                yield (entry, len(content)), content, document, entry.language

    workers = config.defaults.parallel_workers if len(todo) >= PARALLEL_FROM_FILES else 1
    with Chunker(config.chunking, budget, workers) as chunker:
        for (entry, size), records in chunker.chunk_stream(files()):
            if records is None:
                raise child_died(ErrorCode.CHUNK_BUILD_ERROR, "chunking", entry.path)
            record(entry, size, records)
        stats.counts["chunk_processes"] = chunker.processes_started
    store.save_chunk_sets(chunk_sets)
    stats.counts["files_total"] = len(entries)
    store.publish(snapshot.repo, snapshot.snapshot, STAGE, snapshot.commit, snapshot.manifest_id)
    return stats.finish(config.metrics.min_duration_epsilon)


def _check_consistent(document: DocumentIR | None, content: bytes, path: str) -> None:
    """The IR must describe this very blob: chunks cut at its symbols' lines would be garbage otherwise."""
    if document is None:
        return
    lines = count_lines(content)
    if document.symbols and not document.outline:
        raise CodegraphError(
            ErrorCode.CHUNK_BUILD_ERROR, f"the stored IR of {path} has symbols but no syntax outline to cut along",
            input=path, fix="the IR cache is inconsistent: bump IR_EXTRACTOR_VERSION or delete the document, "
            "then re-materialize ir")
    beyond = [s.symbol_id for s in document.symbols if s.enclosing.end_line > lines or s.enclosing.start_line < 1]
    if document.line_count != lines or beyond:
        raise CodegraphError(
            ErrorCode.CHUNK_BUILD_ERROR, f"the stored IR of {path} does not match its content ({lines} lines; "
            f"IR says {document.line_count}{', symbols outside the file: ' + beyond[0] if beyond else ''})",
            input=path, fix="the IR cache is inconsistent: bump IR_EXTRACTOR_VERSION or delete the document, "
            "then re-materialize ir",
        )
