"""The Python API: read-only search, navigation and snippets over the published indexes.

    import codegraph

    for hit in codegraph.search("retry failed uploads", repo="payments", snapshot="main"):
        print(hit.path, hit.start_line, hit.end_line, hit.symbol)

`CodeGraph` opens the stores and loads the embedding model once, then answers any number of queries, from
any number of threads; the module-level functions share one instance opened on first use. `codegraph
serve` and `codegraph mcp` answer through a `CodeGraph` too. It serves published partitions only (every
answer reads a partition's serving snapshot, the last one all four stages completed) and never writes:
the metadata store is neither created nor migrated, Tantivy indexes are immutable per manifest, and a
Qdrant local store is read through a private copy (`serving/vector_copy.py`) so indexing runs keep
writing it, and its vectors are searched from memory, a partition's serving snapshot loaded once
(`serving/vector_matrix.py`).
"""

from __future__ import annotations

import atexit
import threading
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg

from codegraph_assets.config import IndexingConfig, codegraph_home, load_indexing_config
from codegraph_assets.core.hits import SearchHit
from codegraph_assets.core.hits import snippet as cut_lines
from codegraph_assets.core.text_lines import split_lines
from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.navigation import Navigator, SymbolLocation
from codegraph_assets.resource_defs import build_resource_defs
from codegraph_assets.search import SEARCH_MODES, CodeSearch
from codegraph_assets.serving.read_only_store import open_read_only_store
from codegraph_assets.serving.served_files import ServedFiles
from codegraph_assets.serving.vector_copy import VectorReader, remove_abandoned_copies
from codegraph_assets.serving.vector_matrix import ServingVectors
from resources.metadata_store import SERVING
from resources.qdrant_store import QdrantResource

__all__ = ["CodeGraph", "Partition", "SearchHit", "Snippet", "SymbolLocation", "default_graph", "definitions",
           "partitions", "references", "search", "snippet", "symbols"]


@dataclass(frozen=True, slots=True)
class Partition:
    """A served (repo, snapshot) and the commit its serving head is at."""

    repo: str
    snapshot: str
    commit: str
    manifest_id: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Snippet:
    """Lines of one file as the partition's serving snapshot indexed it."""

    path: str
    start_line: int  # 1-based inclusive
    end_line: int
    total_lines: int
    language: str | None
    blob: str
    text: str
    truncated: bool  # more lines were asked for than serve.max_snippet_lines

    def to_json(self) -> dict:
        return asdict(self)


