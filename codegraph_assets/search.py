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

import threading
from dataclasses import replace
from typing import Literal

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.hits import SearchHit, best_window, reciprocal_rank_fusion, snippet
from codegraph_assets.core.ir_model import document_symbol_id, qualified_symbol_id
from codegraph_assets.core.lexical_query import LexicalQuery, parse_query
from codegraph_assets.core.text_lines import split_lines
from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.navigation import require_serving
from codegraph_assets.serving.vector_matrix import ServingVectors
from codegraph_assets.stages.documents import doc_key
from resources.embeddings import EmbeddingResource
from resources.metadata_store import MetadataStore, PublishedSnapshot
from resources.qdrant_store import QdrantResource, VectorMatch
from resources.tantivy_index import LexicalMatch, TantivyResource

SearchMode = Literal["lexical", "vector", "hybrid"]
SEARCH_MODES: tuple[str, ...] = ("lexical", "vector", "hybrid")

# torch's thread count is process-wide: concurrent query embeds each lowering it and restoring what they
# saw would leave it lowered for good. One at a time (a query embed is short, and on few threads anyway).
_QUERY_THREADS_LOCK = threading.Lock()


class CodeSearch:
    """`vectors_in_memory` (for a long-lived reader of a Qdrant local store, see serving/vector_matrix.py):
    vector queries are answered from the serving snapshot's vectors, loaded once per partition and serving
    manifest (into `vector_cache`, which a reader shares between the CodeSearch objects it builds), instead
    of by Qdrant's search, which scans every point of the store per query in local mode."""

    def __init__(self, store: MetadataStore, tantivy: TantivyResource, qdrant: QdrantResource,
                 embedder: EmbeddingResource, config: IndexingConfig, *, vectors_in_memory: bool = False,
                 vector_cache: ServingVectors | None = None) -> None:
        self.store, self.tantivy, self.qdrant, self.embedder, self.config = store, tantivy, qdrant, embedder, config
        self.vectors_in_memory = vectors_in_memory
        self.vector_cache = vector_cache or ServingVectors()
        self._manifest_cache: dict[str, dict[str, str]] = {}

    def search(self, query: str, *, repo: str, snapshot: str, mode: SearchMode = "hybrid",
               limit: int | None = None) -> list[SearchHit]:
        if mode not in SEARCH_MODES:
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"search mode {mode!r} is unknown", input=mode,
                                 fix="use one of: " + ", ".join(SEARCH_MODES))
        if limit is None:
            limit = self.config.search.default_limit
        elif isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"limit {limit!r} is out of range", input="limit",
                                 fix="give a whole number of hits, 1 or more")
        parsed = parse_query(query)
        # The serving head is read once: both rankings of a hybrid answer come from the same snapshot even
        # when a run publishes a new one meanwhile.
        head = self._require_serving(repo, snapshot)
        if mode == "lexical":
            hits = self.lexical(parsed, repo, snapshot, limit, head)
        elif mode == "vector":
            hits = self.vector(parsed, repo, snapshot, limit, head)
        else:
            hits = self._hybrid(parsed, repo, snapshot, limit, head)
        return self._with_summaries(hits, repo, snapshot, head)

    def _hybrid(self, parsed: LexicalQuery, repo: str, snapshot: str, limit: int,
                head: PublishedSnapshot) -> list[SearchHit]:
        settings = self.config.search
        candidates = limit * settings.candidate_multiplier
        # Lexical candidates enter the fusion without their snippets: finding a long unit's best window
        # tokenizes every line, most of the hybrid path's time for candidates that are mostly not shown.
        matches = self._lexical_matches(parsed, repo, snapshot, candidates, head)
        fused = reciprocal_rank_fusion(
            [([self._lexical_hit(match, parsed, with_snippet=False) for match in matches], settings.lexical_weight),
             (self.vector(parsed, repo, snapshot, candidates, head), settings.vector_weight)],
            k=settings.rrf_k, limit=limit, show_from=1,  # at chunk precision where the vector side has the chunk
        )
        by_range = {}
        for match in matches:
            by_range.setdefault((match.path, match.start_line, match.end_line), match)
        return [self._with_lexical_snippet(hit, by_range, parsed) for hit in fused]

    def lexical(self, query: str | LexicalQuery, repo: str, snapshot: str, limit: int,
                head: PublishedSnapshot | None = None) -> list[SearchHit]:
        """Lexical hits as of `head` (default: the serving head, read now)."""
        parsed = parse_query(query) if isinstance(query, str) else query
        head = head or self._require_serving(repo, snapshot)
        return [self._lexical_hit(match, parsed)
                for match in self._lexical_matches(parsed, repo, snapshot, limit, head)]

    def _lexical_matches(self, parsed: LexicalQuery, repo: str, snapshot: str, limit: int,
                         head: PublishedSnapshot) -> list[LexicalMatch]:
        return self.tantivy.search(repo, snapshot, head.manifest_id, parsed, limit, self.config.lexical)

    def _with_lexical_snippet(self, hit: SearchHit, by_range: dict[tuple[str, int, int], LexicalMatch],
                              query: LexicalQuery) -> SearchHit:
        """A fused hit shown as a lexical candidate (snippet_start_line 0: vector hits always have theirs)
        gets the snippet it was fused without."""
        if hit.snippet_start_line:
            return hit
        shown = self._lexical_hit(by_range[(hit.path, hit.start_line, hit.end_line)], query)
        return replace(hit, snippet=shown.snippet, snippet_start_line=shown.snippet_start_line)

    def vector(self, query: str | LexicalQuery, repo: str, snapshot: str, limit: int,
               head: PublishedSnapshot | None = None) -> list[SearchHit]:
        """Vector hits as of `head` (default: the serving head, read now)."""
        parsed = parse_query(query) if isinstance(query, str) else query
        text = parsed.ranking_text()
        if not text.strip():
            return []  # only filters: nothing to embed
        head = head or self._require_serving(repo, snapshot)
        serving = self._serving_files(repo, snapshot, head)
        collection = self.qdrant.collection_name(self.embedder.model_id())
        settings = self.config.search
        # Over-fetch: points of a run in progress (not yet serving) or not yet deleted are dropped below,
        # and so are hits the query's filters or phrases exclude.
        fetch = limit * settings.candidate_multiplier * (settings.filtered_fetch_multiplier if parsed.filters else 1)
        if self.vectors_in_memory:
            vectors = self.vector_cache.get(self.qdrant, collection, repo, snapshot, head.manifest_id, serving)
            fetched = vectors.search(self._embed_query(text), fetch)
        else:
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

        with _QUERY_THREADS_LOCK:
            previous = torch.get_num_threads()
            torch.set_num_threads(min(previous, self.config.search.query_threads))
            try:
                return self.embedder.embed_query(text)
            finally:
                torch.set_num_threads(previous)

    def _with_summaries(self, hits: list[SearchHit], repo: str, snapshot: str,
                        head: PublishedSnapshot) -> list[SearchHit]:
        """Hits in a function that the served index summarized (enrichment) carry the summary: what an agent
        reads before opening the code. Read per query: a later run at the same commit may fill in summaries."""
        in_definitions = [i for i, hit in enumerate(hits) if hit.symbol]
        if not in_definitions:
            return hits
        enrichment = self.store.lexical_enrichment(repo, snapshot, head.manifest_id)
        if enrichment is None:
            return hits
        serving = self._serving_files(repo, snapshot, head)
        key_of: dict[int, tuple[str, str]] = {}
        for i in in_definitions:
            hit = hits[i]
            blob = serving.get(hit.path)
            if blob is not None:
                key_of[i] = doc_key(blob, self.config), document_symbol_id(hit.path, hit.symbol)
        summaries = self.store.symbol_summaries(enrichment.enrichment, {key for key, _ in key_of.values()})
        shown = list(hits)
        for i, key in key_of.items():
            if key in summaries:
                shown[i] = replace(hits[i], summary=summaries[key])
        return shown

    def _vector_hit(self, match: VectorMatch, text: str) -> SearchHit:
        payload = match.payload
        return SearchHit(payload["path"], payload["start_line"], payload["end_line"], round(match.score, 6),
                         payload.get("symbol"), text, payload.get("language"), "vector", payload["start_line"],
                         payload.get("kind") or "")

    def _lexical_hit(self, match: LexicalMatch, query: LexicalQuery, *, with_snippet: bool = True) -> SearchHit:
        """The unit as the hit; its snippet is the unit, or the best window of a long one (without one:
        empty, snippet_start_line 0, for `_with_lexical_snippet` to fill in)."""
        symbol = qualified_symbol_id(match.path, match.symbol_id) if match.symbol_id else None
        if not with_snippet:
            return SearchHit(match.path, match.start_line, match.end_line, round(match.score, 6), symbol, "",
                             match.language, "lexical", 0, match.kind)
        settings = self.config.lexical
        lines = split_lines(match.text)
        first, last = 1, len(lines)
        if last > settings.snippet_max_lines:
            first, last = best_window(match.text, query.ranking_text(), settings.snippet_context_lines)
        offset = match.start_line - 1
        return SearchHit(match.path, match.start_line, match.end_line, round(match.score, 6), symbol,
                         snippet(lines, first, last, settings.snippet_max_line_chars), match.language, "lexical",
                         first + offset, match.kind)

    def _require_serving(self, repo: str, snapshot: str) -> PublishedSnapshot:
        return require_serving(self.store, repo, snapshot)  # navigation's error, shared: one wording

    def _serving_files(self, repo: str, snapshot: str, serving: PublishedSnapshot | None = None) -> dict[str, str]:
        """path → blob of the serving manifest, cached per manifest (manifests never change)."""
        serving = serving or self._require_serving(repo, snapshot)
        if serving.manifest_id not in self._manifest_cache:
            self._manifest_cache[serving.manifest_id] = {
                e.path: e.blob_sha for e in self.store.load_manifest(serving.manifest_id) if e.indexed}
        return self._manifest_cache[serving.manifest_id]
