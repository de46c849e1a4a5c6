"""How many of the embedding model's tokens one chunk may hold, and how to count them.

The local model's own fast tokenizer counts exactly (all-MiniLM-L6-v2 reads 256 word pieces, [CLS] and
[SEP] included; whatever lies beyond is silently dropped by the model). A model without a local tokenizer
(an OpenAI-compatible endpoint) is estimated from characters, `chunking.chars_per_token`, rounded up.
The budget's tag names the counter and the limit: it is part of every chunk-set key, so chunks cut for
one model are never reused for another that counts differently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol


class TokenCounter(Protocol):
    def line_tokens(self, lines: list[str]) -> list[int]:
        """Tokens of each line alone, special tokens excluded."""

    def count(self, text: str) -> int:
        """Tokens the model sees for `text`, special tokens included."""

    def cut(self, text: str, max_tokens: int) -> list[str]:
        """`text` in consecutive pieces of at most max_tokens tokens each (special tokens excluded)."""


@dataclass(frozen=True)
class TokenBudget:
    max_tokens: int  # the most tokens one embedded text may hold, special tokens included
    counter: TokenCounter
    tag: str  # the counter and limit, for cache keys

    @property
    def special_tokens(self) -> int:
        return self.counter.count("")

    def fits(self, text: str) -> bool:
        return self.counter.count(text) <= self.max_tokens


class HuggingFaceTokenCounter:
    """Counts with a `tokenizers.Tokenizer` (the fast tokenizer of a local model), no truncation."""

    def __init__(self, tokenizer) -> None:
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self.tokenizer = tokenizer

    def line_tokens(self, lines: list[str]) -> list[int]:
        # The fast variant skips the character offsets, which counting never reads (same ids, ~10 % less time).
        encodings = self.tokenizer.encode_batch_fast(lines, add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    def count(self, text: str) -> int:
        return len(self.tokenizer.encode(text).ids)

    def cut(self, text: str, max_tokens: int) -> list[str]:
        offsets = self.tokenizer.encode(text, add_special_tokens=False).offsets
        if len(offsets) <= max_tokens:
            return [text]
        starts = [0] + [offsets[i][0] for i in range(max_tokens, len(offsets), max_tokens)]
        return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]


@dataclass(frozen=True)
class EstimatedTokenCounter:
    """chars / chars_per_token, rounded up: for models whose tokenizer is not at hand."""

    chars_per_token: float

    def line_tokens(self, lines: list[str]) -> list[int]:
        return [math.ceil(len(line) / self.chars_per_token) for line in lines]

    def count(self, text: str) -> int:
        return math.ceil(len(text) / self.chars_per_token)

    def cut(self, text: str, max_tokens: int) -> list[str]:
        size = max(int(max_tokens * self.chars_per_token), 1)
        return [text[i:i + size] for i in range(0, max(len(text), 1), size)]