class CodeGraph:
    """Read-only answers over the published indexes; one per process, many queries. Close it (or use `with`)."""

    def __init__(self, config: IndexingConfig | None = None) -> None:
        self.config = config or load_indexing_config()
        self._open = ExitStack()
        try:
            resources = self._open.enter_context(dg.build_resources(build_resource_defs(self.config)))
            self.store = self._open.enter_context(closing(open_read_only_store(resources.metadata)))
            copy_root = self._copy_root()
            remove_abandoned_copies(copy_root)
            self._vectors = self._open.enter_context(closing(VectorReader(resources.qdrant, self.store, copy_root)))
            self._tantivy, self._embedder = resources.tantivy, resources.embeddings
            self._navigator = Navigator(self.store, self.config)
            self._files = ServedFiles(self.store, resources.git)
            self._search: CodeSearch | None = None
            self._vector_cache = ServingVectors()  # outlives each CodeSearch: see _engine
            # Searches run at once: each holds the Qdrant copy it reads (VectorReader.reading), so loading
            # one partition's matrix (seconds) delays only the searches that need that matrix. The lock
            # guards the swap of the current CodeSearch alone.
            self._engine_lock = threading.Lock()
            self._vectors.take_first_copy(self.config.serve.first_copy_wait_s, self.config.serve.copy_poll_s)
            if self.config.serve.warm_up:
                self._embedder.embed_query("warm up")  # loads the model now, not on the first query
        except BaseException:
            self._open.close()
            raise

    def __enter__(self) -> CodeGraph:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._open.close()

    # -- what is served ---------------------------------------------------------------------------
    def partitions(self) -> list[Partition]:
        """Every published partition, by repo and snapshot."""
        return [Partition(h.repo, h.snapshot, h.commit, h.manifest_id)
                for h in self.store.published_heads() if h.stage == SERVING]

    def partition(self, repo: str | None = None, snapshot: str | None = None) -> Partition:
        """The served partition named, or the only one that matches what is given (both may be left out)."""
        if repo is not None and snapshot is not None:
            head = self.store.serving(repo, snapshot)
            if head is not None:
                return Partition(repo, snapshot, head.commit, head.manifest_id)
            matches = []
        else:
            matches = [p for p in self.partitions()
                       if (repo is None or p.repo == repo) and (snapshot is None or p.snapshot == snapshot)]
            if len(matches) == 1:
                return matches[0]
        named = f"{repo or '*'}|{snapshot or '*'}"
        if matches:
            raise CodegraphError(
                ErrorCode.INVALID_PAYLOAD, f"{len(matches)} served partitions match {named}", input=named,
                fix="pass both repo and snapshot (the partitions list shows what is served)")
        raise CodegraphError(
            ErrorCode.PATH_NOT_FOUND, f"no published index of {named} is served here", input=named,
            fix="index it (`codegraph index PATH`, or materialize all four assets of the partition), or name a "
            "served partition (the partitions list shows them)")

    # -- answers -----------------------------------------------------------------------------------
    def search(self, query: str, *, repo: str | None = None, snapshot: str | None = None, mode: str = "hybrid",
               limit: int | None = None) -> list[SearchHit]:
        """Chunks and lines matching `query`, best first: lexical (BM25), vector (embeddings) or hybrid."""
        query = self._text("query", query, self.config.serve.max_query_chars)
        if mode not in SEARCH_MODES:
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"search mode {mode!r} is unknown", input="mode",
                                 fix="use one of: " + ", ".join(SEARCH_MODES))
        limit = self._limit(limit)
        part = self.partition(repo, snapshot)
        # Lexical never touches Qdrant: it holds whatever copy there is (None until a first one exists).
        reading = (self._vectors.reading_latest() if mode == "lexical"
                   else self._vectors.reading(part.repo, part.snapshot, part.manifest_id))
        with reading as qdrant:
            engine = self._engine(qdrant)
            return engine.search(query, repo=part.repo, snapshot=part.snapshot, mode=mode, limit=limit)

    def definitions(self, name_or_symbol: str, *, repo: str | None = None,
                    snapshot: str | None = None) -> list[SymbolLocation]:
        """Where a symbol is defined: a SCIP id, a descriptor (`Class#method().`), a dotted or a bare name."""
        name_or_symbol = self._text("name", name_or_symbol, self.config.serve.max_query_chars)
        part = self.partition(repo, snapshot)
        return self._navigator.definitions(part.repo, part.snapshot, name_or_symbol)

    def references(self, symbol: str, *, repo: str | None = None,
                   snapshot: str | None = None) -> list[SymbolLocation]:
        """Every occurrence referring to a symbol (named as for `definitions`), definitions excluded."""
        symbol = self._text("symbol", symbol, self.config.serve.max_query_chars)
        part = self.partition(repo, snapshot)
        return self._navigator.references(part.repo, part.snapshot, symbol)

    def symbols(self, path: str, *, repo: str | None = None, snapshot: str | None = None) -> list[SymbolLocation]:
        """The definitions of one file, in source order."""
        path = self._text("path", path, self.config.serve.max_query_chars)
        part = self.partition(repo, snapshot)
        return self._navigator.symbols(part.repo, part.snapshot, path)

    def snippet(self, path: str, *, repo: str | None = None, snapshot: str | None = None,
                start_line: int | None = None, end_line: int | None = None) -> Snippet:
        """Lines start_line..end_line (1-based, inclusive; default the whole file, up to
        serve.max_snippet_lines) of a file at the serving snapshot's commit."""
        path = self._text("path", path, self.config.serve.max_query_chars)
        part = self.partition(repo, snapshot)
        entry, content = self._files.read(part, path)
        lines = split_lines(content)
        start = self._line("start_line", start_line, default=1)
        if start > max(len(lines), 1):
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"start_line {start} is past the end of {path} "
                                 f"({len(lines)} lines)", input="start_line", fix=f"ask for lines 1..{len(lines)}")
        end = min(self._line("end_line", end_line, default=len(lines)), len(lines))
        if end_line is not None and end_line < start:
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"end_line {end_line} is before start_line {start}",
                                 input="end_line", fix="give end_line >= start_line")
        last = min(end, start + self.config.serve.max_snippet_lines - 1)
        text = cut_lines(lines, start, last, self.config.serve.max_snippet_line_chars)
        return Snippet(entry.path, start, last, len(lines), entry.language, entry.blob_sha, text, last < end)

    # -- internals ---------------------------------------------------------------------------------
    def _engine(self, qdrant: QdrantResource | None) -> CodeSearch:
        """The CodeSearch over `qdrant`, the copy this search holds; built anew (empty caches) only when the
        current copy changes. A search still reading an older copy gets an engine of its own, not kept."""
        with self._engine_lock:
            engine = self._search
            if engine is not None and engine.qdrant is qdrant:
                return engine
            # A local store's vectors are searched from memory (serving/vector_matrix.py): Qdrant's local
            # search scans the whole store per query. A new copy (some partition's head moved) keeps the
            # matrices of the partitions whose serving manifest it did not change.
            engine = CodeSearch(self.store, self._tantivy, qdrant, self._embedder, self.config,
                                vectors_in_memory=self._vectors.copies_local_store, vector_cache=self._vector_cache)
            if qdrant is self._vectors.latest():
                self._search = engine
            return engine

    def _copy_root(self) -> Path:
        configured = self.config.serve.qdrant_copy_dir
        return Path(configured) if configured else codegraph_home() / "serve"

    def _limit(self, limit: int | None) -> int:
        if limit is None:
            return self.config.search.default_limit
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= self.config.serve.max_limit:
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"limit {limit!r} is out of range", input="limit",
                                 fix=f"give a whole number from 1 to {self.config.serve.max_limit} (serve.max_limit)")
        return limit

    @staticmethod
    def _text(field: str, value: str, max_chars: int) -> str:
        if not isinstance(value, str) or not value.strip():
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"{field} is empty", input=field,
                                 fix=f"give a non-empty {field}")
        if len(value) > max_chars:
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"{field} has {len(value)} characters", input=field,
                                 fix=f"keep it to {max_chars} (serve.max_query_chars)")
        return value

    @staticmethod
    def _line(field: str, value: int | None, *, default: int) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"{field} {value!r} is not a line number", input=field,
                                 fix="give a whole number from 1 (lines are 1-based)")
        return value


# -- the module-level API: one shared CodeGraph, opened on first use --------------------------------
_default: CodeGraph | None = None
_default_lock = threading.Lock()


def default_graph() -> CodeGraph:
    """The process-wide CodeGraph behind `codegraph.search(...)` and friends (closed at exit)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = CodeGraph()
            atexit.register(_default.close)
        return _default


def partitions() -> list[Partition]:
    return default_graph().partitions()


def search(query: str, **options) -> list[SearchHit]:
    return default_graph().search(query, **options)


def definitions(name_or_symbol: str, **options) -> list[SymbolLocation]:
    return default_graph().definitions(name_or_symbol, **options)


def references(symbol: str, **options) -> list[SymbolLocation]:
    return default_graph().references(symbol, **options)


def symbols(path: str, **options) -> list[SymbolLocation]:
    return default_graph().symbols(path, **options)


def snippet(path: str, **options) -> Snippet:
    return default_graph().snippet(path, **options)
