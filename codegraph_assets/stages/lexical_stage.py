"""Lexical stage: build the manifest's Tantivy index from the last published one, doing only the diff.

Each manifest gets its own index directory (see resources/tantivy_index.py), so searches keep reading
the serving manifest's index while this one is built; afterwards only the new head's and the serving
snapshot's directories are kept. Files are indexed as lexical units (functions, methods, the code around
them) cut along their IR symbols. The stage does not wait for the ir asset: it parses what the IR cache
lacks itself (`ensure_documents`, shared content-addressed cache), so it still needs only the files.
"""

from __future__ import annotations

from collections.abc import Iterator

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.source import ManifestEntry, SourceSnapshot, diff_manifests, is_binary
from codegraph_assets.errors import ErrorCode
from codegraph_assets.stages import lexical_worker
from codegraph_assets.stages.documents import STATUS_PARSED, doc_key, doc_key_prefix, ensure_documents
from codegraph_assets.stages.lexical_worker import units_for
from codegraph_assets.stages.stats import StageStats
from codegraph_assets.stages.summaries import FileToSummarize, Summarizer, active_enrichment
from codegraph_assets.stages.worker_pool import PARALLEL_FROM_FILES, FunctionPool, child_died
from resources.git import GitResource
from resources.llm import LLMResource
from resources.metadata_store import MetadataStore, RepoRecord
from resources.metadata_store.summary_queries import LexicalEnrichment
from resources.tantivy_index import TantivyResource, UnitFields

STAGE = "lexical"


def build_lexical(repo: RepoRecord, snapshot: SourceSnapshot, store: MetadataStore, git: GitResource,
                  tantivy: TantivyResource, config: IndexingConfig, llm: LLMResource | None = None) -> StageStats:
    stats = StageStats(STAGE, counts={"documents_added": 0, "documents_removed": 0})
    partition = (snapshot.repo, snapshot.snapshot)
    rebuild = config.lexical.indexing_mode == "rebuild"
    settings = built_with(config)
    enrichment = active_enrichment(config, llm)  # enabled without an endpoint fails here, before any work
    summarizer = Summarizer(llm, store, config, enrichment, stats) if enrichment and llm else None
    with tantivy.partition_lock(*partition):
        # A manifest's index that exists is complete (a re-run, or a branch switched back): publish it as is,
        # unless it was built with other settings, enriched differently, or some functions still wait for
        # their summary.
        own = None if rebuild else _enriched_like(store, tantivy, snapshot, snapshot.manifest_id, enrichment,
                                                  settings)
        reuse = own is not None and not own.pending_paths
        if own is not None:
            base = snapshot.manifest_id
        else:
            base = _base_manifest(store, tantivy, snapshot, rebuild)
            own = _enriched_like(store, tantivy, snapshot, base, enrichment, settings) if base else None
            base = base if own is not None else None  # other settings or enrichment: start from nothing
        added, removed = ([], []) if reuse else diff_manifests(store.load_manifest(base) if base else [],
                                                               snapshot.entries)
        if own is not None and not reuse:  # the base's functions that still lack a summary are indexed again
            added += _pending_entries(snapshot, own.pending_paths, {e.path for e in added})
        ensure_documents(repo, added, store, git, config, stats)  # units are cut along IR symbols
        if not reuse:
            # Changed paths are removed and re-added: Tantivy deletes by the exact path term.
            remove_paths = sorted({e.path for e in removed} | (set(own.pending_paths) if own else set()))
            statuses = store.document_statuses(doc_key(e.blob_sha, config) for e in added)
            pending: set[str] = set()
            requests = _unit_requests(repo, added, statuses, store, git, config, stats, summarizer, pending)
            workers = config.defaults.parallel_workers if len(added) >= PARALLEL_FROM_FILES else 1
            setup = (config.lexical.unit_window_lines, config.lexical.max_unit_lines)
            with FunctionPool(lexical_worker.__name__, units_for, setup, workers,
                              ErrorCode.LEXICAL_INDEX_ERROR) as pool:
                stats.counts["documents_added"] = tantivy.build(
                    *partition, snapshot.manifest_id, base_manifest_id=base, remove_paths=remove_paths,
                    add=_counted(pool.stream(requests), stats), built_with=settings)
                stats.counts["unit_processes"] = pool.processes_started
            stats.counts["documents_removed"] = len(remove_paths)
            # Recorded once the new index is in place (a build that dies leaves the previous index and its
            # record together); None: built without enrichment.
            store.record_lexical_enrichment(*partition, snapshot.manifest_id,
                                            LexicalEnrichment(enrichment, tuple(sorted(pending))) if enrichment
                                            else None)
        if summarizer:
            summarizer.report()
        stats.counts["documents_total"] = tantivy.document_count(*partition, snapshot.manifest_id)
        stats.counts["units_total"] = tantivy.unit_count(*partition, snapshot.manifest_id)
        store.publish(*partition, STAGE, snapshot.commit, snapshot.manifest_id)
        serving = store.serving(*partition)  # read after publishing: it may just have moved to this manifest
        keep = {snapshot.manifest_id} | ({serving.manifest_id} if serving else set())
        tantivy.retain(*partition, keep)
        store.retain_lexical_enrichment(*partition, keep)
    return stats.finish(config.metrics.min_duration_epsilon)


