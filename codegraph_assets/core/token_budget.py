"""How many of the embedding model's tokens one chunk may hold, and how to count them.

The local model's own fast tokenizer counts exactly (all-MiniLM-L6-v2 reads 256 word pieces, [CLS] and
[SEP] included; whatever lies beyond is silently dropped by the model). A model without a local tokenizer
(an OpenAI-compatible endpoint) is estimated from characters, `chunking.chars_per_token`, rounded up.
The budget's tag names the counter and the limit: it is part of every chunk-set key, so chunks cut for
one model are never reused for another that counts differently.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass
from typing import Protocol


class TokenCounter(Protocol):
    additive_over_lines: bool  # a text's count is exactly its lines' counts summed (plus the special tokens)

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
    """Counts with a `tokenizers.Tokenizer` (the fast tokenizer of a local model), no truncation.

    A BERT-style tokenizer (the packaged model's) is additive over lines: no token spans a newline, so a
    text's count is its lines' counts summed (`additive_over_lines`). Its lines of plain ASCII are counted
    by `_WordPieceWords` without calling the tokenizer per line: the same counts at several times the speed,
    the tokenizer being asked once per distinct word."""

    def __init__(self, tokenizer) -> None:
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self.tokenizer = tokenizer
        self.additive_over_lines = _bert_style(tokenizer)
        self._words = _WordPieceWords.for_tokenizer(tokenizer) if self.additive_over_lines else None
        self._special_tokens = len(tokenizer.encode("").ids)

    def __reduce__(self):
        # To a chunking child: the tokenizer, not the word cache it rebuilds in a few seconds.
        return HuggingFaceTokenCounter, (self.tokenizer,)

    def line_tokens(self, lines: list[str]) -> list[int]:
        if self._words is not None:
            counted = self._words.line_tokens(lines)
            if counted is not None:
                return counted
        return self._tokenizer_line_tokens(lines)

    def _tokenizer_line_tokens(self, lines: list[str]) -> list[int]:
        # The fast variant skips the character offsets, which counting never reads (same ids, ~10 % less time).
        encodings = self.tokenizer.encode_batch_fast(lines, add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    def count(self, text: str) -> int:
        if self._words is not None:
            counted = self._words.line_tokens(text.split("\n"))
            if counted is not None:
                return self._special_tokens + sum(counted)
        return len(self.tokenizer.encode(text).ids)

    def cut(self, text: str, max_tokens: int) -> list[str]:
        offsets = self.tokenizer.encode(text, add_special_tokens=False).offsets
        if len(offsets) <= max_tokens:
            return [text]
        starts = [0] + [offsets[i][0] for i in range(max_tokens, len(offsets), max_tokens)]
        return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]


def _bert_style(tokenizer) -> bool:
    """Whether a text's tokens are exactly its lines' tokens summed, with nothing for the newlines: true of
    BERT-style tokenizers (WordPiece words, cut at whitespace and punctuation by BertPreTokenizer after a
    character-by-character BertNormalizer), so no token ever spans a newline."""
    from tokenizers import models, normalizers, pre_tokenizers

    return (isinstance(tokenizer.model, models.WordPiece)
            and isinstance(tokenizer.pre_tokenizer, pre_tokenizers.BertPreTokenizer)
            and (tokenizer.normalizer is None or isinstance(tokenizer.normalizer, normalizers.BertNormalizer)))


# A line of printable ASCII, tabs and carriage returns: BertNormalizer changes nothing in it but case, and
# BertPreTokenizer cuts it into runs of letters and digits and single punctuation characters.
_PLAIN_ASCII = re.compile(r"[\t\r -~]*")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
_PUNCTUATION_ONLY = str.maketrans("", "", string.ascii_letters + string.digits + " \t\r")


class _WordPieceWords:
    """Line counts of a BERT-style tokenizer from a per-word cache: on a plain ASCII line the tokens are one
    per punctuation character plus each word's WordPiece count, which depends on the word alone. Words new
    to the cache are counted by the tokenizer itself, in one batch per call; a line of anything else
    (non-ASCII, control characters) is counted by the tokenizer, and so is every line of a text holding one
    of the tokenizer's added tokens (`[MASK]` is one token, not three)."""

    def __init__(self, tokenizer, added_tokens: list[str], lowercase: bool) -> None:
        self.tokenizer = tokenizer
        self.max_words = 500_000  # the cache is dropped past this (a vocabulary of code identifiers, ~50 MB)
        self.added_tokens = added_tokens
        self.lowercase = lowercase  # words are looked up as the normalizer leaves them
        # A word the vocabulary holds whole is one token (WordPiece takes the longest match first): those
        # need no tokenizer call, which spares each new process most of its cache's warm-up.
        self.vocabulary = {word: 1 for word in tokenizer.get_vocab() if _ASCII_WORD.fullmatch(word)
                           and (word.islower() or word.isdigit() or not lowercase)}
        self.tokens_of: dict[str, int] = dict(self.vocabulary)

    @classmethod
    def for_tokenizer(cls, tokenizer) -> _WordPieceWords | None:
        """None when the tokenizer breaks an assumption above: an ASCII punctuation character or space that
        is not exactly one token, or zero (here the per-line tokenizer stays the only counter)."""
        punctuation = [len(e.ids) for e in tokenizer.encode_batch_fast(list(string.punctuation),
                                                                       add_special_tokens=False)]
        blanks = [len(e.ids) for e in tokenizer.encode_batch_fast([" ", "\t", "\r", ""], add_special_tokens=False)]
        if set(punctuation) != {1} or any(blanks):
            return None
        added = sorted({token.content.lower() for token in tokenizer.get_added_tokens_decoder().values()})
        return cls(tokenizer, added, lowercase=getattr(tokenizer.normalizer, "lowercase", False))

    def line_tokens(self, lines: list[str]) -> list[int] | None:
        """Each line's tokens; None when a line holds an added token (the caller asks the tokenizer)."""
        lowered = [line.lower() for line in lines]
        joined = "\n".join(lowered)
        if any(token in joined for token in self.added_tokens):
            return None
        words_of = lowered if self.lowercase else lines
        tokens_of = self.tokens_of
        plain, words, punctuation_only = _PLAIN_ASCII.fullmatch, _ASCII_WORD.findall, _PUNCTUATION_ONLY
        counts: list[int] = []
        unknown: list[int] = []  # plain lines with a word new to the cache
        others: list[int] = []  # lines the tokenizer counts
        for index, (line, normalized) in enumerate(zip(lines, words_of)):
            if not plain(line):
                others.append(index)
                counts.append(0)
                continue
            try:
                counts.append(sum(map(tokens_of.__getitem__, words(normalized)))
                              + len(line.translate(punctuation_only)))
            except KeyError:
                unknown.append(index)
                counts.append(0)
        if unknown:
            tokens_of = self._learn([word for index in unknown for word in words(words_of[index])])
            for index in unknown:
                counts[index] = (sum(map(tokens_of.__getitem__, words(words_of[index])))
                                 + len(lines[index].translate(punctuation_only)))
        if others:
            encodings = self.tokenizer.encode_batch_fast([lines[i] for i in others], add_special_tokens=False)
            for index, encoding in zip(others, encodings):
                counts[index] = len(encoding.ids)
        return counts

    def _learn(self, words: list[str]) -> dict[str, int]:
        """The cache, holding every one of `words`. A full cache is replaced, not cleared, so another thread
        counting with the old one meanwhile still finds its words there."""
        tokens_of = self.tokens_of
        new = list(set(words).difference(tokens_of))
        if not new:
            return tokens_of
        if len(tokens_of) + len(new) > self.max_words:
            tokens_of = self.tokens_of = dict(self.vocabulary)
        for word, encoding in zip(new, self.tokenizer.encode_batch_fast(new, add_special_tokens=False)):
            tokens_of[word] = len(encoding.ids)
        return tokens_of


@dataclass(frozen=True)
class EstimatedTokenCounter:
    """chars / chars_per_token, rounded up: for models whose tokenizer is not at hand."""

    chars_per_token: float
    additive_over_lines = False  # each line is rounded up on its own

    def line_tokens(self, lines: list[str]) -> list[int]:
        return [math.ceil(len(line) / self.chars_per_token) for line in lines]

    def count(self, text: str) -> int:
        return math.ceil(len(text) / self.chars_per_token)

    def cut(self, text: str, max_tokens: int) -> list[str]:
        size = max(int(max_tokens * self.chars_per_token), 1)
        return [text[i:i + size] for i in range(0, max(len(text), 1), size)]
