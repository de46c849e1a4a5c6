"""Vector search of a Qdrant local store from memory: one matrix product per query instead of a filtered scan.

Qdrant's local mode evaluates a search's payload filter (the repo/snapshot partition) in Python over every
point of the collection, so a search costs time linear in the whole store (p50 409 ms at 21,951 points
on a loaded 2-core CPU, against 18 ms from memory: bench/latency.py). A long-lived reader (`CodeGraph`, hence `codegraph serve` and `codegraph
mcp`) instead loads the vectors of a partition's serving snapshot once, as one float32 matrix of unit rows,
and answers a query with one matrix-vector product and a partial sort of the scores: the same cosine
scores and the same order Qdrant returns for the serving snapshot's points (a tie between points of equal
score, which Qdrant leaves in no defined order, goes to the first in store id order). The matrix belongs to
one serving manifest: `ServingVectors` loads a new one when the partition's serving head moves, never for
a snapshot not yet published, and keeps the other partitions' (a reader's new copy of the store holds the
same points for them); a Qdrant server keeps answering with its own search (its payload indexes make the
filter cheap).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import numpy as np

from resources.qdrant_store import QdrantResource, VectorMatch

_EPSILON = 1.1920929e-7  # what Qdrant divides by for a zero-length query
# Above the worst float32 rounding of a dot product of unit vectors (384 terms: up to ~384 x 6e-8 = 2.3e-5
# per score, typically ~1e-6): a row that float64 would rank in the top k is never cut.
_CUT_MARGIN = 1e-4


class PartitionVectors:
    """The vectors of one partition's serving snapshot: every point whose (path, blob) the manifest holds."""

    def __init__(self, manifest_id: str, payloads: list[dict], matrix: np.ndarray) -> None:
        self.manifest_id, self.payloads, self.matrix = manifest_id, payloads, matrix

    @classmethod
    def load(cls, qdrant: QdrantResource, collection: str, repo: str, snapshot: str, manifest_id: str,
             serving_files: Mapping[str, str]) -> PartitionVectors:
        """Read the points of `serving_files` (path → blob of the serving manifest) from the store; points of
        other snapshots' files, a run in progress or files not yet deleted are left out here, once."""
        payloads, matrix = qdrant.partition_vectors(
            collection, repo, snapshot, lambda payload: serving_files.get(payload.get("path")) == payload.get("blob"))
        return cls(manifest_id, payloads, matrix)

    def __len__(self) -> int:
        return len(self.payloads)

    def search(self, vector: np.ndarray, limit: int) -> list[VectorMatch]:
        """The `limit` points most similar to `vector` by cosine, best first, scored as Qdrant scores them."""
        if not self.payloads or limit < 1:
            return []
        # Qdrant scores a float32 store against the query as float64, normalized first.
        query = np.asarray(vector, dtype=np.float32).astype(np.float64)
        norm = np.linalg.norm(query)
        query /= norm if norm != 0.0 else _EPSILON
        # A float32 pass over every row picks the candidates (half the memory traffic of float64); rows
        # within float32 rounding of the cut are kept too, then the few candidates are scored in float64.
        # einsum, not `@`: BLAS's threads contend on a busy machine (a 25,000 x 384 product: 17 ms on two
        # threads of a loaded 2-core CPU, 4 ms in einsum's single-threaded loop), and stay out of the server's
        # request threads' way.
        rough = np.einsum("ij,j->i", self.matrix, query.astype(np.float32))
        if limit < len(rough):
            cut = rough[np.argpartition(-rough, limit - 1)[limit - 1]]
            candidates = np.flatnonzero(rough >= cut - _CUT_MARGIN)
        else:
            candidates = np.arange(len(rough))
        scores = np.einsum("ij,j->i", self.matrix[candidates].astype(np.float64), query)
        # Best first; equal scores in store id order (a stable sort over ascending row numbers).
        order = np.argsort(-scores, kind="stable")[:limit]
        return [VectorMatch(float(scores[i]), self.payloads[candidates[i]]) for i in order]


class ServingVectors:
    """The loaded matrices of a long-lived reader, one per (collection, repo, snapshot), each as of the
    partition's serving manifest. Shared by every `CodeSearch` the reader builds, so a new copy of the local
    store (taken when any partition's head moves) reloads only the partitions whose head moved."""

    def __init__(self) -> None:
        self._by_partition: dict[tuple[str, str, str], PartitionVectors] = {}
        # One load per partition, however many threads ask at once; partitions load independently (the
        # Qdrant resource serializes what its client cannot do at once).
        self._load_locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def get(self, qdrant: QdrantResource, collection: str, repo: str, snapshot: str, manifest_id: str,
            serving_files: Mapping[str, str]) -> PartitionVectors:
        """The partition's vectors as of `manifest_id`, its serving manifest: loaded on first use and again
        when the serving head has moved (the previous snapshot's matrix is dropped then)."""
        key = (collection, repo, snapshot)
        loaded = self._by_partition.get(key)
        if loaded is not None and loaded.manifest_id == manifest_id:
            return loaded
        with self._locks_lock:
            load_lock = self._load_locks.setdefault(key, threading.Lock())
        with load_lock:
            loaded = self._by_partition.get(key)
            if loaded is None or loaded.manifest_id != manifest_id:
                self._by_partition.pop(key, None)  # free the old matrix before loading the new one
                loaded = PartitionVectors.load(qdrant, collection, repo, snapshot, manifest_id, serving_files)
                self._by_partition[key] = loaded
            return loaded

    def loaded(self) -> dict[tuple[str, str, str], PartitionVectors]:
        """(collection, repo, snapshot) → the matrix held for it."""
        return dict(self._by_partition)
