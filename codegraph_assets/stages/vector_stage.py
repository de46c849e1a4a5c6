"""Vector stage: make the partition's Qdrant points equal the snapshot's chunks, embedding only new text.

Embeddings are cached by (model id, chunk hash) in the metadata store and saved batch by batch, so a
killed run resumes where it stopped and no text is ever embedded twice, across runs, snapshots or repos.
With enrichment, a chunk of a summarized function embeds the summary plus its text, cached under a key of
both (core/enrichment.py), so the chunk with and without its summary never share a vector.
"""

from __future__ import annotations

from collections.abc import Callable

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.enrichment import (
    summaries_in_lines,
    summaries_within,
    summarized_embed_key,
    summarized_embed_text,
)
from codegraph_assets.core.ir_model import qualified_symbol_id
from codegraph_assets.core.source import SourceSnapshot
from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.stages.chunk_stage import chunk_budget, chunk_set_keys, summary_reserve_tokens
from codegraph_assets.stages.documents import doc_key
from codegraph_assets.stages.stats import StageStats
from codegraph_assets.stages.summaries import active_enrichment
from resources.embeddings import EmbeddingResource
from resources.llm import LLMResource
from resources.metadata_store import MetadataStore
from resources.qdrant_store import ChunkPoint, QdrantResource

STAGE = "vector"


def build_vectors(snapshot: SourceSnapshot, store: MetadataStore, qdrant: QdrantResource,
                  embedder: EmbeddingResource, config: IndexingConfig, llm: LLMResource | None = None,
                  progress: Callable[[int, int], None] | None = None) -> StageStats:
    """Embed what the snapshot's chunks lack, upsert their points, publish. `progress(embedded, to_embed)` is
    called after each saved batch: embedding is most of a cold run, minutes on a CPU."""
    stats = StageStats(STAGE, counts={"chunks_embedded": 0})
    enrichment = active_enrichment(config, llm)
    entries = snapshot.indexed()
    set_key = chunk_set_keys(config, embedder)
    set_key_of = {e.blob_sha: set_key(e.blob_sha) for e in entries}
    missing = set(set_key_of.values()) - store.present_chunk_sets(set_key_of.values())
    if missing:
        raise CodegraphError(
            ErrorCode.CHUNK_CACHE_MISS, f"{len(missing)} files of {snapshot.repo}|{snapshot.snapshot} have no chunks",
            input=f"{snapshot.repo}|{snapshot.snapshot}", fix="materialize the chunk asset for this partition first",
        )
    summarized = _summarized_functions(store, enrichment, {doc_key(e.blob_sha, config) for e in entries})
    stats.counts["chunks_summarized"] = 0
    line_tokens = chunk_budget(config, embedder).counter.line_tokens if summarized else None
    reserve = summary_reserve_tokens(config)
    points, embed_text_of = [], {}
    ordinal_in_path: dict[str, int] = {}
    for item in store.snapshot_chunks(entries, set_key_of):
        ordinal = ordinal_in_path.get(item.path, 0)
        ordinal_in_path[item.path] = ordinal + 1
        chunk = item.chunk
        symbol = qualified_symbol_id(item.path, chunk.symbol_id) if chunk.symbol_id else None
        summaries = summaries_in_lines(summarized.get(doc_key(item.blob_sha, config), ()), chunk.start_line,
                                       chunk.end_line)
        if summaries:  # a chunk of several small functions may have more summaries than room
            fitting = summaries_within(summaries, line_tokens, reserve)
            stats.add("summaries_left_out", len(summaries) - len(fitting))
            summaries = fitting
        embed_key = summarized_embed_key(chunk.chunk_hash, summaries) if summaries else None
        point = ChunkPoint(snapshot.repo, snapshot.snapshot, item.path, item.blob_sha, ordinal, chunk.chunk_hash,
                           chunk.start_line, chunk.end_line, symbol, item.language, embed_key)
        points.append(point)
        embed_text_of[point.vector_key] = (summarized_embed_text(chunk.embed_text, summaries) if summaries
                                           else chunk.embed_text)
        stats.add("chunks_summarized", 1 if summaries else 0)
    with qdrant.writing():  # a second run's vector step waits here while this one writes a local store
        return _embed_and_publish(snapshot, points, embed_text_of, store, qdrant, embedder, config, stats,
                                  progress)


