"""AST-aware chunking over real tree-sitter IR, budgeted with the packaged model's real tokenizer.

The invariants hold on real Python (standard-library modules) and on code in every other parsed language:
every line is in a chunk, no embedded text exceeds the budget, a definition that fits is never cut, and a
boundary inside a leaf node (a string, a comment) only cuts one that cannot fit.
"""

from __future__ import annotations

import argparse
import inspect
import json.decoder
from pathlib import Path

import pytest

from codegraph_assets.config import ChunkingConfig
from codegraph_assets.core.chunking import chunk_document, chunk_set_key
from codegraph_assets.core.ir_grammars import grammar_for, parser_for
from codegraph_assets.core.ir_model import DocumentIR
from codegraph_assets.core.ir_parser import count_lines, parse_document
from codegraph_assets.core.syntax_tiles import node_lines, read_outline, syntax_outline
from codegraph_assets.core.text_lines import split_lines
from codegraph_assets.core.token_budget import EstimatedTokenCounter
from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.embedding_tokens import token_budget
from resources.embeddings import EmbeddingResource
from tests.unit.chunking_samples import SAMPLES

MODEL = EmbeddingResource(model="all-MiniLM-L6-v2")
REAL_PYTHON = [Path(inspect.getsourcefile(module)) for module in (argparse, json.decoder)]
REAL_PYTHON.append(Path(__file__).parents[2] / "codegraph_assets" / "core" / "chunking.py")
# The model's own 256 tokens, and a small budget that forces functions to split.
BUDGETS = [ChunkingConfig(), ChunkingConfig(max_chunk_tokens=96, min_chunk_tokens=24, max_header_tokens=32)]


def _chunks(source: bytes, language: str, config: ChunkingConfig):
    budget = token_budget(MODEL, config)
    return chunk_document(source, parse_document(source, language), language, config, budget), budget


def _cases():
    for path in REAL_PYTHON:
        yield pytest.param(path.read_bytes(), "python", id=f"python-{path.name}")
    for language, source in SAMPLES.items():
        yield pytest.param(source.encode(), language, id=language)


@pytest.mark.parametrize(("source", "language"), list(_cases()))
@pytest.mark.parametrize("config", BUDGETS, ids=["256-tokens", "96-tokens"])
def test_chunks_cover_every_line_and_fit_the_models_token_budget(source, language, config):
    chunks, budget = _chunks(source, language, config)
    covered = {line for c in chunks for line in range(c.start_line, c.end_line + 1)}
    assert covered == set(range(1, count_lines(source) + 1))
    tokenizer = budget.counter.tokenizer  # the model's real fast tokenizer, special tokens included
    assert max(len(tokenizer.encode(c.embed_text).ids) for c in chunks) <= config.max_chunk_tokens
    assert all(c.embed_text.endswith(c.text) for c in chunks)


@pytest.mark.parametrize(("source", "language"), list(_cases()))
@pytest.mark.parametrize("config", BUDGETS, ids=["256-tokens", "96-tokens"])
def test_definitions_that_fit_are_never_cut_and_leaves_only_when_they_must(source, language, config):
    chunks, budget = _chunks(source, language, config)
    lines = split_lines(source.decode())
    room = config.max_chunk_tokens - budget.special_tokens - config.max_header_tokens

    def fits(start: int, end: int) -> bool:
        return sum(budget.counter.line_tokens(lines[start - 1:end])) <= room

    for symbol in parse_document(source, language).symbols:
        start, end = symbol.enclosing.start_line, symbol.enclosing.end_line
        if fits(start, end):
            assert any(c.start_line <= start and end <= c.end_line for c in chunks), symbol.symbol_id
    boundaries = {c.end_line for c in chunks if any(d.start_line == c.end_line + 1 for d in chunks)}
    for node in _nodes(_tree(source, language).root_node):
        start, end = node_lines(node)
        cut = [b for b in boundaries if start <= b < end]
        if cut and node.child_count == 0:  # a string or comment cut in the middle
            assert not fits(start, end), (node.type, start, end)


def _tree(source: bytes, language: str):
    return parser_for(grammar_for(language)).parse(source)


