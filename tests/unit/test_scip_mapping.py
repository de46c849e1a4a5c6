"""IR → SCIP mapping rules: symbol strings, ranges, role bits, cross-file ids and streaming."""

from __future__ import annotations

import io

from codegraph_assets.core import scip_pb
from codegraph_assets.core.ir_model import DocumentIR, Occurrence, Span, Symbol, SymbolRole
from codegraph_assets.core.scip_export import (
    SnapshotDocument,
    scip_descriptors,
    scip_package,
    scip_range,
    scip_roles,
    scip_symbol,
    write_scip_index,
)

PACKAGE = scip_package("shop", "abc123")


def _symbol(symbol_id: str, name: str, line: int) -> Symbol:
    return Symbol(symbol_id, "function", name, Span(line, 4, line, 4 + len(name)), Span(line, 0, line + 1, 10))


def test_path_components_that_are_not_simple_identifiers_are_backquoted():
    assert scip_symbol(PACKAGE, "src/my pkg/cart.py", "Cart#total().") == \
        "codegraph . shop abc123 src/`my pkg`/`cart.py`/Cart#total()."
    assert scip_symbol(PACKAGE, "a/we`ird.go", "f().") == "codegraph . shop abc123 a/`we``ird.go`/f()."


def test_numbered_duplicates_keep_their_number_as_a_disambiguator_only_when_they_are_methods():
    methods = {"Text#spans(+1).", "load(+2)."}

    def spelled(symbol_id: str) -> str:
        return scip_descriptors(symbol_id, methods.__contains__)

    assert spelled("Text#spans(+1).") == "Text#spans(+1)."  # SCIP's own method disambiguator
    assert spelled("load(+2).inner().") == "load(+2).inner()."
    assert spelled("A(+1)#") == "`A(+1)`#"  # `A(+1)#` is no SCIP descriptor
    assert spelled("A(+1)#run().") == "`A(+1)`#run()."
    assert spelled("X(+1).") == "`X(+1)`."  # a term: `X(+1).` would read as a method
    assert spelled("net(+1)/") == "`net(+1)`/"
    assert spelled("`a b`(+1)#") == "`a b(+1)`#"
    assert spelled("Cart#total().") == "Cart#total()."


def test_names_that_are_not_ascii_identifiers_are_backquoted():
    assert scip_descriptors("café().", lambda _prefix: False) == "`café`()."
    assert scip_descriptors("`we``ird`#", lambda _prefix: False) == "`we``ird`#"
    assert scip_descriptors("no id", lambda _prefix: False) == "`no id`."  # never misread: one escaped term


def test_package_fields_double_spaces_and_use_a_dot_for_empty():
    assert scip_package("my repo", "") == "codegraph . my  repo ."


def test_ranges_are_zero_based_and_three_long_on_one_line():
    assert scip_range(Span(1, 4, 1, 9)) == [0, 4, 9]
    assert scip_range(Span(3, 0, 7, 1)) == [2, 0, 6, 1]


def test_the_reference_bit_is_dropped_because_scip_reads_0x10_as_generated():
    assert scip_roles(SymbolRole.REFERENCE | SymbolRole.READ) == scip_pb.ROLE_READ_ACCESS
    assert scip_roles(SymbolRole.DEFINITION) == scip_pb.ROLE_DEFINITION
    assert scip_roles(SymbolRole.IMPORT | SymbolRole.TEST | SymbolRole.WRITE) == \
        scip_pb.ROLE_IMPORT | scip_pb.ROLE_TEST | scip_pb.ROLE_WRITE_ACCESS


def _write(documents: list[SnapshotDocument]) -> tuple[scip_pb.Index, object]:
    out = io.BytesIO()
    stats = write_scip_index(out, scip_pb.Metadata(project_root="file:///shop"), PACKAGE, documents,
                             frozenset(d.path for d in documents))
    return scip_pb.Index.FromString(out.getvalue()), stats


def test_a_reference_by_repository_qualified_id_points_at_the_defining_document():
    helper = _symbol("helpers/format().", "format", 1)  # a namespace descriptor inside the id: `helpers/`
    defining = SnapshotDocument("lib/util.py", DocumentIR("python", symbols=[helper], occurrences=[
        Occurrence(helper.symbol_id, helper.span, SymbolRole.DEFINITION)]))
    using = SnapshotDocument("app.py", DocumentIR("python", occurrences=[
        Occurrence("lib/util.py/helpers/format().", Span(3, 0, 3, 6), SymbolRole.REFERENCE | SymbolRole.READ),
        Occurrence("print", Span(4, 0, 4, 5), SymbolRole.REFERENCE | SymbolRole.READ),  # never resolved
    ]))
    index, stats = _write([defining, using])
    (reference,) = index.documents[1].occurrences
    assert reference.symbol == "codegraph . shop abc123 lib/`util.py`/helpers/format()."
    assert list(reference.range) == [2, 0, 6]
    assert reference.symbol_roles == scip_pb.ROLE_READ_ACCESS
    assert (stats.occurrences, stats.unresolved_occurrences) == (2, 1)


def test_metadata_comes_first_and_each_document_is_streamed_on_its_own():
    documents = [SnapshotDocument(f"m{i}.py", DocumentIR("python", symbols=[_symbol("f().", "f", 1)]))
                 for i in range(3)]
    out = io.BytesIO()
    write_scip_index(out, scip_pb.Metadata(project_root="file:///shop"), PACKAGE, documents,
                     frozenset(d.path for d in documents))
    data = out.getvalue()
    assert data[0] == (1 << 3) | 2  # field 1 (metadata), length-delimited, before any document
    index = scip_pb.Index.FromString(data)
    assert [d.relative_path for d in index.documents] == ["m0.py", "m1.py", "m2.py"]
    assert index.documents[0].position_encoding == scip_pb.POSITION_ENCODING_UTF8_BYTES


def test_a_reference_to_another_documents_duplicate_is_spelled_by_that_documents_kinds():
    def constant(symbol_id: str, line: int) -> Symbol:
        return Symbol(symbol_id, "constant", "LIMIT", Span(line, 0, line, 5), Span(line, 0, line, 9))

    defining = SnapshotDocument("lib.py", DocumentIR("python", symbols=[
        _symbol("load().", "load", 1), _symbol("load(+1).", "load", 3), constant("LIMIT.", 5),
        constant("LIMIT(+1).", 6)]))
    using = SnapshotDocument("app.py", DocumentIR("python", occurrences=[
        Occurrence("lib.py/load(+1).", Span(1, 0, 1, 4), SymbolRole.READ),
        Occurrence("lib.py/LIMIT(+1).", Span(2, 0, 2, 5), SymbolRole.READ)]))
    index, _stats = _write([using, defining])  # the user first: kinds are read before any document is written
    assert [o.symbol for o in index.documents[0].occurrences] == [
        "codegraph . shop abc123 `lib.py`/load(+1).", "codegraph . shop abc123 `lib.py`/`LIMIT(+1)`."]
    assert [s.symbol for s in index.documents[1].symbols][1:] == [
        "codegraph . shop abc123 `lib.py`/load(+1).", "codegraph . shop abc123 `lib.py`/LIMIT.",
        "codegraph . shop abc123 `lib.py`/`LIMIT(+1)`."]