def _summarized_functions(store: MetadataStore, enrichment: str | None,
                          doc_keys: set[str]) -> dict[str, list[tuple[int, int, str]]]:
    """doc_key → (first line, last line, summary) of its functions that the lexical stage (which runs before
    this one) summarized; empty without enrichment."""
    if not enrichment:
        return {}
    summary_of = store.symbol_summaries(enrichment, doc_keys)
    symbols = store.document_symbols({key for key, _ in summary_of})
    return {key: [(s.enclosing.start_line, s.enclosing.end_line, summary_of[(key, s.symbol_id)])
                  for s in found if (key, s.symbol_id) in summary_of]
            for key, found in symbols.items()}


def _embed_and_publish(snapshot: SourceSnapshot, points: list[ChunkPoint], embed_text_of: dict[str, str],
                       store: MetadataStore, qdrant: QdrantResource, embedder: EmbeddingResource,
                       config: IndexingConfig, stats: StageStats,
                       progress: Callable[[int, int], None] | None) -> StageStats:
    model_id = embedder.model_id()
    collection = qdrant.collection_name(model_id)
    qdrant.ensure_collection(collection, embedder.dimension)
    existing = qdrant.point_files(collection, snapshot.repo, snapshot.snapshot)
    wanted = {p.point_id for p in points}
    new_points = [p for p in points if p.point_id not in existing]
    needed = sorted({p.vector_key for p in new_points})
    vectors = store.cached_embeddings(model_id, needed)
    stats.counts["chunks_cached"] = len(vectors)
    # Longest text first across batches too (embed sorts only within one call), so that each batch pads
    # to similar lengths; ties stay in hash order.
    to_embed = sorted((h for h in needed if h not in vectors), key=lambda h: -len(embed_text_of[h]))
    chunk_of = {p.vector_key: p.chunk_hash for p in new_points if p.embed_key}
    # Saved per batch; a batch is at least what keeps the model or endpoint busy (a GPU batch, every request
    # slot of an endpoint), so resuming never costs the device its parallelism. Asked only when there is work:
    # choosing the device imports torch, seconds that a no-change re-run must not pay.
    batch_size = max(config.batch.vector_batch_size, embedder.texts_per_call()) if to_embed else 1
    dimension = qdrant.collection_dimension(collection)
    for start in range(0, len(to_embed), batch_size):
        batch = to_embed[start:start + batch_size]
        matrix = embedder.embed([embed_text_of[h] for h in batch])
        if matrix.shape[1] != dimension:
            raise CodegraphError(
                ErrorCode.VECTOR_INDEX_ERROR, f"model {model_id} makes {matrix.shape[1]}-dimensional vectors but "
                f"collection {collection} holds {dimension}-dimensional ones", input=collection,
                fix="give this model its own collection (qdrant collection_prefix) or delete the old collection",
            )
        embedded = dict(zip(batch, matrix))
        # The chunk of each summarized vector first: garbage collection keeps the vector while the chunk lives.
        store.save_summarized_chunks({h: chunk_of[h] for h in batch if h in chunk_of})
        store.save_embeddings(model_id, embedded)  # saved per batch: a killed run resumes here
        vectors.update(embedded)
        stats.add("chunks_embedded", len(batch))
        if progress is not None:
            progress(stats.counts["chunks_embedded"], len(to_embed))
    # New points first, then the head moves, then stale points go: readers filter hits by the serving
    # manifest's (path, blob), so at every moment they see exactly one complete snapshot.
    qdrant.upsert(collection, new_points, [vectors[p.vector_key] for p in new_points])
    store.publish(snapshot.repo, snapshot.snapshot, STAGE, snapshot.commit, snapshot.manifest_id)
    serving_files = _still_serving(store, snapshot)
    stale = {point_id for point_id, (path, blob) in existing.items()
             if point_id not in wanted and serving_files.get(path) != blob}
    qdrant.delete(collection, stale)
    stats.counts["points_upserted"] = len(new_points)
    stats.counts["points_deleted"] = len(stale)
    stats.counts["points_total"] = qdrant.count(collection, snapshot.repo, snapshot.snapshot)
    stats.counts["chunks_total"] = len(points)
    stats.finish(config.metrics.min_duration_epsilon)
    if stats.counts["chunks_embedded"]:
        stats.counts["chunks_per_s"] = int(stats.rate("chunks_embedded"))
    return stats


def _still_serving(store: MetadataStore, snapshot: SourceSnapshot) -> dict[str, str]:
    """path → blob of the serving snapshot when it is not this one yet (lexical has not published this
    manifest): its points stay until the partition's next vector run."""
    serving = store.serving(snapshot.repo, snapshot.snapshot)
    if serving is None or serving.manifest_id == snapshot.manifest_id:
        return {}
    return {e.path: e.blob_sha for e in store.load_manifest(serving.manifest_id) if e.indexed}
