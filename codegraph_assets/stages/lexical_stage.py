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
from codegraph_assets.core.lexical_units import lexical_units
from codegraph_assets.core.source import ManifestEntry, SourceSnapshot, diff_manifests, is_binary
from codegraph_assets.stages.documents import STATUS_PARSED, doc_key, ensure_documents
from codegraph_assets.stages.stats import StageStats
from resources.git import GitResource
from resources.metadata_store import MetadataStore, RepoRecord
from resources.tantivy_index import LexicalDocument, TantivyResource

STAGE = "lexical"


def build_lexical(repo: RepoRecord, snapshot: SourceSnapshot, store: MetadataStore, git: GitResource,
                  tantivy: TantivyResource, config: IndexingConfig) -> StageStats:
    stats = StageStats(STAGE, counts={"documents_added": 0, "documents_removed": 0})
    partition = (snapshot.repo, snapshot.snapshot)
    rebuild = config.lexical.indexing_mode == "rebuild"
    with tantivy.partition_lock(*partition):
        # A manifest's index that exists is complete (a re-run, or a branch switched back): publish it as is.
        reuse = not rebuild and tantivy.has_index(*partition, snapshot.manifest_id)
        base = None if reuse else _base_manifest(store, tantivy, snapshot, rebuild)
        added, removed = ([], []) if reuse else diff_manifests(store.load_manifest(base) if base else [],
                                                               snapshot.entries)
        ensure_documents(repo, added, store, git, config, stats)  # units are cut along IR symbols
        if not reuse:
            # Changed paths are removed and re-added: Tantivy deletes by the exact path term.
            remove_paths = sorted({e.path for e in removed})
            statuses = store.document_statuses(doc_key(e.blob_sha, config) for e in added)
            documents = _documents(repo, added, statuses, store, git, config, stats)
            stats.counts["documents_added"] = tantivy.build(*partition, snapshot.manifest_id, base_manifest_id=base,
                                                            remove_paths=remove_paths, add=documents)
            stats.counts["documents_removed"] = len(remove_paths)
        stats.counts["documents_total"] = tantivy.document_count(*partition, snapshot.manifest_id)
        stats.counts["units_total"] = tantivy.unit_count(*partition, snapshot.manifest_id)
        store.publish(*partition, STAGE, snapshot.commit, snapshot.manifest_id)
        serving = store.serving(*partition)  # read after publishing: it may just have moved to this manifest
        tantivy.retain(*partition, {snapshot.manifest_id} | ({serving.manifest_id} if serving else set()))
    return stats.finish(config.metrics.min_duration_epsilon)


def _base_manifest(store: MetadataStore, tantivy: TantivyResource, snapshot: SourceSnapshot,
                   rebuild: bool) -> str | None:
    """The manifest whose index the new one starts from: the last published, if its index is on disk
    (a directory deleted by hand, or a new schema version, means building from nothing)."""
    previous = None if rebuild else store.published(snapshot.repo, snapshot.snapshot, STAGE)
    if previous is None or not tantivy.has_index(snapshot.repo, snapshot.snapshot, previous.manifest_id):
        return None
    return previous.manifest_id


def _documents(repo: RepoRecord, entries: list[ManifestEntry], statuses: dict[str, tuple[str, int]],
               store: MetadataStore, git: GitResource, config: IndexingConfig,
               stats: StageStats) -> Iterator[LexicalDocument]:
    """Stream documents (never all contents in memory at once), a batch of files' symbols read at a time;
    binaries are skipped and counted."""
    stats.counts.setdefault("units_added", 0)
    batch_size = config.batch.lexical_batch_size
    for first in range(0, len(entries), batch_size):
        batch = entries[first:first + batch_size]
        keys = {e.blob_sha: doc_key(e.blob_sha, config) for e in batch}
        # Text-only files (no grammar, parse timeout or crash) are cut into line windows.
        parsed = [k for k in keys.values() if statuses.get(k, ("",))[0] == STATUS_PARSED]
        symbols = store.document_symbols(parsed)
        for entry, content in git.read_blobs(repo.name, repo.kind, repo.location, batch):  # type: ignore[arg-type]
            if is_binary(content, config.discovery.binary_sniff_bytes):
                stats.add("skipped_binary")
                continue
            stats.bytes_processed += len(content)
            key = keys[entry.blob_sha]
            units = lexical_units(content.decode("utf-8", "replace"),
                                  symbols.get(key, []) if statuses.get(key, ("",))[0] == STATUS_PARSED else None,
                                  window_lines=config.lexical.unit_window_lines,
                                  max_unit_lines=config.lexical.max_unit_lines)
            stats.add("units_added", len(units))
            yield LexicalDocument(entry.path, entry.blob_sha, entry.language, tuple(units))
