"""Navigation over a repository indexed through Dagster: definitions, references across files, symbols of a
file and go-to-definition, all from the serving snapshot; cross-file resolution is incremental."""

from __future__ import annotations

import dagster as dg
import pytest

from codegraph_assets.config import load_indexing_config
from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.navigation import Navigator

FILES = {
    "shop/__init__.py": "from .cart import Cart\n",
    "shop/cart.py": (
        "from .base import Model\n"
        "from .pricing import tax\n"
        "\n"
        "\n"
        "class Cart(Model):\n"
        "    def total(self, amount):\n"
        "        return tax(amount) + self.save()\n"
    ),
    "shop/base.py": "class Model:\n    def save(self):\n        return 0\n",
    "shop/pricing.py": "RATE = 2\n\n\ndef tax(amount):\n    return amount * RATE\n",
    "app.py": (
        "from shop import Cart\n"
        "from shop.pricing import tax as levy\n"
        "\n"
        "\n"
        "def checkout(tax):\n"
        "    return Cart().total(levy(1)) + tax\n"
    ),
    "tests/test_cart.py": "from shop.pricing import tax\n\n\ndef test_tax():\n    assert tax(1) == 2\n",
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """The shop repository indexed once (all four assets), its Indexer and repository."""
    from conftest import GitRepo
    from tests.indexing import Indexer

    root = tmp_path_factory.mktemp("navigation")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CODEGRAPH_HOME", str(root / "home"))
        patch.setenv("DAGSTER_HOME", str(root / "dagster"))
        repo = GitRepo(root / "shop")
        repo.commit(FILES, "initial")
        indexer = Indexer(load_indexing_config())
        indexer.register("shop", str(repo.path), ["main"])
        first = indexer.materialize("shop", "main")
        yield indexer, repo, first


def navigator(indexer) -> tuple[Navigator, object]:
    resources = dg.build_resources({"metadata": indexer.resources["metadata"]})
    initialized = resources.__enter__()
    return Navigator(initialized.metadata.open(), indexer.config), resources


@pytest.fixture
def nav(indexed):
    indexer, _repo, _ = indexed
    found, resources = navigator(indexer)
    yield found
    resources.__exit__(None, None, None)


def locations(found) -> list[tuple[str, int, int]]:
    return [(location.path, location.line, location.column) for location in found]


def test_the_ir_asset_reports_what_cross_file_resolution_bound(indexed):
    _indexer, _repo, first = indexed
    metadata = first.metadata("ir")
    assert metadata["references_resolved"] > 0
    assert metadata["references_resolved"] <= metadata["references_resolvable"]
    assert metadata["resolution_maps_written"] > 0


def test_definitions_by_name_dotted_name_and_symbol_id(nav):
    assert locations(nav.definitions("shop", "main", "tax")) == [("shop/pricing.py", 4, 4)]
    [save] = nav.definitions("shop", "main", "Model.save")
    assert (save.symbol, save.kind, save.start_line, save.end_line) == ("shop/base.py/Model#save().", "method", 2, 3)
    assert locations(nav.definitions("shop", "main", "shop/cart.py/Cart#total().")) == [("shop/cart.py", 6, 8)]
    assert locations(nav.definitions("shop", "main", "shop.pricing.RATE")) == [("shop/pricing.py", 1, 0)]


def test_references_cross_files_through_imports_aliases_and_inheritance(nav):
    refs = nav.references("shop", "main", "shop/pricing.py/tax().")
    assert locations(refs) == [
        ("app.py", 2, 25),  # `from shop.pricing import tax as levy`
        ("app.py", 6, 24),  # `levy(1)`; the parameter `tax` on line 5 and 6 is another symbol
        ("shop/cart.py", 2, 21),
        ("shop/cart.py", 7, 15),
        ("tests/test_cart.py", 1, 25),
        ("tests/test_cart.py", 5, 11),
    ]
    assert all(location.resolved for location in refs)
    assert "test" in refs[-1].roles and "test" not in refs[0].roles
    assert locations(nav.references("shop", "main", "Model.save")) == [("shop/cart.py", 7, 34)]


def test_unresolved_names_are_listed_only_when_asked_and_flagged(nav):
    bound = nav.references("shop", "main", "shop/pricing.py/tax().")
    everything = nav.references("shop", "main", "shop/pricing.py/tax().", include_unresolved=True)
    assert set(bound) <= set(everything)
    assert all(not location.resolved for location in set(everything) - set(bound))


def test_symbols_of_a_file_in_source_order(nav):
    found = nav.symbols("shop", "main", "shop/cart.py")
    assert [(s.symbol, s.kind, s.start_line, s.end_line) for s in found] == [
        ("shop/cart.py/Cart#", "class", 5, 7), ("shop/cart.py/Cart#total().", "method", 6, 7)]
    assert found[0].to_json()["roles"] == ["definition"]


def test_go_to_definition_from_a_position(nav):
    assert [d.symbol for d in nav.definition_at("shop", "main", "app.py", 6, 18)] == ["shop/cart.py/Cart#total()."]
    assert [d.symbol for d in nav.definition_at("shop", "main", "shop/cart.py", 7, 34)] == \
        ["shop/base.py/Model#save()."]
    assert nav.definition_at("shop", "main", "app.py", 6, 35) == []  # the parameter: a local, no repository symbol


def test_a_path_outside_the_snapshot_names_the_input_and_the_fix(nav):
    with pytest.raises(CodegraphError) as raised:
        nav.symbols("shop", "main", "shop/missing.py")
    assert raised.value.code is ErrorCode.PATH_NOT_FOUND and "shop/missing.py" in raised.value.message


def test_navigation_and_search_refuse_an_unindexed_partition_with_one_error(indexed, nav, tmp_path):
    from conftest import GitRepo

    indexer, _repo, _ = indexed
    blank = GitRepo(tmp_path / "blank")
    blank.commit({"a.py": "x = 1\n"}, "initial")
    indexer.register("blank", str(blank.path), ["main"])
    with pytest.raises(CodegraphError) as navigating:
        nav.definitions("blank", "main", "x")
    with pytest.raises(CodegraphError) as searching:
        indexer.search("x", "blank", "main", "lexical")
    assert navigating.value.code is searching.value.code is ErrorCode.INVALID_PAYLOAD
    assert navigating.value.message == searching.value.message
    assert "blank|main has no complete index yet (ir, lexical, chunk, vector never published)" in \
        searching.value.message


def test_a_rerun_resolves_nothing_and_a_push_rewrites_only_what_changed(indexed):
    indexer, repo, _ = indexed
    again = indexer.materialize("shop", "main").metadata("ir")
    assert (again["files_parsed"], again["resolution_maps_written"]) == (0, 0)
    repo.commit({"shop/pricing.py": "RATE = 3\n\n\ndef tax(amount):\n    return amount * RATE\n",
                 "shop/extra.py": "def extra():\n    return 1\n"}, "push")
    pushed = indexer.materialize("shop", "main").metadata("ir")
    assert pushed["files_parsed"] == 2
    # Maps are content-addressed: files whose imports still lead to the same symbols reuse theirs.
    assert pushed["resolution_maps_written"] == 0
    found, resources = navigator(indexer)
    try:
        assert locations(found.definitions("shop", "main", "extra")) == [("shop/extra.py", 1, 4)]
        assert len(found.references("shop", "main", "shop/pricing.py/tax().")) == 6
    finally:
        resources.__exit__(None, None, None)
