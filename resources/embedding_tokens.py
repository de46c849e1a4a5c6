"""The chunk token budget of the configured embedding model (see core/token_budget.py).

A local model's budget is its own: the fast tokenizer in its folder (`tokenizer.json`) and its input
length (`max_seq_length` of sentence_bert_config.json), capped by `chunking.max_chunk_tokens`. A model
without those files, or one behind an OpenAI-compatible endpoint, is estimated from characters.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from codegraph_assets.config import ChunkingConfig
from codegraph_assets.core.token_budget import EstimatedTokenCounter, HuggingFaceTokenCounter, TokenBudget
from resources.embeddings import EmbeddingResource, resolve_local_model_dir

_TOKENIZER_FILE = "tokenizer.json"
_SENTENCE_CONFIG = "sentence_bert_config.json"


def token_budget(embedder: EmbeddingResource, chunking: ChunkingConfig, *, reserve_tokens: int = 0) -> TokenBudget:
    """The budget of one chunk: the model's window (capped by the config) less `reserve_tokens` kept free for
    text put before the chunk when it is embedded (enrichment summaries)."""
    if embedder.provider == "local":
        folder = resolve_local_model_dir(embedder.model)
        if (folder / _TOKENIZER_FILE).is_file():
            window = min(_model_input_tokens(folder) or chunking.max_chunk_tokens, chunking.max_chunk_tokens)
            limit = _after_reserve(window, reserve_tokens)
            return TokenBudget(limit, _local_counter(str(folder.resolve())), f"{embedder.model_id()}/{limit}")
    counter = EstimatedTokenCounter(chunking.chars_per_token)
    limit = _after_reserve(chunking.max_chunk_tokens, reserve_tokens)
    return TokenBudget(limit, counter, f"chars/{chunking.chars_per_token:g}/{limit}")


def _after_reserve(window: int, reserve_tokens: int) -> int:
    """At least a quarter of the window stays for code, whatever the reserve."""
    return max(window - reserve_tokens, window // 4)


@functools.cache
def _local_counter(folder: str) -> HuggingFaceTokenCounter:
    from tokenizers import Tokenizer

    return HuggingFaceTokenCounter(Tokenizer.from_file(str(Path(folder) / _TOKENIZER_FILE)))


def _model_input_tokens(folder: Path) -> int | None:
    """The longest input the model reads (sentence-transformers truncates the rest)."""
    config = folder / _SENTENCE_CONFIG
    if not config.is_file():
        return None
    value = json.loads(config.read_text(encoding="utf-8")).get("max_seq_length")
    return int(value) if value else None
