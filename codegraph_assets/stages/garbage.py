"""Garbage collection: remove what no published snapshot, tracked partition or recent run still needs.

Safe by construction: published manifests are never collected; a manifest a run builds or reuses is
marked in use, and nothing used within `garbage.grace_hours` is collected, so a run in flight keeps
everything it derives (as long as it started within the grace period: keep it above the longest run).
On PostgreSQL the collection holds an advisory lock that content writers take shared. Vector points go
only for partitions that are no longer registered (stale points of live partitions are never served:
readers filter by the serving manifest, and the partition's next vector run deletes them); Tantivy
directories go for those partitions and for every manifest that is neither a partition's lexical head
nor its serving snapshot.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from codegraph_assets.config import IndexingConfig
from codegraph_assets.stages.stats import StageStats
from resources.embeddings import EmbeddingResource
from resources.metadata_store import SERVING, MetadataStore
from resources.qdrant_store import QdrantResource
from resources.tantivy_index import TantivyResource


def collect_garbage(store: MetadataStore, tantivy: TantivyResource, qdrant: QdrantResource,
                    embedder: EmbeddingResource, config: IndexingConfig) -> StageStats:
    stats = StageStats("gc")
    cutoff = datetime.now(timezone.utc) - timedelta(hours=config.garbage.grace_hours)
    stats.counts.update({f"{name}_deleted": n for name, n in store.collect_garbage(cutoff).items()})
    collection = qdrant.collection_name(embedder.model_id())
    candidates = qdrant.partitions(collection) - _tracked(store)  # the scroll can take a while:
    orphaned = sorted(candidates - _tracked(store))  # re-read, so a partition registered meanwhile stays
    for repo, snapshot in orphaned:
        qdrant.delete_partition(collection, repo, snapshot)
    stats.counts["vector_partitions_deleted"] = len(orphaned)
    tracked = _tracked(store)

    def lexical_keep() -> set[tuple[str, str, str]]:  # re-read per partition, under its lock
        return {(h.repo, h.snapshot, h.manifest_id) for h in store.published_heads() if h.stage in ("lexical", SERVING)}

    stats.counts["lexical_indexes_deleted"] = tantivy.remove_unreferenced(lexical_keep, tracked)
    return stats.finish(config.metrics.min_duration_epsilon)


def _tracked(store: MetadataStore) -> set[tuple[str, str]]:
    return {(repo.name, ref) for repo in store.list_repos() for ref in repo.refs}
