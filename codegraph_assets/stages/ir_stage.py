"""IR stage: make sure every indexed blob of the snapshot has its IR document, then publish."""

from __future__ import annotations

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.source import SourceSnapshot
from codegraph_assets.stages.documents import (
    STATUS_BINARY,
    STATUS_PARSE_CRASHED,
    STATUS_PARSE_TIMEOUT,
    doc_key,
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
