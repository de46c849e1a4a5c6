"""QdrantResource: chunk vectors in Qdrant, local mode (a directory) by default or a server by URL.

One collection per embedding model; each point is one chunk at one path of one (repo, snapshot),
with a deterministic id, so re-running a partition upserts nothing new and never duplicates.
Local mode locks its directory for one client: the resource opens the client once per step and
closes it at teardown so a search or the next step can open it again.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import numpy as np
from pydantic import PrivateAttr
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from codegraph_assets.config import codegraph_home
from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.file_lock import exclusive_file_lock
from resources.openai_compat import display_url

_POINT_NAMESPACE = uuid.UUID("6f1c7c1e-25a4-4a3e-9a52-0c0de9a9f001")
_SCROLL_PAGE = 1000
_LOCAL_SCROLL_PAGE = 10_000  # local mode sorts every point's id per page: fewer, larger pages
_UPSERT_BATCH = 256


@dataclass(frozen=True, slots=True)
class ChunkPoint:
    """A chunk placed in a snapshot, ready to store."""

    repo: str
    snapshot: str
    path: str
    blob_sha: str  # with the path, what a reader checks against the published manifest
    ordinal: int  # position of the chunk in its file: the same text twice in a file is two points
    chunk_hash: str
    start_line: int
    end_line: int
    symbol: str | None
    language: str | None
    # Set when the embedded text is not the chunk's own (enrichment adds its function's summary): the key of
    # that text's vector, part of the point's identity so that adding or changing a summary replaces the point.
    embed_key: str | None = None

    @property
    def point_id(self) -> str:
        key = f"{self.repo}\0{self.snapshot}\0{self.path}\0{self.blob_sha}\0{self.ordinal}\0{self.chunk_hash}"
        if self.embed_key:
            key += f"\0{self.embed_key}"
        return str(uuid.uuid5(_POINT_NAMESPACE, key))

    @property
    def vector_key(self) -> str:
        """The embedding cache key of what this point's vector embeds."""
        return self.embed_key or self.chunk_hash

    def payload(self) -> dict:
        return {"repo": self.repo, "snapshot": self.snapshot, "path": self.path, "blob": self.blob_sha,
                "start_line": self.start_line,
                "end_line": self.end_line, "symbol": self.symbol, "chunk_hash": self.chunk_hash,
                "language": self.language}


@dataclass(frozen=True, slots=True)
class VectorMatch:
    score: float
    payload: dict


