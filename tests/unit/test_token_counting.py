"""The chunk budget's token counts are the packaged model's own: the per-word WordPiece cache that counts
plain ASCII lines gives exactly what the real fast tokenizer gives, line by line, on real code and on
lines made to break its assumptions (non-ASCII, control characters, added tokens, overlong words)."""

from __future__ import annotations

import pickle
import sysconfig
from pathlib import Path

from tokenizers import Tokenizer

from codegraph_assets.config import ChunkingConfig
from codegraph_assets.core.text_lines import split_lines
from codegraph_assets.core.token_budget import HuggingFaceTokenCounter
from resources.embedding_tokens import token_budget
from resources.embeddings import EmbeddingResource

TRICKY_LINES = [
    "", " ", "\t\t", "x", "def __init__(self, *args, **kwargs) -> None:  # noqa: E501",
    "    return f'{a!r:>10}' + \"\\\\\" + `b` | ~c ^ d @ e",
    "café = 'naïve résumé'", "名前 = '日本語のテキスト'", "emoji = '🙂👍'", "x = 'Straße'  # ß",
    "control \x01 char\x7fhere", "form\x0cfeed and vertical\x0btab", "crlf line\r", "nul\x00byte",
    "tokens [MASK] and [CLS] inside", "lowercase [mask] [sep] too", "[UNK]",
    "a" * 150, "identifier_" * 30, "x1y2z3" * 40, "0x" + "f" * 120,
    "ÀÉÎÕÜ", "ｆｕｌｌｗｉｄｔｈ", "\u200bzero\u200bwidth", "tab\tseparated\tvalues",
    "Summary: Returns the total.\n", "a line\nholding a newline", "\n", "İstanbul KELVIN \u212a",
]


def _reference(tokenizer: Tokenizer, lines: list[str]) -> list[int]:
    """The tokenizer asked about every line: what the cache must reproduce."""
    return [len(e.ids) for e in tokenizer.encode_batch_fast(lines, add_special_tokens=False)]


def _model_counter() -> HuggingFaceTokenCounter:
    counter = token_budget(EmbeddingResource(model="all-MiniLM-L6-v2"), ChunkingConfig()).counter
    assert isinstance(counter, HuggingFaceTokenCounter) and counter.additive_over_lines
    # A counter of its own (its cache starts empty), on a tokenizer of its own.
    return HuggingFaceTokenCounter(Tokenizer.from_str(counter.tokenizer.to_str()))


def test_line_counts_equal_the_tokenizers_on_real_standard_library_code():
    counter = _model_counter()
    reference = Tokenizer.from_str(counter.tokenizer.to_str())
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts)[::40]
    assert len(files) > 30
    for path in files:
        lines = split_lines(path.read_bytes().decode("utf-8", "replace"))
        assert counter.line_tokens(lines) == _reference(reference, lines), path
    words = counter._words  # the cache did the counting, and learned the words its vocabulary lacks
    assert words is not None and len(words.tokens_of) > len(words.vocabulary) + 1000


def test_line_counts_equal_the_tokenizers_on_lines_outside_plain_ascii():
    counter = _model_counter()
    reference = Tokenizer.from_str(counter.tokenizer.to_str())
    assert counter.line_tokens(TRICKY_LINES) == _reference(reference, TRICKY_LINES)
    for line in TRICKY_LINES:  # alone as well: an added token elsewhere in a call must not hide anything
        assert counter.line_tokens([line]) == _reference(reference, [line]), repr(line)
    # A "line" holding newlines (the enrichment summaries are counted so) must not shift the lines after it.
    summarized = ["Summary: Returns the total.\n", "Summary: Adds an\nitem.\n", "def total(self):",
                  "    return sum(item.price for item in self.items)"]
    assert counter.line_tokens(summarized) == _reference(reference, summarized)


def test_whole_text_counts_include_the_special_tokens_and_sum_the_lines():
    counter = _model_counter()
    reference = Tokenizer.from_str(counter.tokenizer.to_str())
    for text in ["python method Cart.add\ndef add(self, item):", "\n".join(TRICKY_LINES), "", "[SEP]\nx"]:
        assert counter.count(text) == len(reference.encode(text).ids), repr(text)


def test_a_full_word_cache_is_replaced_and_counting_goes_on():
    counter = _model_counter()
    reference = Tokenizer.from_str(counter.tokenizer.to_str())
    words = counter._words
    assert words.tokens_of["return"] == 1  # seeded: a word the vocabulary holds whole is one token
    words.max_words = len(words.vocabulary) + 5
    lines = ["qzxwv bvcxz wqpzk", "zzqqvvxx kkjjhhgg yyttrree ppoollkk mmnnbbvv", "qzxwv xyzzyplugh"]
    assert counter.line_tokens(lines) == _reference(reference, lines)
    assert counter.line_tokens(["frobnicatezz"]) == _reference(reference, ["frobnicatezz"])
    assert set(words.tokens_of) - set(words.vocabulary) == {"frobnicatezz"}  # the full cache was dropped


def test_the_counter_pickles_as_its_tokenizer_without_its_cache():
    counter = _model_counter()
    counter.line_tokens(["qzxwv bvcxz"])
    copy = pickle.loads(pickle.dumps(counter))
    assert "qzxwv" in counter._words.tokens_of and "qzxwv" not in copy._words.tokens_of
    assert copy.line_tokens(TRICKY_LINES) == counter.line_tokens(TRICKY_LINES)
