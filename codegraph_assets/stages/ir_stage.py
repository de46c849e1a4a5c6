"""IR stage: make sure every indexed blob of the snapshot has its IR document, resolve the snapshot's
cross-file references (EXTENDED and FULL tiers), then publish."""

from __future__ import annotations

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.ir_resolve import RESOLVER_VERSION, RepositoryResolver, resolution_key
from codegraph_assets.core.source import SourceSnapshot
from codegraph_assets.stages.documents import (
    STATUS_BINARY,
    STATUS_PARSE_CRASHED,
    STATUS_PARSE_TIMEOUT,
    doc_key,
    doc_key_prefix,
    ensure_documents,
)
from codegraph_assets.stages.stats import StageStats
from resources.git import GitResource
from resources.metadata_store import MetadataStore, RepoRecord

STAGE = "ir"


def build_ir(repo: RepoRecord, snapshot: SourceSnapshot, store: MetadataStore, git: GitResource,
             config: IndexingConfig) -> StageStats:
    stats = StageStats(STAGE)
    entries = snapshot.indexed()
    ensure_documents(repo, entries, store, git, config, stats)
    resolve_cross_file(snapshot, store, config, stats)
    statuses = store.document_statuses(doc_key(e.blob_sha, config) for e in entries)
    skipped = snapshot.skipped_by_reason()
    binary = sum(1 for e in entries if statuses[doc_key(e.blob_sha, config)][0] == STATUS_BINARY)
    if binary:
        skipped["binary"] = binary
    stats.counts["files_total"] = len(snapshot.entries)
    stats.counts["files_indexed"] = len(entries) - binary
    stats.counts["files_with_parse_errors"] = sum(1 for s in statuses.values() if s[1])
    for status in (STATUS_PARSE_TIMEOUT, STATUS_PARSE_CRASHED):  # indexed as text; named (path → bytes) to look at
        failed = sorted((e for e in entries if statuses[doc_key(e.blob_sha, config)][0] == status),
                        key=lambda e: e.path)
        if failed:
            stats.counts[f"files_{status}"] = len(failed)
            stats.breakdowns[status] = {e.path: e.size for e in failed[:20]}
    stats.breakdowns["skipped"] = skipped
    stats.breakdowns["languages"] = snapshot.languages()
    store.publish(snapshot.repo, snapshot.snapshot, STAGE, snapshot.commit, snapshot.manifest_id)
    return stats.finish(config.metrics.min_duration_epsilon)


def resolver_key(config: IndexingConfig) -> str:
    """Which resolution of a manifest: the IR it reads (parser digest, tier) and the resolver's version."""
    return f"{doc_key_prefix(config)}resolve{RESOLVER_VERSION}"


def cross_file_enabled(config: IndexingConfig) -> bool:
    return config.defaults.semantic_tier != "BASE" and config.ir_build.cross_file


def resolve_cross_file(snapshot: SourceSnapshot, store: MetadataStore, config: IndexingConfig,
                       stats: StageStats) -> None:
    """Bind every file's imports and imported names to definitions elsewhere in the snapshot, once per
    manifest. It reads each file's small interface, not its occurrences, and stores each file's map by
    content, so a push that changes a few files writes the maps of those files and of the files whose
    imports now lead elsewhere, and an unchanged manifest costs one lookup."""
    for counter in ("references_resolvable", "references_resolved", "resolution_maps_written"):
        stats.counts.setdefault(counter, 0)
    if not cross_file_enabled(config):
        return
    key = resolver_key(config)
    if store.resolution_done(snapshot.manifest_id, key):
        return
    documents = store.snapshot_interfaces(snapshot.manifest_id, doc_key_prefix(config))
    resolver = RepositoryResolver(documents)
    resolutions: dict[str, tuple[str, dict[str, str]]] = {}
    for path in sorted(documents):
        mapping = resolver.resolve_document(path)
        stats.add("references_resolvable", len(resolver.interface(path).externals))
        stats.add("references_resolved", len(mapping))
        if mapping:
            resolutions[path] = (resolution_key(mapping), mapping)
    stats.add("resolution_maps_written", store.save_resolutions(snapshot.manifest_id, key, resolutions))