@pytest.mark.parametrize(("source", "language"), list(_cases()))
@pytest.mark.parametrize("config", BUDGETS, ids=["256-tokens", "96-tokens"])
def test_the_stored_outline_cuts_exactly_as_the_whole_tree_does(source, language, config):
    """The outline keeps one-line nodes whole; cut along every node of the tree instead, the chunks (lines,
    texts, hashes) are the same."""
    document = parse_document(source, language)
    whole_tree = DocumentIR(language, symbols=document.symbols, line_count=document.line_count,
                            outline=syntax_outline(_tree(source, language).root_node, whole_tree=True))
    assert len(whole_tree.outline) > len(document.outline)  # the stored one is smaller, else this proves nothing
    budget = token_budget(MODEL, config)
    assert chunk_document(source, document, language, config, budget) == \
        chunk_document(source, whole_tree, language, config, budget)


@pytest.mark.parametrize(("source", "language"), list(_cases()))
def test_the_models_tokens_of_a_chunk_are_its_headers_and_lines_summed(source, language):
    """What lets the chunker skip tokenizing each chunk again: with the packaged (BERT WordPiece) tokenizer
    a chunk's embedded text counts exactly its header's tokens plus its lines' tokens plus the special ones."""
    chunks, budget = _chunks(source, language, BUDGETS[1])
    counter = budget.counter
    for chunk in chunks:
        header = chunk.embed_text[: len(chunk.embed_text) - len(chunk.text) - 1]
        summed = counter.count(header) + sum(counter.line_tokens(split_lines(chunk.text)))
        assert counter.count(chunk.embed_text) == summed, (chunk.start_line, chunk.end_line)


def test_an_outline_reads_back_as_the_trees_multi_line_nodes_and_their_children():
    source = b"def f(a,\n      b):\n    # why\n    return a + b\n"
    root = read_outline(parse_document(source, "python").outline)
    (function,) = root.children
    assert (root.first, root.last, function.first, function.last) == (1, 4, 1, 4)
    # def, name, parameters (over two lines: its tokens kept), `:`, the comment, the one-line body (kept whole)
    assert [(n.first, n.last, n.comment, len(n.children)) for n in function.children] == [
        (1, 1, False, 0), (1, 1, False, 0), (1, 2, False, 5), (2, 2, False, 0), (3, 3, True, 0), (4, 4, False, 0)]


def _nodes(root):
    pending = [root]
    while pending:
        node = pending.pop()
        yield node
        pending.extend(node.children)


def test_a_method_that_fits_is_one_chunk_headed_by_its_scope_without_the_path():
    chunks, _ = _chunks(SAMPLES["typescript"].encode(), "typescript", ChunkingConfig())
    drain = next(c for c in chunks if c.symbol_id == "Uploader#drain().")
    assert drain.text.lstrip().startswith("async drain()")
    header = drain.embed_text[: -len(drain.text)]
    assert header.startswith("typescript method Uploader.drain\n")
    assert "class Uploader extends EventEmitter" in header  # the enclosing class, not in the chunk's text
    assert "typescript" not in drain.text and "/" not in header.split("\n")[0]


def test_pieces_of_a_split_function_carry_its_signature_in_the_header():
    config = BUDGETS[1]
    chunks, _ = _chunks(SAMPLES["go"].encode(), "go", config)
    sweep = [c for c in chunks if c.symbol_id == "Cache#Sweep()."]
    assert len(sweep) > 1
    for piece in sweep[1:]:
        assert "func (c *Cache) Sweep(now time.Time, maxRounds int) (removed int)" in piece.embed_text[: -len(piece.text)]
        assert not piece.text.lstrip().startswith("func")


def test_small_definitions_merge_and_large_ones_stay_apart():
    source = b"def a():\n    return 1\n\n\ndef b():\n    return 2\n"
    merged, _ = _chunks(source, "python", ChunkingConfig(min_chunk_tokens=64))
    apart, _ = _chunks(source, "python", ChunkingConfig(min_chunk_tokens=0))
    assert [(c.start_line, c.end_line) for c in merged] == [(1, 6)]
    assert [(c.start_line, c.end_line) for c in apart] == [(1, 4), (5, 6)]


def test_a_minified_line_is_cut_into_token_pieces_that_fit():
    line = "".join(f"var v{i}={i};" for i in range(3_000))
    config = ChunkingConfig()
    budget = token_budget(MODEL, config)
    chunks = chunk_document(line.encode() + b"\n", None, "javascript", config, budget)
    assert len(chunks) > 1 and "".join(c.text for c in chunks) == line
    assert all(budget.fits(c.embed_text) for c in chunks)
    assert {(c.start_line, c.end_line) for c in chunks} == {(1, 1)}


