"""CodeSearch: lexical, vector and hybrid search over one (repo, snapshot), as of its serving head.

Read-only. Every mode reads the *serving* snapshot, the last manifest all four stages published: the
lexical index of that manifest, and only the vector points of its (path, blob)s. A run in progress, a
half-finished one or a killed one never shows, and lexical and vector hits of one query always come
from the same commit. When a partition has no complete snapshot yet it says what to materialize.
"""

from __future__ import annotations

from typing import Literal

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.hits import SearchHit, best_window, reciprocal_rank_fusion, snippet
from codegraph_assets.core.text_lines import split_lines
from codegraph_assets.core.ir_model import qualified_symbol_id
from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.stages.documents import doc_key
from resources.embeddings import EmbeddingResource
from resources.metadata_store import INDEX_STAGES, MetadataStore, PublishedSnapshot
from resources.qdrant_store import QdrantResource
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
        if mode == "lexical":
            return self.lexical(query, repo, snapshot, limit)
        if mode == "vector":
            return self.vector(query, repo, snapshot, limit)
        candidates = limit * self.config.search.candidate_multiplier
        return reciprocal_rank_fusion(
            [(self.lexical(query, repo, snapshot, candidates), self.config.search.lexical_weight),
             (self.vector(query, repo, snapshot, candidates), self.config.search.vector_weight)],
            k=self.config.search.rrf_k, limit=limit,
        )

    def lexical(self, query: str, repo: str, snapshot: str, limit: int) -> list[SearchHit]:
        serving = self._require_serving(repo, snapshot)
        matches = self.tantivy.search(repo, snapshot, serving.manifest_id, query, limit)
        return [self._lexical_hit(match, query) for match in matches]

    def vector(self, query: str, repo: str, snapshot: str, limit: int) -> list[SearchHit]:
        serving = self._serving_files(repo, snapshot)
        collection = self.qdrant.collection_name(self.embedder.model_id())
        # Over-fetch: points of a run in progress (not yet serving) or not yet deleted are dropped below.
        fetched = self.qdrant.search(collection, self.embedder.embed_query(query), repo, snapshot,
                                     limit * self.config.search.candidate_multiplier)
        matches = [m for m in fetched if serving.get(m.payload["path"]) == m.payload.get("blob")][:limit]
        texts = self.store.chunk_texts(m.payload["chunk_hash"] for m in matches)
        return [
            SearchHit(m.payload["path"], m.payload["start_line"], m.payload["end_line"], round(m.score, 6),
                      m.payload.get("symbol"), texts.get(m.payload["chunk_hash"], ""), m.payload.get("language"),
                      "vector")
            for m in matches
        ]

    def _lexical_hit(self, match: LexicalMatch, query: str) -> SearchHit:
        start, end = best_window(match.content, query, self.config.lexical.snippet_context_lines)
        text = snippet(split_lines(match.content), start, end, self.config.lexical.snippet_max_line_chars)
        return SearchHit(match.path, start, end, round(match.score, 6), self._enclosing_symbol(match, start, end),
                         text, match.language, "lexical")

    def _enclosing_symbol(self, match: LexicalMatch, start: int, end: int) -> str | None:
        """The innermost definition containing the hit's middle line, from the stored IR."""
        document = self.store.load_document(doc_key(match.blob_sha, self.config))
        if document is None:
            return None
        middle = (start + end) // 2
        inside = [s for s in document.symbols if s.enclosing.start_line <= middle <= s.enclosing.end_line]
        if not inside:
            return None
        innermost = min(inside, key=lambda s: s.enclosing.end_line - s.enclosing.start_line)
        return qualified_symbol_id(match.path, innermost.symbol_id)

    def _require_serving(self, repo: str, snapshot: str) -> PublishedSnapshot:
        serving = self.store.serving(repo, snapshot)
        if serving is None:
            heads = {stage: self.store.published(repo, snapshot, stage) for stage in INDEX_STAGES}
            missing = [stage for stage, head in heads.items() if head is None]
            state = (f"{', '.join(missing)} never published" if missing
                     else "its stages published different commits: " + ", ".join(
                         f"{stage} {head.commit[:12]}" for stage, head in heads.items()))
            raise CodegraphError(
                ErrorCode.INVALID_PAYLOAD, f"{repo}|{snapshot} has no complete index yet ({state})",
                input=f"{repo}|{snapshot}",
                fix="`codegraph index` the repository, or materialize all four assets for that partition",
            )
        return serving

    def _serving_files(self, repo: str, snapshot: str) -> dict[str, str]:
        """path → blob of the serving manifest, cached per manifest (manifests never change)."""
        serving = self._require_serving(repo, snapshot)
        if serving.manifest_id not in self._manifest_cache:
            self._manifest_cache[serving.manifest_id] = {
                e.path: e.blob_sha for e in self.store.load_manifest(serving.manifest_id) if e.indexed}
        return self._manifest_cache[serving.manifest_id]
