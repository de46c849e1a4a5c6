"""AST-aware chunking over real tree-sitter IR."""

from __future__ import annotations

from codegraph_assets.config import ChunkingConfig
from codegraph_assets.core.chunking import chunk_document
from codegraph_assets.core.ir_parser import parse_document

SOURCE = b'''"""Module docstring."""
import os

LIMIT = 3


class Cart:
    """A shopping cart."""

    def __init__(self):
        self.items = []

    def add(self, sku):
        self.items.append(sku)


def checkout(cart):
    total = 0
    for item in cart.items:
        total += 1
    return total
'''


def _chunks(source: bytes, **budget):
    config = ChunkingConfig(**budget)
    return chunk_document(source, parse_document(source, "python"), "python", config)


def _covered(chunks) -> set[int]:
    return {line for c in chunks for line in range(c.start_line, c.end_line + 1)}


def test_every_line_belongs_to_a_chunk():
    lines = SOURCE.decode().splitlines()
    for budget in (dict(), dict(max_chunk_chars=100, min_chunk_chars=0), dict(max_chunk_chars=100)):
        chunks = _chunks(SOURCE, **budget)
        assert _covered(chunks) == set(range(1, len(lines) + 1))


def test_definitions_become_their_own_chunks_when_they_fit():
    chunks = _chunks(SOURCE, max_chunk_chars=400, min_chunk_chars=0)
    by_symbol = {c.symbol_id: c for c in chunks}
    assert by_symbol["checkout()."].start_line == 17
    assert by_symbol["checkout()."].end_line == 21
    assert by_symbol["Cart#"].text.startswith("class Cart:")


def test_an_oversized_class_splits_at_its_methods():
    chunks = _chunks(SOURCE, max_chunk_chars=100, min_chunk_chars=0)
    symbols = [c.symbol_id for c in chunks]
    assert "Cart#__init__()." in symbols and "Cart#add()." in symbols
    assert "Cart#" not in [c.symbol_id for c in chunks if c.kind == "method"]


def test_small_neighbours_merge_under_the_budget():
    merged = _chunks(SOURCE, max_chunk_chars=1500, min_chunk_chars=200)
    apart = _chunks(SOURCE, max_chunk_chars=1500, min_chunk_chars=0)
    assert len(merged) < len(apart)
    assert all(len(c.text) <= 1500 for c in merged)


def test_embed_text_carries_a_scope_header_that_display_text_does_not():
    chunk = next(c for c in _chunks(SOURCE, max_chunk_chars=400, min_chunk_chars=0) if c.symbol_id == "checkout().")
    assert chunk.embed_text.startswith("python function checkout().")
    assert chunk.embed_text.endswith(chunk.text)
    assert not chunk.text.startswith("python")


def test_chunk_hash_depends_on_content_not_on_path():
    a = _chunks(SOURCE)
    b = _chunks(SOURCE)
    assert [c.chunk_hash for c in a] == [c.chunk_hash for c in b]
    changed = _chunks(SOURCE.replace(b"total += 1", b"total += 2"))
    assert {c.chunk_hash for c in changed} != {c.chunk_hash for c in a}


def test_files_without_a_grammar_get_line_windows():
    text = "\n".join(f"line {i}" for i in range(1, 101)).encode()
    chunks = chunk_document(text, None, "markdown", ChunkingConfig(text_window_lines=40))
    assert [(c.start_line, c.end_line) for c in chunks] == [(1, 40), (41, 80), (81, 100)]
    assert {c.kind for c in chunks} == {"text"}


def test_blank_files_have_no_chunks():
    assert chunk_document(b"\n\n   \n", None, "text", ChunkingConfig()) == []
