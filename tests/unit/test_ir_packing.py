"""Occurrences and edges travel and are stored packed; a document unpacks them only when they are read."""

from __future__ import annotations

import pickle

from codegraph_assets.core.ir_model import DocumentIR, Edge, EdgeKind, Occurrence, Span, SymbolRole, needs_repository
from codegraph_assets.core.ir_packing import pack_graph, unpack_graph
from codegraph_assets.core.ir_parser import parse_document

SOURCE = b"""import os


class Greeter:
    def greet(self, name: str) -> str:
        return os.path.join("hello", name)
"""


def test_pack_and_unpack_round_trip_every_field_in_order():
    occurrences = [Occurrence("local 0", Span(1, 2, 1, 5), SymbolRole.DEFINITION | SymbolRole.WRITE),
                   Occurrence("`odd name`.", Span(3, 0, 4, 9), SymbolRole.REFERENCE | SymbolRole.READ),
                   Occurrence("café", Span(5, 1, 5, 6), SymbolRole.IMPORT)]
    edges = [Edge(EdgeKind.CALLS, "f().", "import os path join", Span(6, 4, 6, 8)),
             Edge(EdgeKind.IMPORTS, "*", "import .base", Span(1, 5, 1, 10))]
    assert unpack_graph(pack_graph(occurrences, edges)) == (occurrences, edges)
    assert unpack_graph(pack_graph([], [])) == ([], [])


def test_a_pickled_document_crosses_packed_and_unpacks_on_first_read():
    document = parse_document(SOURCE, "python")
    restored = pickle.loads(pickle.dumps(document, protocol=pickle.HIGHEST_PROTOCOL))
    assert restored._occurrences is None  # still packed: the parent stores it without unpacking
    assert restored.packed_graph() == document.packed_graph()
    assert restored.interface() == document.interface()
    assert restored == document  # comparing reads, and so unpacks, them


def test_replacing_occurrences_repacks_and_recomputes_the_interface():
    document = parse_document(SOURCE, "python")
    before = document.packed_graph()
    document.occurrences = [o for o in document.occurrences if o.roles & SymbolRole.DEFINITION]
    assert document.packed_graph() != before
    assert document.interface().externals == sorted({e.target for e in document.edges if needs_repository(e.target)})


def test_an_interface_only_document_resolves_without_occurrences():
    full = parse_document(SOURCE, "python")
    stand_in = DocumentIR.interface_only("python", full.interface())
    assert stand_in.occurrences == [] and stand_in.interface() == full.interface()


def test_the_syntax_outline_travels_and_repacks_inside_the_packed_graph():
    document = parse_document(SOURCE, "python")
    assert document.outline  # the chunker's tree comes from here, not from a second parse
    restored = pickle.loads(pickle.dumps(document, protocol=pickle.HIGHEST_PROTOCOL))
    assert restored._outline is None and restored.outline == document.outline  # read from the packed bytes
    restored.occurrences = [o for o in restored.occurrences if o.roles & SymbolRole.DEFINITION]
    assert DocumentIR.with_packed_graph(restored.packed_graph(), language="python").outline == document.outline