def test_files_without_a_grammar_get_line_windows_within_the_budget():
    text = "\n".join(f"line {i}" for i in range(1, 101)).encode()
    chunks = chunk_document(text, None, "markdown", ChunkingConfig(text_window_lines=40),
                            token_budget(MODEL, ChunkingConfig()))
    assert [(c.start_line, c.end_line) for c in chunks] == [(1, 40), (41, 80), (81, 100)]
    assert {c.kind for c in chunks} == {"text"}


def test_blank_files_have_no_chunks():
    assert chunk_document(b"\n\n   \n", None, "text", ChunkingConfig(), token_budget(MODEL, ChunkingConfig())) == []


def test_the_budget_is_the_packaged_models_own_and_names_it():
    budget = token_budget(MODEL, ChunkingConfig(max_chunk_tokens=512))
    assert budget.max_tokens == 256  # all-MiniLM-L6-v2 reads no more, whatever the config allows
    assert budget.special_tokens == 2 and "all-MiniLM-L6-v2" in budget.tag
    assert token_budget(MODEL, ChunkingConfig(max_chunk_tokens=128)).max_tokens == 128


def test_a_summary_reserve_shrinks_the_budget_and_gives_its_chunks_their_own_key():
    plain = token_budget(MODEL, ChunkingConfig())
    reserved = token_budget(MODEL, ChunkingConfig(), reserve_tokens=64)
    assert reserved.max_tokens == plain.max_tokens - 64 and reserved.tag != plain.tag
    assert token_budget(MODEL, ChunkingConfig(), reserve_tokens=1000).max_tokens == 64  # a quarter stays for code


def test_a_model_without_a_local_tokenizer_is_budgeted_by_characters():
    remote = EmbeddingResource(provider="openai", model="text-embedding-3-small", base_url="http://127.0.0.1:9/v1")
    config = ChunkingConfig(chars_per_token=4.0)
    budget = token_budget(remote, config)
    assert isinstance(budget.counter, EstimatedTokenCounter) and budget.max_tokens == config.max_chunk_tokens
    source = SAMPLES["java"].encode()
    chunks = chunk_document(source, parse_document(source, "java"), "java", config, budget)
    assert all(len(c.embed_text) <= config.max_chunk_tokens * 4.0 for c in chunks)
    assert chunk_set_key("k", budget.tag) != chunk_set_key("k", token_budget(MODEL, config).tag)


# A form-feed line (as in CPython's stdlib) and a U+2028 inside a string: both are line breaks to
# str.splitlines() but not to tree-sitter, git or editors.
UNUSUAL_BREAKS = (
    'def first():\n    return "a\u2028b"\n\n\f\ndef second():\n    return 2\n\n\ndef third():\n    return 3\n'
).encode()


def test_chunks_stay_aligned_with_symbols_across_form_feeds_and_unicode_separators():
    chunks, _ = _chunks(UNUSUAL_BREAKS, "python", ChunkingConfig(min_chunk_tokens=0))
    ir = parse_document(UNUSUAL_BREAKS, "python")
    by_symbol = {c.symbol_id: c for c in chunks}
    for symbol in ir.symbols:
        chunk = by_symbol[symbol.symbol_id]
        def_line = chunk.text.split("\n")[symbol.enclosing.start_line - chunk.start_line]
        assert def_line.startswith(f"def {symbol.name}(")


def test_crlf_files_chunk_like_lf_files_without_carriage_returns():
    source = SAMPLES["rust"].encode()
    crlf, _ = _chunks(source.replace(b"\n", b"\r\n"), "rust", BUDGETS[1])
    lf, _ = _chunks(source, "rust", BUDGETS[1])
    assert not any("\r" in c.embed_text for c in crlf)
    assert [(c.start_line, c.end_line, c.text) for c in crlf] == [(c.start_line, c.end_line, c.text) for c in lf]


def test_a_header_share_that_leaves_no_room_for_code_is_a_clear_config_error():
    config = ChunkingConfig(max_chunk_tokens=32, max_header_tokens=40)
    with pytest.raises(CodegraphError) as error:
        _chunks(SAMPLES["go"].encode(), "go", config)
    assert error.value.code is ErrorCode.INVALID_PAYLOAD and error.value.input == "chunking.max_header_tokens"
