"""IR documents cross the parse workers' pipes pickled: every field must survive, in order."""

from __future__ import annotations

import dataclasses
import pickle

from codegraph_assets.core.ir_model import Edge, EdgeKind, Occurrence, Span, Symbol, SymbolRole
from codegraph_assets.core.ir_parser import parse_document

SOURCE = b'''import os


class Greeter:
    """Says hello."""

    def greet(self, name: str) -> str:
        return os.path.join("hello", name)
'''


def test_a_parsed_document_survives_pickling_unchanged():
    document = parse_document(SOURCE, "python")
    assert document.symbols and document.occurrences
    restored = pickle.loads(pickle.dumps(document, protocol=pickle.HIGHEST_PROTOCOL))
    assert restored == document
    assert all(type(o.roles) is SymbolRole for o in restored.occurrences)


def test_each_positional_reduce_names_every_field_in_order():
    examples = [Span(1, 2, 3, 4), Symbol("G#", "class", "G", Span(1, 0, 1, 1), Span(1, 0, 9, 0), "p", "sig", "doc"),
                Occurrence("G#", Span(5, 6, 7, 8), SymbolRole.DEFINITION | SymbolRole.READ)]
    for example in examples:
        _, args = example.__reduce__()
        assert args == tuple(getattr(example, f.name) for f in dataclasses.fields(example)), type(example)


def test_edges_reduce_positionally_too():
    edge = Edge(EdgeKind.CALLS, "f().", "g().", Span(1, 2, 3, 4))
    _, args = edge.__reduce__()
    assert args == tuple(getattr(edge, f.name) for f in dataclasses.fields(edge))
