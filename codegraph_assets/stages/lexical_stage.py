"""Lexical stage: bring the partition's Tantivy index from its last published manifest to this one."""

from __future__ import annotations

from collections.abc import Iterator

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.source import ManifestEntry, SourceSnapshot, diff_manifests, is_binary
from codegraph_assets.stages.documents import doc_key, ensure_documents
from codegraph_assets.stages.stats import StageStats
from resources.git import GitResource
from resources.metadata_store import MetadataStore, RepoRecord
from resources.tantivy_index import LexicalDocument, TantivyResource

STAGE = "lexical"


def build_lexical(repo: RepoRecord, snapshot: SourceSnapshot, store: MetadataStore, git: GitResource,
                  tantivy: TantivyResource, config: IndexingConfig) -> StageStats:
    stats = StageStats(STAGE)
    previous = store.published(snapshot.repo, snapshot.snapshot, STAGE)
    # The diff is only valid against an index that still holds the previous manifest: a missing or
    # emptied directory (deleted by hand, new schema version) is rebuilt from scratch.
    rebuild = (previous is None or config.lexical.indexing_mode == "rebuild"
               or tantivy.document_count(snapshot.repo, snapshot.snapshot) == 0)
    old_entries = [] if rebuild else store.load_manifest(previous.manifest_id)
    added, removed = diff_manifests(old_entries, snapshot.entries)
    # Changed paths are removed and re-added: Tantivy deletes by the exact path term.
    remove_paths = sorted({e.path for e in removed})
    ensure_documents(repo, added, store, git, config, stats)  # symbol names come from the IR
    names = store.symbol_names(doc_key(e.blob_sha, config) for e in added)
    documents = _documents(repo, added, names, git, config, stats)
    stats.counts["documents_added"] = tantivy.apply(snapshot.repo, snapshot.snapshot, remove_paths, documents,
                                                    rebuild=rebuild)
    stats.counts["documents_removed"] = len(remove_paths)
    stats.counts["documents_total"] = tantivy.document_count(snapshot.repo, snapshot.snapshot)
    store.publish(snapshot.repo, snapshot.snapshot, STAGE, snapshot.commit, snapshot.manifest_id)
    return stats.finish(config.metrics.min_duration_epsilon)


def _documents(repo: RepoRecord, entries: list[ManifestEntry], names: dict[str, list[str]], git: GitResource,
               config: IndexingConfig, stats: StageStats) -> Iterator[LexicalDocument]:
    """Stream documents (never all contents in memory at once); binaries are skipped and counted."""
    for entry, content in git.read_blobs(repo.name, repo.kind, repo.location, entries):  # type: ignore[arg-type]
        if is_binary(content, config.discovery.binary_sniff_bytes):
            stats.add("skipped_binary")
            continue
        stats.bytes_processed += len(content)
        yield LexicalDocument(entry.path, entry.blob_sha, entry.language, content.decode("utf-8", "replace"),
                              tuple(names.get(doc_key(entry.blob_sha, config), ())))
