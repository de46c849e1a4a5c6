"""`codegraph export-scip` on a real indexed repository, read back with Sourcegraph's own SCIP bindings.

The reader (tests/scip_reader/read_scip.js) decodes with scip.js from @sourcegraph/scip-typescript: protobuf
code Sourcegraph generated from scip.proto, on google-protobuf, in another language, sharing nothing with our
writer. What it decodes must be exactly what the stored IR holds.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from indexing import Indexer

from codegraph_assets.cli.main import main as codegraph
from codegraph_assets.core.ir_model import SymbolRole, is_descriptor
from codegraph_assets.core.ir_resolve import RepositoryResolver
from codegraph_assets.stages.documents import doc_key

READER = Path(__file__).resolve().parents[1] / "scip_reader"
# scip.proto's symbol grammar: `<scheme> <manager> <name> <version> <descriptor>+` or `local <id>`.
_NAME = r"(?:[A-Za-z0-9_+\-$]+|`(?:[^`]|``)+`)"
_DESCRIPTOR = rf"(?:{_NAME}[/#.:!]|{_NAME}\((?:[A-Za-z0-9_+\-$]*)\)\.|\[{_NAME}\]|\({_NAME}\))"
SCIP_SYMBOL = re.compile(rf"local [A-Za-z0-9_+\-$]+|(?:[^ ]|  )+ (?:[^ ]|  )+ (?:[^ ]|  )+ (?:[^ ]|  )+ {_DESCRIPTOR}+")
NPM_INSTALL_TIMEOUT_S = 300

MODELS = '''"""Shopping cart models."""

TAX_RATE = 0.2


class Cart:
    """A customer's cart."""

    def total(self, prices):
        return sum(prices) * (1 + TAX_RATE)


def empty_cart():
    return Cart()


if TAX_RATE:  # names defined twice in one scope: the IR numbers the later ones `(+1)`
    class Legacy:
        def run(self):
            return LIMIT
else:
    class Legacy:
        def run(self):
            return LIMIT

LIMIT = 1
LIMIT = 2


class Box:
    @property
    def size(self):
        return 1

    @size.setter
    def size(self, value):
        pass
'''

CHECKOUT = '''from shop.models import Cart, empty_cart


def checkout(cart: Cart):
    fresh = empty_cart()
    return cart.total([1, 2]) + fresh.total([])


class GiftCart(Cart):
    pass
'''

CLIENT = '''import { request } from "./http";

/** A user profile. */
export interface Profile { id: string }

export class ProfileClient {
  fetch(id: string): Promise<Profile> {
    return request(`/users/${id}`);
  }
}
'''

HTTP = '''export function request(url: string): Promise<any> {
  return fetch(url);
}
'''

GO_SERVER = '''package server

// Handler serves carts.
type Handler struct{ name string }

