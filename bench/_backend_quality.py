"""Faster embedding backends against torch on the same chunk texts: speed, and how much the vectors move.

Speed is the backend's `embed` of the texts against the raw torch `SentenceTransformer.encode` reference of
the same run. Quality is the cosine between each text's backend vector and its torch vector, and how much
of torch's top-10 over the whole corpus each backend keeps for a few code-search questions (recall against
labelled answers is bench/retrieval's job: run it with CODEGRAPH_EMBEDDING__BACKEND set).
"""

from __future__ import annotations

import time

import numpy as np

# Developer questions of the kind codegraph answers; written for attrs (the default corpus) but the overlap
# figure only needs real questions, not answers, so any Python corpus does.
QUERIES = (
    "validate an attribute value with a custom validator",
    "convert an instance to a dictionary recursively",
    "make instances immutable so assignment raises an error",
    "generate __slots__ for a class",
    "compare two instances for equality field by field",
    "default value built by a factory for mutable defaults",
    "run a converter when an attribute is set",
    "copy an instance with some fields changed",
    "resolve string type annotations to real types",
    "custom repr of the generated class",
)
TOP_K = 10


def compare_backends(embeddings, texts: list[str], torch_vectors: np.ndarray, raw_encode_s: float,
                     backends: list[str]) -> dict:
    """Figures per backend, keyed for print_figures; `embeddings` is the torch EmbeddingResource of the run."""
    from resources.embeddings import EmbeddingResource

    torch_queries = embeddings.embed(list(QUERIES))
    torch_top = _top_k(torch_queries, torch_vectors)
    figures: dict[str, object] = {}
    for backend in backends:
        variant = EmbeddingResource(model=embeddings.model, device=embeddings.device, batch_size=embeddings.batch_size,
                                    threads=embeddings.threads, onnx_cache_dir=embeddings.onnx_cache_dir,
                                    backend=backend)
        began = time.perf_counter()
        variant.embed(["export (when not cached) and load"])
        prepare_s = time.perf_counter() - began
        began = time.perf_counter()
        vectors = variant.embed(texts)
        embed_s = time.perf_counter() - began
        agreement = np.sum(vectors * torch_vectors, axis=1)  # rows are L2-normalized: this is the cosine
        top = _top_k(variant.embed(list(QUERIES)), vectors)
        overlap = np.mean([len(set(a) & set(b)) / TOP_K for a, b in zip(torch_top, top)])
        same_first = np.mean([a[0] == b[0] for a, b in zip(torch_top, top)])
        figures[f"{backend} embed_s (same texts)"] = (
            f"{embed_s:.2f} s, {len(texts) / embed_s:.1f} chunks/s (export + load {prepare_s:.1f} s, apart)")
        figures[f"{backend} ÷ raw torch encode"] = round(embed_s / raw_encode_s, 3)
        figures[f"{backend} cosine to torch (min / mean)"] = f"{agreement.min():.4f} / {agreement.mean():.4f}"
        figures[f"{backend} top-{TOP_K} overlap with torch ({len(QUERIES)} queries)"] = (
            f"{overlap:.2f} (same first hit: {same_first:.2f})")
    return figures


def _top_k(queries: np.ndarray, corpus: np.ndarray) -> list[list[int]]:
    scores = queries @ corpus.T
    return [list(np.argsort(-row, kind="stable")[:TOP_K]) for row in scores]
