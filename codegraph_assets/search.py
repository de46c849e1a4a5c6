"""CodeSearch: lexical, vector and hybrid search over one (repo, snapshot), as of its serving head.

Read-only. Every mode reads the *serving* snapshot, the last manifest all four stages published: the
lexical index of that manifest, and only the vector points of its (path, blob)s. A run in progress, a
half-finished one or a killed one never shows, and lexical and vector hits of one query always come
from the same commit. When a partition has no complete snapshot yet it says what to materialize.

Queries use the lexical query language (core/lexical_query.py): free words, "phrases" and path:/lang:/sym:
filters. Vector search embeds the free words and phrases and applies the filters and phrases to its hits,
so every mode honours them. Hits are functions, methods or chunks with their line ranges.
"""

from __future__ import annotations

from typing import Literal

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.hits import SearchHit, best_window, reciprocal_rank_fusion, snippet
from codegraph_assets.core.ir_model import qualified_symbol_id
from codegraph_assets.core.lexical_query import LexicalQuery, parse_query
from codegraph_assets.core.text_lines import split_lines
from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.navigation import require_serving
from resources.embeddings import EmbeddingResource
from resources.metadata_store import MetadataStore, PublishedSnapshot
from resources.qdrant_store import QdrantResource, VectorMatch
from resources.tantivy_index import LexicalMatch, TantivyResource

SearchMode = Literal["lexical", "vector", "hybrid"]
SEARCH_MODES: tuple[str, ...] = ("lexical", "vector", "hybrid")


class CodeSearch:
    def __init__(self, store: MetadataStore, tantivy: TantivyResource, qdrant: QdrantResource,
                 embedder: EmbeddingResource, config: IndexingConfig) -> None:
        self.store, self.tantivy, self.qdrant, self.embedder, self.config = store, tantivy, qdrant, embedder, config
        self._manifest_cache: dict[str, dict[str, str]] = {}

    def search(self, query: str, *, repo: str, snapshot: str, mode: SearchMode = "hybrid",
               limit: int | None = None) -> list[SearchHit]:
        if mode not in SEARCH_MODES:
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"search mode {mode!r} is unknown", input=mode,
                                 fix="use one of: " + ", ".join(SEARCH_MODES))
        limit = limit or self.config.search.default_limit
        parsed = parse_query(query)
        if mode == "lexical":
            return self.lexical(parsed, repo, snapshot, limit)
        if mode == "vector":
            return self.vector(parsed, repo, snapshot, limit)
        settings = self.config.search
        candidates = limit * settings.candidate_multiplier
        return reciprocal_rank_fusion(
            [(self.lexical(parsed, repo, snapshot, candidates), settings.lexical_weight),
             (self.vector(parsed, repo, snapshot, candidates), settings.vector_weight)],
            k=settings.rrf_k, limit=limit, show_from=1,  # at chunk precision where the vector side has the chunk
        )

    def lexical(self, query: str | LexicalQuery, repo: str, snapshot: str, limit: int) -> list[SearchHit]:
        parsed = parse_query(query) if isinstance(query, str) else query
        serving = self._require_serving(repo, snapshot)
        matches = self.tantivy.search(repo, snapshot, serving.manifest_id, parsed, limit, self.config.lexical)
        return [self._lexical_hit(match, parsed) for match in matches]

    def vector(self, query: str | LexicalQuery, repo: str, snapshot: str, limit: int) -> list[SearchHit]:
        parsed = parse_query(query) if isinstance(query, str) else query
        text = parsed.ranking_text()
        if not text.strip():
            return []  # only filters: nothing to embed
        serving = self._serving_files(repo, snapshot)
        collection = self.qdrant.collection_name(self.embedder.model_id())
        settings = self.config.search
        # Over-fetch: points of a run in progress (not yet serving) or not yet deleted are dropped below,
        # and so are hits the query's filters or phrases exclude.
        fetch = limit * settings.candidate_multiplier * (settings.filtered_fetch_multiplier if parsed.filters else 1)
        fetched = self.qdrant.search(collection, self._embed_query(text), repo, snapshot, fetch)
        current = [m for m in fetched if serving.get(m.payload["path"]) == m.payload.get("blob")]
        texts = self.store.chunk_texts(m.payload["chunk_hash"] for m in current)
        hits = []
        for match in current:
            hit = self._vector_hit(match, texts.get(match.payload["chunk_hash"], ""))
            if parsed.admits(hit.path, hit.language, hit.symbol, hit.snippet):
                hits.append(hit)
                if len(hits) == limit:
                    break
        return hits

    def _embed_query(self, text: str):
        """One short text: torch's intra-op threads only add synchronisation (13x slower on a busy 2-core
        machine), so a local model embeds a query on search.query_threads threads."""
        if self.embedder.provider != "local":
            return self.embedder.embed_query(text)
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(min(previous, self.config.search.query_threads))
        try:
            return self.embedder.embed_query(text)
        finally:
            torch.set_num_threads(previous)

    def _vector_hit(self, match: VectorMatch, text: str) -> SearchHit:
        payload = match.payload
        return SearchHit(payload["path"], payload["start_line"], payload["end_line"], round(match.score, 6),
                         payload.get("symbol"), text, payload.get("language"), "vector", payload["start_line"],
                         payload.get("kind") or "")

    def _lexical_hit(self, match: LexicalMatch, query: LexicalQuery) -> SearchHit:
        """The unit as the hit; its snippet is the unit, or the best window of a long one."""
        settings = self.config.lexical
        lines = split_lines(match.text)
        first, last = 1, len(lines)
        if last > settings.snippet_max_lines:
            first, last = best_window(match.text, query.ranking_text(), settings.snippet_context_lines)
        offset = match.start_line - 1
        symbol = qualified_symbol_id(match.path, match.symbol_id) if match.symbol_id else None
        return SearchHit(match.path, match.start_line, match.end_line, round(match.score, 6), symbol,
                         snippet(lines, first, last, settings.snippet_max_line_chars), match.language, "lexical",
                         first + offset, match.kind)

    def _require_serving(self, repo: str, snapshot: str) -> PublishedSnapshot:
        return require_serving(self.store, repo, snapshot)  # navigation's error, shared: one wording

    def _serving_files(self, repo: str, snapshot: str) -> dict[str, str]:
        """path → blob of the serving manifest, cached per manifest (manifests never change)."""
        serving = self._require_serving(repo, snapshot)
        if serving.manifest_id not in self._manifest_cache:
            self._manifest_cache[serving.manifest_id] = {
                e.path: e.blob_sha for e in self.store.load_manifest(serving.manifest_id) if e.indexed}
        return self._manifest_cache[serving.manifest_id]