func (h *Handler) Serve() string { return h.name }
'''

FILES = {"shop/__init__.py": "", "shop/models.py": MODELS, "shop/checkout.py": CHECKOUT, "web/client.ts": CLIENT,
         "web/http.ts": HTTP, "server/handler.go": GO_SERVER, "README.md": "# shop\n"}


@pytest.fixture(scope="session")
def scip_reader() -> Path:
    """Sourcegraph's bindings, installed from the lock file once (npm ci) when not installed yet."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed to read SCIP with Sourcegraph's bindings; install Node.js 20")
    if not (READER / "node_modules" / "@sourcegraph" / "scip-typescript").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=READER, check=True,
                       timeout=NPM_INSTALL_TIMEOUT_S)
    return READER / "read_scip.js"


@pytest.fixture
def exported(codegraph_home, make_repo, tmp_path, scip_reader, capsys):
    repo = make_repo(FILES, name="shop")
    indexer = Indexer()
    indexer.register("shop", str(repo.path), ["main"])
    assert indexer.materialize("shop", "main").result.success
    out = tmp_path / "shop.scip"
    assert codegraph(["export-scip", "--repo", "shop", "--snapshot", "main", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    decoded = json.loads(subprocess.run(["node", str(scip_reader), str(out)], check=True, capture_output=True,
                                        text=True).stdout)
    return indexer, repo, summary, decoded


def _stored_documents(indexer: Indexer) -> dict:
    """path → the DocumentIR the ir stage stored for the serving snapshot."""
    import dagster as dg

    with dg.build_resources({"metadata": indexer.resources["metadata"]}) as resources:
        store = resources.metadata.open()
        serving = store.serving("shop", "main")
        return {e.path: store.load_document(doc_key(e.blob_sha, indexer.config))
                for e in store.load_manifest(serving.manifest_id) if e.language in {"python", "typescript", "go"}}


def test_metadata_names_the_tool_the_checkout_and_utf8(exported):
    _indexer, repo, summary, decoded = exported
    metadata = decoded["metadata"]
    assert metadata["tool_info"]["name"] == "codegraph"
    assert metadata["project_root"] == repo.path.resolve().as_uri()
    assert metadata["text_document_encoding"] == 1  # UTF8
    assert summary["commit"] == repo.git("rev-parse", "HEAD")


def test_every_parsed_file_is_a_document_in_its_scip_language(exported):
    _indexer, _repo, summary, decoded = exported
    languages = {d["relative_path"]: d["language"] for d in decoded["documents"]}
    assert languages == {"shop/__init__.py": "Python", "shop/models.py": "Python", "shop/checkout.py": "Python",
                         "web/client.ts": "TypeScript", "web/http.ts": "TypeScript", "server/handler.go": "Go"}
    assert summary["documents"] == 6


def test_a_method_is_a_global_symbol_with_kind_name_signature_and_docstring(exported):
    _indexer, repo, _summary, decoded = exported
    commit = repo.git("rev-parse", "HEAD")
    models = next(d for d in decoded["documents"] if d["relative_path"] == "shop/models.py")
    by_symbol = {s["symbol"]: s for s in models["symbols"]}
    cart = by_symbol[f"codegraph . shop {commit} shop/`models.py`/Cart#"]
    assert (cart["kind"], cart["display_name"], cart["documentation"]) == (7, "Cart", ["A customer's cart."])
    total = by_symbol[f"codegraph . shop {commit} shop/`models.py`/Cart#total()."]
    assert (total["kind"], total["display_name"], total["signature"]) == (26, "total", "def total(self, prices)")
    tax = by_symbol[f"codegraph . shop {commit} shop/`models.py`/TAX_RATE."]
    assert tax["kind"] == 8  # Constant


def test_definition_occurrences_carry_zero_based_ranges_and_enclosing_ranges(exported):
    _indexer, repo, _summary, decoded = exported
    commit = repo.git("rev-parse", "HEAD")
    models = next(d for d in decoded["documents"] if d["relative_path"] == "shop/models.py")
    lines = MODELS.split("\n")
    row = next(i for i, line in enumerate(lines) if line.startswith("class Cart"))
    occurrence = next(o for o in models["occurrences"]
                      if o["symbol"] == f"codegraph . shop {commit} shop/`models.py`/Cart#")
    assert occurrence["symbol_roles"] == 1  # Definition
    assert occurrence["range"] == [row, len("class "), len("class Cart")]
    last_row = next(i for i, line in enumerate(lines) if "return sum" in line)
    assert occurrence["enclosing_range"] == [row, 0, last_row, len(lines[last_row])]


def test_a_call_into_another_file_is_a_read_of_that_files_symbol(exported):
    _indexer, repo, _summary, decoded = exported
    commit = repo.git("rev-parse", "HEAD")
    checkout = next(d for d in decoded["documents"] if d["relative_path"] == "shop/checkout.py")
    row = CHECKOUT.split("\n").index("    fresh = empty_cart()")
    column = CHECKOUT.split("\n")[row].index("empty_cart")
    (call,) = [o for o in checkout["occurrences"] if o["range"] == [row, column, column + len("empty_cart")]]
    assert call["symbol"] == f"codegraph . shop {commit} shop/`models.py`/empty_cart()."
    assert call["symbol_roles"] == 8  # ReadAccess


def test_a_subclass_relates_to_its_base_in_another_file(exported):
    _indexer, repo, _summary, decoded = exported
    commit = repo.git("rev-parse", "HEAD")
    checkout = next(d for d in decoded["documents"] if d["relative_path"] == "shop/checkout.py")
    (gift,) = [s for s in checkout["symbols"] if s["display_name"] == "GiftCart"]
    assert [(r["symbol"], r["is_implementation"]) for r in gift["relationships"]] == \
        [(f"codegraph . shop {commit} shop/`models.py`/Cart#", True)]


def test_the_go_method_belongs_to_its_receiver_type(exported):
    _indexer, repo, _summary, decoded = exported
    commit = repo.git("rev-parse", "HEAD")
    handler = next(d for d in decoded["documents"] if d["relative_path"] == "server/handler.go")
    symbols = {s["symbol"]: s["kind"] for s in handler["symbols"]}
    assert symbols[f"codegraph . shop {commit} server/`handler.go`/Handler#"] == 49  # Struct
    assert symbols[f"codegraph . shop {commit} server/`handler.go`/Handler#Serve()."] == 26  # Method


def test_names_defined_twice_get_grammatical_symbols_and_only_methods_a_disambiguator(exported):
    _indexer, repo, _summary, decoded = exported
    prefix = f"codegraph . shop {repo.git('rev-parse', 'HEAD')} shop/`models.py`/"
    models = next(d for d in decoded["documents"] if d["relative_path"] == "shop/models.py")
    kinds = {s["symbol"][len(prefix):]: (s["kind"], s["display_name"]) for s in models["symbols"]}
    assert kinds["Legacy#"] == kinds["`Legacy(+1)`#"] == (7, "Legacy")  # Class; SCIP has no `A(+1)#`
    assert kinds["`Legacy(+1)`#run()."] == (26, "run")  # Method, under the second class
    assert kinds["LIMIT."] == kinds["`LIMIT(+1)`."] == (8, "LIMIT")  # Constant, not read as a method `LIMIT(+1).`
    assert kinds["Box#size(+1)."] == (26, "size")  # the setter: SCIP's own method disambiguator
    row = MODELS.split("\n").index("LIMIT = 2")
    (definition,) = [o for o in models["occurrences"] if o["range"] == [row, 0, len("LIMIT")]]
    assert (definition["symbol"], definition["symbol_roles"]) == (prefix + "`LIMIT(+1)`.", 1)


def _scip_descriptors(descriptors: str, callables: set[str]) -> str:
    """How the export spells our descriptors: a numbered duplicate's `(+N)` stays a method's disambiguator
    and joins the escaped name of anything else (the fixture's names are all simple identifiers)."""
    parts = re.findall(r"([A-Za-z0-9_]+)(\(\+\d+\)|\(\))?([.#/])", descriptors)
    assert "".join("".join(part) for part in parts) == descriptors
    spelled, prefix = [], ""
    for name, parentheses, suffix in parts:
        prefix += name + parentheses + suffix
        if parentheses.startswith("(+") and not (suffix == "." and prefix in callables):
            name, parentheses = f"`{name}{parentheses}`", ""
        spelled.append(name + parentheses + suffix)
    return "".join(spelled)


def test_decoded_index_is_exactly_the_stored_ir(exported):
    """Every symbol, and every occurrence bound to a definition, with its range and roles; nothing else."""
    indexer, repo, summary, decoded = exported
    package = f"codegraph . shop {repo.git('rev-parse', 'HEAD')}"
    stored = _stored_documents(indexer)
    resolve = RepositoryResolver(stored).resolve

    callables = {path: {s.symbol_id for s in document.symbols if s.kind in ("function", "method")}
                 for path, document in stored.items()}

    def global_id(qualified: str) -> str:
        path = max((p for p in stored if qualified.startswith(p + "/")), key=len)
        return package + " " + "".join(p + "/" if p.replace("_", "").isalnum() else f"`{p}`/"
                                       for p in path.split("/")) + \
            _scip_descriptors(qualified[len(path) + 1:], callables[path])

    def expected_symbol(path: str, target: str) -> str | None:
        if target.startswith("local "):
            return target
        if is_descriptor(target):
            return global_id(target if any(target.startswith(p + "/") for p in stored) else f"{path}/{target}")
        resolved = resolve(path, target)
        return None if resolved is None else global_id(resolved)

    unresolved = 0
    for document in decoded["documents"]:
        path = document["relative_path"]
        ir = stored[path]
        defined = [global_id(f"{path}/{s.symbol_id}") for s in ir.symbols]
        assert [s["symbol"] for s in document["symbols"]][:len(defined)] == defined
        assert [s["display_name"] for s in document["symbols"]][:len(defined)] == [s.name for s in ir.symbols]
        expected = []
        for o in ir.occurrences:
            symbol = expected_symbol(path, o.symbol)
            if symbol is None:
                unresolved += 1
                continue
            start, end = o.span.start_line - 1, o.span.end_line - 1
            scip_range = [start, o.span.start_col, o.span.end_col] if start == end else \
                [start, o.span.start_col, end, o.span.end_col]
            roles = int(o.roles) & ~int(SymbolRole.REFERENCE)  # SCIP has no reference bit (0x10 = Generated)
            expected.append((scip_range, symbol, roles))
        assert [(o["range"], o["symbol"], o["symbol_roles"]) for o in document["occurrences"]] == expected
    assert summary["unresolved_occurrences"] == unresolved
    assert summary["occurrences"] == sum(len(d["occurrences"]) for d in decoded["documents"])
    assert summary["symbols"] == sum(len(d["symbols"]) for d in decoded["documents"]) > 0


def test_every_symbol_string_follows_the_scip_grammar(exported):
    _indexer, _repo, _summary, decoded = exported
    symbols = {s["symbol"] for d in decoded["documents"] for s in d["symbols"]}
    symbols |= {o["symbol"] for d in decoded["documents"] for o in d["occurrences"]}
    assert symbols and [s for s in symbols if not SCIP_SYMBOL.fullmatch(s)] == []


def test_no_occurrence_is_marked_generated(exported):
    _indexer, _repo, _summary, decoded = exported
    assert all(not o["symbol_roles"] & 0x10 for d in decoded["documents"] for o in d["occurrences"])


def test_exporting_a_partition_without_an_index_names_the_missing_stages(codegraph_home, make_repo, tmp_path,
                                                                         capsys):
    repo = make_repo({"a.py": "x = 1\n"}, name="unindexed")
    indexer = Indexer()
    indexer.register("unindexed", str(repo.path), ["main"])
    out = tmp_path / "never.scip"
    assert codegraph(["export-scip", "--repo", "unindexed", "--snapshot", "main", str(out)]) == 2
    error = capsys.readouterr().err
    assert "unindexed|main has no complete index yet" in error and "Fix:" in error
    assert not out.exists()


def test_an_output_folder_that_does_not_exist_is_refused_before_any_work(codegraph_home, tmp_path, capsys):
    out = tmp_path / "missing" / "index.scip"
    assert codegraph(["export-scip", "--repo", "any", str(out)]) == 2
    error = capsys.readouterr().err
    assert "PATH_NOT_FOUND" in error and str(tmp_path / "missing") in error
