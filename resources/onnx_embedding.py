"""ONNX Runtime backends for local sentence-transformers models: exported here, from the local weights.

`sentence-transformers`' own ONNX backend needs `optimum-onnx`, which pins transformers below the
version codegraph runs on, so the export is done directly: torch.onnx (dynamo exporter) turns the
model's transformer into ONNX, onnxruntime runs it, and the pooling and normalization of the model's
sentence-transformers modules are applied in numpy. `onnx-int8` is the same graph with its weight
matrices quantized to int8 per channel (onnxruntime dynamic quantization). Exports are cached under
`cache_dir/<model folder>@<weights fingerprint>/<backend>.onnx`, so a model is exported once per
machine, never downloaded, and a retrained model gets its own export.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.file_lock import exclusive_file_lock

ONNX_BACKENDS = ("onnx", "onnx-int8")
# The transformer's inputs; a BERT-style graph uses all three, others may keep fewer.
_MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_TRANSFORMER_MODULE = "sentence_transformers.models.Transformer"
_POOLING_MODULE = "sentence_transformers.models.Pooling"
_NORMALIZE_MODULE = "sentence_transformers.models.Normalize"
_POOLING_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}

_LOADED_ENCODERS: dict[tuple[str, str, int], OnnxSentenceEncoder] = {}
_EXPORTS: dict[tuple[str, str, str, str], Path] = {}  # (folder, fingerprint, backend, cache) → file, checked once
_LOAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class SentenceModelLayout:
    """What a sentence-transformers folder does around its transformer: truncation and pooling."""

    max_seq_length: int
    pooling: str  # "mean" or "cls"
    dimension: int


def read_layout(folder: Path) -> SentenceModelLayout:
    """The layout of a Transformer → Pooling (→ Normalize) model; anything else has no ONNX path here."""
    modules = json.loads((folder / "modules.json").read_text()) if (folder / "modules.json").is_file() else []
    kinds = [module["type"] for module in modules]
    if kinds[:2] != [_TRANSFORMER_MODULE, _POOLING_MODULE] or set(kinds[2:]) - {_NORMALIZE_MODULE}:
        raise _unsupported(folder, f"its modules are {kinds or 'not listed (no modules.json)'}")
    pooling_config = json.loads((folder / modules[1]["path"] / "config.json").read_text())
    modes = [mode for key, mode in _POOLING_MODES.items() if pooling_config.get(key)]
    enabled = [key for key, value in pooling_config.items() if key.startswith("pooling_mode") and value]
    if len(modes) != 1 or len(enabled) != 1:
        raise _unsupported(folder, f"it pools with {enabled}")
    bert_config = json.loads((folder / "sentence_bert_config.json").read_text())
    return SentenceModelLayout(int(bert_config["max_seq_length"]), modes[0],
                               int(pooling_config["word_embedding_dimension"]))


def exported_model(folder: Path, fingerprint: str, backend: str, cache_dir: Path) -> Path:
    """The cached ONNX file of `folder` for `backend`, exported (once, under a lock) when missing."""
    key = (str(folder), fingerprint, backend, str(cache_dir))
    if key not in _EXPORTS:
        _EXPORTS[key] = _export_once(folder, fingerprint, backend, cache_dir)
    return _EXPORTS[key]


def _export_once(folder: Path, fingerprint: str, backend: str, cache_dir: Path) -> Path:
    read_layout(folder)  # refuses a model the encoder could not pool before spending an export on it
    target = cache_dir / f"{folder.name}@{fingerprint}" / f"{backend}.onnx"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Another process may be exporting the same model: the second waits and then finds the file.
    with exclusive_file_lock(target.parent / ".export.lock"):
        full_precision = target.parent / "onnx.onnx"
        if not full_precision.is_file():
            _write_atomically(full_precision, lambda path: _export(folder, path))
        if backend == "onnx-int8" and not target.is_file():
            _write_atomically(target, lambda path: _quantize(full_precision, path))
    return target


class OnnxSentenceEncoder:
    """Sentence embeddings from an exported transformer: tokenize, run, pool, L2-normalize."""

    def __init__(self, folder: Path, model_path: Path, device: str, threads: int) -> None:
        onnxruntime = _require("onnxruntime", folder)
        from transformers import AutoTokenizer

        self.layout = read_layout(folder)
        self._tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # 0 = onnxruntime's choice: one per physical core
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda") and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self._session = onnxruntime.InferenceSession(str(model_path), options, providers=providers)
        self._inputs = [i.name for i in self._session.get_inputs() if i.name in _MODEL_INPUTS]

    @property
    def dimension(self) -> int:
        return self.layout.dimension

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """One L2-normalized float32 row per text, in input order (callers sort by length beforehand)."""
        rows = [self._encode_batch(texts[start:start + batch_size]) for start in range(0, len(texts), batch_size)]
        return np.concatenate(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer(texts, padding=True, truncation=True, max_length=self.layout.max_seq_length,
                                  return_tensors="np")
        feeds = {name: encoded[name].astype(np.int64) for name in self._inputs}
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        if self.layout.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = encoded["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)
        pooled = pooled.astype(np.float32)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.finfo(np.float32).tiny)


def load_onnx_encoder(folder: Path, model_path: Path, device: str, threads: int) -> OnnxSentenceEncoder:
    """The encoder of one exported file on one device, built once per process."""
    key = (str(model_path), device, threads)
    with _LOAD_LOCK:
        encoder = _LOADED_ENCODERS.get(key)
        if encoder is None:
            encoder = OnnxSentenceEncoder(folder, model_path, device, threads)
            _LOADED_ENCODERS[key] = encoder
    return encoder


def _export(folder: Path, path: Path) -> None:
    _require("onnxscript", folder)  # the dynamo exporter writes its graph through onnxscript
    import torch
    from transformers import AutoModel, AutoTokenizer

    # Eager attention: the exported graph then holds plain MatMul/Softmax that every runtime has.
    model = AutoModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    # Two rows of different lengths, so that batch and sequence stay symbolic in the traced graph.
    sample = tokenizer(["an example sentence", "a second, longer example sentence for the export"],
                       padding=True, return_tensors="pt")
    names = [name for name in _MODEL_INPUTS if name in sample]
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state

    # The exporter warns about axis names and tree specs it handles itself; they are noise in a run log.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(LastHiddenState().eval(), tuple(sample[name] for name in names), str(path), dynamo=True,
                          input_names=names, output_names=["last_hidden_state"], external_data=False,
                          dynamic_shapes={name: {0: batch, 1: sequence} if name in names else None
                                          for name in _MODEL_INPUTS}, verbose=False)


def _quantize(full_precision: Path, path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel int8 weights: per-tensor scales cost far more agreement with the float model.
    quantize_dynamic(str(full_precision), str(path), weight_type=QuantType.QInt8, per_channel=True)


def _write_atomically(target: Path, write) -> None:
    """Write through a temp file beside `target` and rename: a killed export leaves no half file."""
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".onnx", dir=target.parent)
    os.close(handle)
    try:
        write(Path(temp_name))
        os.replace(temp_name, target)
    finally:
        Path(temp_name).unlink(missing_ok=True)


def _require(module: str, folder: Path):
    try:
        return __import__(module)
    except ImportError:
        raise CodegraphError(
            ErrorCode.INVALID_MODEL,
            f"the ONNX embedding backend for {folder} needs the Python package '{module}', which is not installed.",
            input=f"backend for {folder}",
            fix="Install the onnx extra (`pip install -c requirements.lock -e '.[onnx]'`), or set the embedding "
            "backend to 'torch'.",
        ) from None


def _unsupported(folder: Path, problem: str) -> CodegraphError:
    return CodegraphError(
        ErrorCode.INVALID_MODEL,
        f"the local model at {folder} cannot run on an ONNX backend: {problem}; only Transformer → Pooling "
        "(mean or CLS) → optional Normalize models are exported.",
        input=str(folder),
        fix="Set the embedding backend to 'torch' for this model.",
    )
