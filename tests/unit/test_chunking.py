"""AST-aware chunking over real tree-sitter IR."""

from __future__ import annotations

from codegraph_assets.config import ChunkingConfig
from codegraph_assets.core.chunking import chunk_document
from codegraph_assets.core.ir_parser import count_lines, parse_document
from codegraph_assets.core.text_lines import split_lines

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
    lines = split_lines(SOURCE.decode())
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


# A form-feed line (as in CPython's stdlib) and a U+2028 inside a string: both are line breaks to
# str.splitlines() but not to tree-sitter, git or editors.
UNUSUAL_BREAKS = (
    'def first():\n    return "a\u2028b"\n\n\f\ndef second():\n    return 2\n\n\ndef third():\n    return 3\n'
).encode()


def test_chunks_stay_aligned_with_symbols_across_form_feeds_and_unicode_separators():
    ir = parse_document(UNUSUAL_BREAKS, "python")
    chunks = chunk_document(UNUSUAL_BREAKS, ir, "python", ChunkingConfig(min_chunk_chars=0))
    by_symbol = {c.symbol_id: c for c in chunks}
    for symbol in ir.symbols:
        chunk = by_symbol[symbol.symbol_id]
        assert chunk.start_line <= symbol.enclosing.start_line <= chunk.end_line
        def_line = chunk.text.split("\n")[symbol.enclosing.start_line - chunk.start_line]
        assert def_line.startswith(f"def {symbol.name}(")
    assert [s.name for s in ir.symbols] == ["first", "second", "third"]


def test_chunks_cover_exactly_the_lines_the_ir_counts():
    content = UNUSUAL_BREAKS.replace(b"\n", b"\r\n") + b"x = '\xff\xfe'\r\n"
    ir = parse_document(content, "python")
    chunks = chunk_document(content, ir, "python", ChunkingConfig(min_chunk_chars=0))
    assert _covered(chunks) == set(range(1, ir.line_count + 1))
    assert len(split_lines(content.decode("utf-8", "replace"))) == count_lines(content)


def test_crlf_files_have_no_carriage_returns_in_chunks():
    crlf = SOURCE.replace(b"\n", b"\r\n")
    for chunks in (_chunks(crlf, min_chunk_chars=0), chunk_document(crlf, None, "text", ChunkingConfig())):
        assert chunks and not any("\r" in c.text or "\r" in c.embed_text for c in chunks)
    assert [c.text for c in _chunks(crlf, min_chunk_chars=0)] == [c.text for c in _chunks(SOURCE, min_chunk_chars=0)]


def test_a_minified_one_line_file_is_cut_into_pieces_within_the_budget():
    line = "".join(f"var v{i}={i};" for i in range(20_000))[:100_000]
    config = ChunkingConfig()
    chunks = chunk_document(line.encode() + b"\n", None, "javascript", config)
    assert len(chunks) > 1
    assert all(len(c.text) <= config.max_chunk_chars for c in chunks)
    assert "".join(c.text for c in chunks) == line
    assert {(c.start_line, c.end_line) for c in chunks} == {(1, 1)}
    assert len({c.chunk_hash for c in chunks}) == len(chunks)


def test_an_oversized_line_inside_a_definition_is_cut_under_its_scope_header():
    source = b"def big():\n    return '" + b"x" * 5_000 + b"'\n\n\ndef small():\n    return 1\n"
    config = ChunkingConfig(max_chunk_chars=1000, min_chunk_chars=0)
    chunks = chunk_document(source, parse_document(source, "python"), "python", config)
    assert all(len(c.text) <= config.max_chunk_chars for c in chunks)
    pieces = [c for c in chunks if c.start_line == c.end_line == 2]
    assert len(pieces) > 1 and "".join(c.text for c in pieces) == split_lines(source.decode())[1]
    assert all(c.embed_text.startswith("python function big().") for c in pieces)
    assert next(c for c in chunks if c.symbol_id == "small().").text.lstrip("\n").startswith("def small():")
    assert _covered(chunks) == set(range(1, 7))


def test_blank_lines_join_a_neighbour_only_within_the_budget():
    body = "\n".join(f"    x{i} = {i:03d}" for i in range(20))  # 19 lines of 13 chars + 1: 280 chars
    source = f"def full():\n{body}\n" + "\n" * 30 + "def other():\n    return 1\n"
    config = ChunkingConfig(max_chunk_chars=300, min_chunk_chars=0)
    chunks = chunk_document(source.encode(), parse_document(source.encode(), "python"), "python", config)
    assert all(len(c.text) <= config.max_chunk_chars for c in chunks)
    assert [(c.start_line, c.end_line, c.symbol_id) for c in chunks] == [(1, 21, "full()."), (22, 53, "other().")]
