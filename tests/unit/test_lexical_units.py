"""Lexical units: one per function or method, the code around them in windows, cut along real IR symbols."""

from __future__ import annotations

from codegraph_assets.core.ir_parser import parse_document
from codegraph_assets.core.lexical_units import lexical_units
from tests.unit.chunking_samples import SAMPLES

PYTHON = '''"""Shopping carts."""
import os

LIMIT = 3


class Cart:
    """A shopping cart."""

    currency = "EUR"

    def __init__(self):
        self.items = []

    # Adds one item; refuses more than LIMIT.
    def add(self, sku):
        """Add an item."""
        self.items.append(sku)


def checkout(cart):
    total = 0
    for item in cart.items:
        total += 1
    return total
'''


def _units(source: str, language: str = "python", **sizes):
    options = {"window_lines": 40, "max_unit_lines": 400, **sizes}
    return lexical_units(source, parse_document(source.encode(), language).symbols, **options)


def test_each_function_and_method_is_one_unit_and_a_class_keeps_its_own_code():
    units = {u.symbol_id: u for u in _units(PYTHON)}
    assert (units["checkout()."].start_line, units["checkout()."].end_line) == (21, 25)
    assert (units["Cart#__init__()."].start_line, units["Cart#__init__()."].end_line) == (12, 13)
    cart = units["Cart#"]
    assert cart.text.startswith("class Cart:") and "currency" in cart.text and "def " not in cart.text
    assert units[None].kind == "module" and "import os" in units[None].text


def test_the_comment_block_above_a_definition_joins_its_unit_and_docs():
    add = next(u for u in _units(PYTHON) if u.symbol_id == "Cart#add().")
    assert add.start_line == 15 and add.text.lstrip().startswith("# Adds one item")
    assert add.names == ("add",) and add.signatures == ("def add(self, sku)",)
    assert "Add an item." in add.docs and "Adds one item; refuses more than LIMIT." in add.docs


def test_units_of_other_languages_follow_their_methods():
    units = _units(SAMPLES["typescript"], "typescript")
    retry = next(u for u in units if u.symbol_id == "Uploader#retryFailedUpload().")
    assert retry.text.lstrip().startswith("async retryFailedUpload(")
    assert any(u.symbol_id == "parseHTTPResponse()." for u in units)


def test_every_non_blank_line_is_in_a_unit_and_long_code_is_windowed():
    source = "\n".join(f"x{i} = {i}" for i in range(100)) + "\n"
    units = _units(source, window_lines=30)
    assert [(u.start_line, u.end_line) for u in units] == [(1, 30), (31, 60), (61, 90), (91, 100)]
    covered = {n for u in _units(PYTHON) for n in range(u.start_line, u.end_line + 1)}
    assert all(n in covered for n, line in enumerate(PYTHON.split("\n"), 1) if line.strip())


def test_a_text_file_is_line_windows_and_an_empty_one_still_has_a_unit():
    text = "\n".join(f"line {i}" for i in range(50))
    assert [(u.start_line, u.end_line, u.kind) for u in lexical_units(text, None, window_lines=20, max_unit_lines=400)] \
        == [(1, 20, "text"), (21, 40, "text"), (41, 50, "text")]
    assert [(u.start_line, u.text) for u in lexical_units("", None, window_lines=20, max_unit_lines=400)] == [(1, "")]