class QdrantResource(dg.ConfigurableResource):
    """Qdrant in local mode (`path`, default $CODEGRAPH_HOME/qdrant) or server mode (`url`)."""

    path: str = ""
    url: str | None = None
    api_key: str | None = None  # wire as dg.EnvVar("QDRANT_API_KEY"); never logged
    collection_prefix: str = "codegraph"
    timeout_s: int = 60
    _client: QdrantClient | None = PrivateAttr(default=None)
    # Local mode's client is plain Python over shared dicts and arrays, not made for concurrent calls: a
    # server's search threads read a local store one at a time (a server's client is thread-safe).
    _client_lock: threading.RLock = PrivateAttr(default_factory=threading.RLock)

    def teardown_after_execution(self, context) -> None:
        self.close()

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the store for one writer. Local mode locks its directory for one client, so a second run's
        vector step waits here (a file lock beside the store, which the OS releases if a run dies) instead
        of failing, and the client is closed before the next writer gets in. A server needs no lock."""
        if self.url:
            yield
            return
        Path(self.location).parent.mkdir(parents=True, exist_ok=True)
        with exclusive_file_lock(self.writer_lock_path):
            try:
                yield
            finally:
                self.close()

    @property
    def writer_lock_path(self) -> Path:
        """The lock `writing()` holds, beside a local store; `codegraph serve` takes it to copy the store."""
        store = Path(self.location)
        return store.with_name(f"{store.name}.writer.lock")

    @property
    def location(self) -> str:
        return self.url or self.path or str(codegraph_home() / "qdrant")

    def collection_name(self, model_id: str) -> str:
        return f"{self.collection_prefix}_{re.sub(r'[^A-Za-z0-9_-]', '_', model_id)}"

    def ensure_collection(self, collection: str, dimension: Callable[[], int]) -> None:
        """Create the collection if absent; `dimension` is only called then (it may load a model)."""
        client = self._connect()
        with self._errors(f"create collection {collection}"):
            if not client.collection_exists(collection):
                client.create_collection(collection, vectors_config=models.VectorParams(
                    size=dimension(), distance=models.Distance.COSINE))
            if self.url:
                # A server filters searches by partition through these indexes (local mode ignores them);
                # checked on an existing collection too, since one made by an older codegraph may lack them.
                indexed = client.get_collection(collection).payload_schema or {}
                for field in ("repo", "snapshot"):
                    if field not in indexed:
                        client.create_payload_index(collection, field, models.PayloadSchemaType.KEYWORD,
                                                    wait=True)

    def collection_dimension(self, collection: str) -> int | None:
        client = self._connect()
        with self._errors(f"read collection {collection}"):
            if not client.collection_exists(collection):
                return None
            return client.get_collection(collection).config.params.vectors.size

    def point_files(self, collection: str, repo: str, snapshot: str) -> dict[str, tuple[str, str]]:
        """Every point of the partition: id → (path, blob) of the file it was cut from."""
        client = self._connect()
        files: dict[str, tuple[str, str]] = {}
        offset = None
        with self._errors(f"list points of {repo}|{snapshot}"):
            if not client.collection_exists(collection):
                return files
            while True:
                points, offset = client.scroll(collection, scroll_filter=_partition_filter(repo, snapshot),
                                               limit=_SCROLL_PAGE, offset=offset, with_payload=["path", "blob"],
                                               with_vectors=False)
                files.update((str(p.id), (p.payload["path"], p.payload.get("blob", ""))) for p in points)
                if offset is None:
                    return files

    def upsert(self, collection: str, points: Sequence[ChunkPoint], vectors: Sequence[np.ndarray]) -> None:
        client = self._connect()
        with self._errors(f"upsert {len(points)} points into {collection}"):
            for start in range(0, len(points), _UPSERT_BATCH):
                batch = [
                    models.PointStruct(id=p.point_id, vector=np.asarray(v, dtype=np.float32).tolist(),
                                       payload=p.payload())
                    for p, v in zip(points[start:start + _UPSERT_BATCH], vectors[start:start + _UPSERT_BATCH])
                ]
                client.upsert(collection, points=batch, wait=True)

    def delete(self, collection: str, point_ids: Iterable[str]) -> None:
        ids = list(point_ids)
        if not ids:
            return
        with self._errors(f"delete {len(ids)} points from {collection}"):
            self._connect().delete(collection, points_selector=models.PointIdsList(points=ids), wait=True)

    def partitions(self, collection: str) -> set[tuple[str, str]]:
        """Every (repo, snapshot) with points in the collection (a full scroll: for maintenance only)."""
        client = self._connect()
        found: set[tuple[str, str]] = set()
        offset = None
        with self._errors(f"list partitions of {collection}"):
            if not client.collection_exists(collection):
                return found
            while True:
                points, offset = client.scroll(collection, limit=_SCROLL_PAGE, offset=offset,
                                               with_payload=["repo", "snapshot"], with_vectors=False)
                found.update((p.payload["repo"], p.payload["snapshot"]) for p in points)
                if offset is None:
                    return found

    def delete_partition(self, collection: str, repo: str, snapshot: str) -> None:
        with self._errors(f"delete the points of {repo}|{snapshot}"):
            self._connect().delete(collection, points_selector=models.FilterSelector(
                filter=_partition_filter(repo, snapshot)), wait=True)

    def count(self, collection: str, repo: str, snapshot: str) -> int:
        client = self._connect()
        with self._errors(f"count points of {repo}|{snapshot}"):
            if not client.collection_exists(collection):
                return 0
            return client.count(collection, count_filter=_partition_filter(repo, snapshot), exact=True).count

    def partition_vectors(self, collection: str, repo: str, snapshot: str,
                          keep: Callable[[dict], bool]) -> tuple[list[dict], np.ndarray]:
        """The payloads and vectors (one float32 row each, as stored: unit length in a cosine collection) of
        the partition's points that `keep` admits, in the store's id order. A full scroll: for a reader
        that loads a partition once and answers many queries from memory."""
        client = self._connect()
        payloads: list[dict] = []
        rows: list[np.ndarray] = []  # float32 rows: a list of Python floats costs 8x the memory
        offset = None
        # Local mode evaluates a scroll's filter over every point of the collection for every page (17 of
        # 20 s for 22,000 points); unfiltered pages checked here cost one pass. A server filters by index.
        server_filter = _partition_filter(repo, snapshot) if self.url else None
        page = _SCROLL_PAGE if self.url else _LOCAL_SCROLL_PAGE
        with self._errors(f"read the vectors of {repo}|{snapshot}"), self._one_caller():
            if client.collection_exists(collection):
                while True:
                    points, offset = client.scroll(collection, scroll_filter=server_filter, limit=page,
                                                   offset=offset, with_payload=True, with_vectors=True)
                    for point in points:
                        payload = dict(point.payload or {})
                        if payload.get("repo") == repo and payload.get("snapshot") == snapshot and keep(payload):
                            payloads.append(payload)
                            rows.append(np.asarray(point.vector, dtype=np.float32))
                    if offset is None:
                        break
                dimension = client.get_collection(collection).config.params.vectors.size
            else:
                dimension = 0
        return payloads, (np.stack(rows) if rows else np.zeros((0, dimension), dtype=np.float32))

    def search(self, collection: str, vector: np.ndarray, repo: str, snapshot: str, limit: int) -> list[VectorMatch]:
        client = self._connect()
        with self._errors(f"search {collection}"), self._one_caller():
            if not client.collection_exists(collection):
                return []
            result = client.query_points(collection, query=np.asarray(vector, dtype=np.float32).tolist(),
                                         query_filter=_partition_filter(repo, snapshot), limit=limit,
                                         with_payload=True)
        return [VectorMatch(float(p.score), dict(p.payload or {})) for p in result.points]

    def _connect(self) -> QdrantClient:
        with self._client_lock:  # two threads opening one local store would lock each other out
            if self._client is None:
                try:
                    if self.url:
                        self._client = QdrantClient(url=self.url, api_key=self.api_key, timeout=self.timeout_s)
                    else:
                        Path(self.location).mkdir(parents=True, exist_ok=True)
                        self._client = QdrantClient(path=self.location)
                except RuntimeError as exc:  # local mode: "already accessed by another instance"
                    raise CodegraphError(
                        ErrorCode.INDEX_LOCKED, f"the Qdrant local store {self.location} is open in another client "
                        "(another run or search, in this process or another)",
                        input=self.location, fix="retry when the other run or search has finished, "
                        "or run a Qdrant server and set its url",
                    ) from exc
            return self._client

    @contextmanager
    def _one_caller(self) -> Iterator[None]:
        """Around a read that server threads may make at once: one at a time in local mode."""
        if self.url:
            yield
            return
        with self._client_lock:
            yield

    def _errors(self, action: str):
        return _QdrantErrors(action, display_url(self.url) if self.url else self.location)


# Failures that can pass by themselves: the connection (refused, reset, timed out: the REST client wraps them in
# ResponseHandlingException), a busy local store.
_TRANSIENT_FAILURES = (ResponseHandlingException, OSError, TimeoutError, sqlite3.OperationalError)
_AUTH_STATUSES = (401, 403)


class _QdrantErrors:
    """Classify client failures. TRANSIENT: the server unreachable or overloaded (a connection error, 429, 5xx);
    PERMANENT: what a retry would only repeat: a rejected API key (401/403), a request the server refuses
    (another 4xx), anything else the client raises (a bad argument, a broken local store)."""

    def __init__(self, action: str, where: str) -> None:
        self.action, self.where = action, where

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or isinstance(exc, CodegraphError) or not isinstance(exc, Exception):
            return False
        if isinstance(exc, OSError) and getattr(exc, "errno", None) == 28:
            raise CodegraphError(ErrorCode.DISK_FULL, f"Qdrant could not {self.action}: disk full",
                                 input=self.where, fix="free disk space under the Qdrant directory") from exc
        problem = f"Qdrant could not {self.action}: {exc.__class__.__name__}: {str(exc)[:300]}"
        status = exc.status_code if isinstance(exc, UnexpectedResponse) else None
        if status in _AUTH_STATUSES:
            raise CodegraphError(ErrorCode.VECTOR_INDEX_ERROR, problem, input=self.where,
                                 fix="set QDRANT_API_KEY to a key this Qdrant server accepts") from exc
        if isinstance(exc, _TRANSIENT_FAILURES) or (status is not None and (status == 429 or status >= 500)):
            raise CodegraphError(ErrorCode.QDRANT_ERROR, problem, input=self.where,
                                 fix="check the Qdrant server is reachable and healthy; the step retries") from exc
        raise CodegraphError(ErrorCode.VECTOR_INDEX_ERROR, problem, input=self.where,
                             fix="check the Qdrant url and version (a server older than this client refuses "
                             "some requests), or remove a damaged local directory to rebuild it") from exc


def _partition_filter(repo: str, snapshot: str) -> models.Filter:
    return models.Filter(must=[
        models.FieldCondition(key="repo", match=models.MatchValue(value=repo)),
        models.FieldCondition(key="snapshot", match=models.MatchValue(value=snapshot)),
    ])