def built_with(config: IndexingConfig) -> str:
    """What a partition's units depend on besides its files: how they are cut, and the IR they are cut along
    (parser and tier). An index built otherwise is neither reused nor built on."""
    return (f"units: window {config.lexical.unit_window_lines}, max {config.lexical.max_unit_lines}; "
            f"symbols: {doc_key_prefix(config)}")


def _enriched_like(store: MetadataStore, tantivy: TantivyResource, snapshot: SourceSnapshot, manifest_id: str,
                   enrichment: str | None, settings: str) -> LexicalEnrichment | None:
    """The enrichment state of the partition's index of `manifest_id` when that index is on disk and was built
    with `settings` under `enrichment` (None: built without enrichment); None when it cannot serve this run as
    a base."""
    if tantivy.built_with(snapshot.repo, snapshot.snapshot, manifest_id) != settings:
        return None
    state = store.lexical_enrichment(snapshot.repo, snapshot.snapshot, manifest_id)
    if (state.enrichment if state else None) != enrichment:
        return None
    return state or LexicalEnrichment("", ())


def _pending_entries(snapshot: SourceSnapshot, pending_paths: tuple[str, ...],
                     already: set[str]) -> list[ManifestEntry]:
    """The snapshot's entries at paths whose functions wait for a summary, unless already being added."""
    pending = set(pending_paths) - already
    return [e for e in snapshot.entries if e.indexed and e.path in pending]


def _base_manifest(store: MetadataStore, tantivy: TantivyResource, snapshot: SourceSnapshot,
                   rebuild: bool) -> str | None:
    """The manifest whose index the new one starts from: the last published, if its index is on disk
    (a directory deleted by hand, or a new schema version, means building from nothing)."""
    previous = None if rebuild else store.published(snapshot.repo, snapshot.snapshot, STAGE)
    if previous is None or not tantivy.has_index(snapshot.repo, snapshot.snapshot, previous.manifest_id):
        return None
    return previous.manifest_id


def _unit_requests(repo: RepoRecord, entries: list[ManifestEntry], statuses: dict[str, tuple[str, int]],
                   store: MetadataStore, git: GitResource, config: IndexingConfig, stats: StageStats,
                   summarizer: Summarizer | None, pending: set[str]) -> Iterator[tuple[str, tuple]]:
    """(path, arguments of `lexical_worker.units_for`'s function) of every file, streamed (never all contents
    in memory at once), a batch of files' symbols read at a time; binaries are skipped and counted. With
    enrichment, a function's summary joins its units' docs, and the paths whose functions still lack one are
    added to `pending`."""
    stats.counts.setdefault("units_added", 0)
    batch_size = config.batch.lexical_batch_size
    for first in range(0, len(entries), batch_size):
        batch = entries[first:first + batch_size]
        keys = {e.blob_sha: doc_key(e.blob_sha, config) for e in batch}
        # Text-only files (no grammar, parse timeout or crash) are cut into line windows.
        parsed = [k for k in keys.values() if statuses.get(k, ("",))[0] == STATUS_PARSED]
        symbols = store.document_symbols(parsed)
        files = git.read_blobs(repo.name, repo.kind, repo.location, batch)  # type: ignore[arg-type]
        summaries: dict[str, dict[str, str]] = {}
        if summarizer is not None:
            # A batch is read whole here: its summaries are asked for together, concurrently.
            files = [(entry, content) for entry, content in files]
            summaries, incomplete = summarizer.summarize([
                FileToSummarize(keys[e.blob_sha], e.language or "", c.decode("utf-8", "replace"),
                                symbols[keys[e.blob_sha]])
                for e, c in files
                if keys[e.blob_sha] in symbols and not is_binary(c, config.discovery.binary_sniff_bytes)])
            pending.update(e.path for e in batch if keys[e.blob_sha] in incomplete)
        for entry, content in files:
            if is_binary(content, config.discovery.binary_sniff_bytes):
                stats.add("skipped_binary")
                continue
            stats.bytes_processed += len(content)
            key = keys[entry.blob_sha]
            file_symbols = symbols.get(key, []) if statuses.get(key, ("",))[0] == STATUS_PARSED else None
            yield entry.path, (entry.path, entry.blob_sha, entry.language, content, file_symbols,
                               summaries.get(key, {}))


def _counted(files: Iterator[tuple[str, list[UnitFields] | None]], stats: StageStats) -> Iterator[list[UnitFields]]:
    """Each file's unit fields, for the index writer, counted; a worker that died fails the build."""
    for path, units in files:
        if units is None:
            raise child_died(ErrorCode.LEXICAL_INDEX_ERROR, "cutting lexical units of", path)
        stats.add("units_added", len(units))
        yield units
