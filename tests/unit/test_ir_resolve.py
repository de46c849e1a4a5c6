"""Cross-file resolution inside a repository: imports bound to files, names to the definitions they mean,
per language; what the repository does not define, or could mean twice, stays unresolved."""

from __future__ import annotations

import textwrap

from codegraph_assets.core.languages import language_for_path
from codegraph_assets.core.ir_parser import parse_document
from codegraph_assets.core.ir_resolve import RepositoryResolver


def repository(files: dict[str, str]) -> RepositoryResolver:
    return RepositoryResolver({path: parse_document(textwrap.dedent(text).lstrip("\n").encode(),
                                                    language_for_path(path), "EXTENDED")
                               for path, text in files.items()})


def resolved_at(resolver: RepositoryResolver, path: str, line: int, name: str) -> str | None:
    """What the first occurrence of `name` on `line` of `path` resolves to, repository-wide."""
    document = resolver.documents[path]
    lines = textwrap.dedent(FILES_BY_PATH[path]).lstrip("\n").split("\n")
    occurrence = next(o for o in document.occurrences if o.span.start_line == line
                      and lines[line - 1][o.span.start_col:o.span.end_col] == name)
    return resolver.resolve(path, occurrence.symbol)


PYTHON = {
    "src/shop/__init__.py": """
        from .cart import Cart as Basket
        from .util import *
        from . import pricing
    """,
    "src/shop/cart.py": """
        from .base import Model
        from ..shop.util import tax

        class Cart(Model):
            def total(self):
                return self.save() + tax(1) + super().save()
    """,
    "src/shop/base.py": """
        class Model:
            def save(self):
                return 0
    """,
    "src/shop/util.py": """
        def tax(amount):
            return amount
        RATE = 3
    """,
    "src/shop/pricing.py": """
        from .cycle_a import loop
        def price():
            return 1
    """,
    "src/shop/cycle_a.py": "from .cycle_b import loop\n",
    "src/shop/cycle_b.py": "from .cycle_a import loop\n",
    "app.py": """
        import os
        import shop.cart
        from shop import Basket, pricing, RATE
        from shop.util import tax as levy

        def run(tax):
            tax(2)
            levy(3)
            shop.cart.Cart().total()
            pricing.price()
            os.path.join("a")
            return Basket, RATE
    """,
    "tests/test_app.py": "from shop.cart import Cart\nCart.total\n",
    "lib/shop/cart.py": "class Cart:\n    pass\n",
}

# Absolute imports start at sys.path roots only: the repository root, `src/`/`lib/`, a nested project.
SOURCE_ROOTS = {
    "rich/__init__.py": "",
    "rich/json.py": "class JSON:\n    pass\n",
    "rich/highlighter.py": """
        import json
        from .json import JSON
        from . import json as sibling

        json.dumps({})
        JSON()
        sibling.JSON()
    """,
    "examples/show.py": "import rich.json\nfrom rich.json import JSON\nrich.json.JSON\n",
    "scripts/run.py": "import helper\nhelper.go()\n",
    "scripts/helper.py": "def go():\n    pass\n",
    "services/api/setup.py": "",
    "services/api/api/__init__.py": "",
    "services/api/api/db.py": "def connect():\n    pass\n",
    "services/api/api/main.py": "from api.db import connect\nconnect()\n",
}
FILES_BY_PATH = PYTHON | SOURCE_ROOTS


def test_python_relative_imports_and_re_exports_through_a_package():
    resolver = repository(PYTHON)
    assert resolved_at(resolver, "app.py", 3, "Basket") == "src/shop/cart.py/Cart#"  # aliased re-export
    assert resolved_at(resolver, "app.py", 12, "Basket") == "src/shop/cart.py/Cart#"
    assert resolved_at(resolver, "app.py", 3, "RATE") == "src/shop/util.py/RATE."  # through `from .util import *`
    assert resolved_at(resolver, "src/shop/cart.py", 2, "tax") == "src/shop/util.py/tax()."  # `..shop.util`


def test_python_aliases_and_shadowing():
    resolver = repository(PYTHON)
    assert resolved_at(resolver, "app.py", 8, "levy") == "src/shop/util.py/tax()."
    assert resolved_at(resolver, "app.py", 7, "tax") is None  # the parameter `tax`, not the module's function


def test_python_attribute_chains_submodules_and_instances():
    resolver = repository(PYTHON)
    assert resolved_at(resolver, "app.py", 9, "cart") == "src/shop/cart.py/"
    assert resolved_at(resolver, "app.py", 9, "total") == "src/shop/cart.py/Cart#total()."
    assert resolved_at(resolver, "app.py", 10, "pricing") == "src/shop/pricing.py/"  # `from . import pricing`
    assert resolved_at(resolver, "app.py", 10, "price") == "src/shop/pricing.py/price()."


def test_python_members_through_bases_and_super():
    resolver = repository(PYTHON)
    assert resolved_at(resolver, "src/shop/cart.py", 6, "save") == "src/shop/base.py/Model#save()."
    document = resolver.documents["src/shop/cart.py"]
    [super_save] = [o.symbol for o in document.occurrences if o.symbol.startswith("super ")]
    assert resolver.resolve("src/shop/cart.py", super_save) == "src/shop/base.py/Model#save()."


def test_python_outside_the_repository_ambiguity_and_cycles_stay_unresolved():
    resolver = repository(PYTHON)
    assert resolved_at(resolver, "app.py", 11, "join") is None  # the standard library
    assert resolver.resolve("src/shop/pricing.py", "import .cycle_a loop") is None  # a re-export cycle ends
    # `shop.cart` is src/shop/cart.py, but lib/shop/cart.py from the other source root, `lib/`, as well:
    assert resolver.resolve("tests/test_app.py", "import shop.cart Cart") is None


def test_python_absolute_import_never_binds_to_a_sibling_of_a_package():
    resolver = repository(SOURCE_ROOTS)
    assert resolved_at(resolver, "rich/highlighter.py", 5, "json") is None  # the standard library's json
    assert resolved_at(resolver, "rich/highlighter.py", 5, "dumps") is None
    assert resolver.resolve("rich/highlighter.py", "import json") is None


def test_python_relative_imports_still_reach_the_sibling_module():
    resolver = repository(SOURCE_ROOTS)
    assert resolved_at(resolver, "rich/highlighter.py", 6, "JSON") == "rich/json.py/JSON#"  # `from .json import`
    assert resolved_at(resolver, "rich/highlighter.py", 7, "sibling") == "rich/json.py/"  # `from . import json`
    assert resolved_at(resolver, "rich/highlighter.py", 7, "JSON") == "rich/json.py/JSON#"


def test_python_absolute_imports_bind_from_the_root_and_nested_projects_only():
    resolver = repository(SOURCE_ROOTS)
    assert resolved_at(resolver, "examples/show.py", 3, "JSON") == "rich/json.py/JSON#"  # `rich.json` from the root
    assert resolver.resolve("examples/show.py", "import rich.json JSON") == "rich/json.py/JSON#"
    assert resolver.resolve("services/api/api/main.py", "import api.db connect") == "services/api/api/db.py/connect()."
    # `scripts/` is no source root: only running run.py as a script would put it on sys.path
    assert resolved_at(resolver, "scripts/run.py", 2, "go") is None


def test_resolve_document_maps_every_resolvable_target():
    mapping = repository(PYTHON).resolve_document("app.py")
    assert mapping["import shop.util tax"] == "src/shop/util.py/tax()."
    assert "import os path join" not in mapping


TYPESCRIPT = {
    "src/store/index.ts": """
        export { Store as default, load } from "./store";
        export * from "./types";
    """,
    "src/store/store.ts": """
        export class Store { put(x: number) { return x; } }
        export function load() { return new Store(); }
    """,
    "src/store/types.ts": "export interface Item { id: string }\n",
    "src/app.ts": """
        import Store, { load, Item } from "./store";
        import * as util from "./util.js";
        const s: Store = load();
        util.run(s as Item);
    """,
    "src/util.ts": "export function run(x: unknown) {}\n",
}


def test_typescript_index_files_extensions_default_and_star_re_exports():
    resolver = repository(TYPESCRIPT)
    app = "src/app.ts"
    assert resolver.resolve(app, "import ./store default") == "src/store/store.ts/Store#"
    assert resolver.resolve(app, "import ./store load") == "src/store/store.ts/load()."
    assert resolver.resolve(app, "import ./store Item") == "src/store/types.ts/Item#"
    assert resolver.resolve(app, "import ./util.js run") == "src/util.ts/run()."  # `.js` written, `.ts` on disk
    assert resolver.resolve(app, "import react useState") is None  # a package, not a file of ours


GO = {
    "go.mod": "",
    "geo/shapes.go": """
        package geo

        type Circle struct{ R float64 }

        func (c Circle) Area() float64 { return c.R * c.R * pi() }
    """,
    "geo/consts.go": "package geo\n\nfunc pi() float64 { return 3.14 }\n",
    "main.go": """
        package main

        import g "example.com/proj/geo"

        func main() { _ = g.Circle{R: 1}.Area() }
    """,
}


def test_go_import_paths_name_directories_and_packages_share_names():
    resolver = repository({path: text for path, text in GO.items() if path.endswith(".go")})
    assert resolver.resolve("main.go", "import example.com/proj/geo Circle") == "geo/shapes.go/Circle#"
    assert resolver.resolve("geo/shapes.go", "pi") == "geo/consts.go/pi()."  # another file, same package
    assert resolver.resolve("main.go", "import fmt Println") is None


JAVA = {
    "src/main/java/com/shop/Cart.java": """
        package com.shop;

        import com.shop.util.Money;
        import static com.shop.util.Money.zero;

        public class Cart extends Base {
            Money total() { return zero(); }
            void clear() { reset(); Helper.help(); }
        }
    """,
    "src/main/java/com/shop/Base.java": "package com.shop;\n\npublic class Base {\n    void reset() {}\n}\n",
    "src/main/java/com/shop/Helper.java": "package com.shop;\n\nclass Helper {\n    static void help() {}\n}\n",
    "src/main/java/com/shop/util/Money.java": """
        package com.shop.util;

        public class Money {
            public static Money zero() { return new Money(); }
        }
    """,
}


def test_java_class_imports_static_imports_same_package_and_inherited_methods():
    resolver = repository(JAVA)
    cart = "src/main/java/com/shop/Cart.java"
    assert resolver.resolve(cart, "import com.shop.util.Money") == "src/main/java/com/shop/util/Money.java/Money#"
    assert resolver.resolve(cart, "import com.shop.util.Money.zero") == \
        "src/main/java/com/shop/util/Money.java/Money#zero()."
    assert resolver.resolve(cart, "Helper") == "src/main/java/com/shop/Helper.java/Helper#"
    assert resolver.resolve(cart, "member Cart# reset") == "src/main/java/com/shop/Base.java/Base#reset()."


RUST = {
    "src/lib.rs": "mod store;\npub mod net;\npub use store::Store;\n",
    "src/store.rs": """
        use crate::net::send;

        pub struct Store;

        impl Store {
            pub fn save(&self) { send(); super::net::send(); }
        }
    """,
    "src/net/mod.rs": "pub fn send() {}\n",
    "src/main.rs": "fn main() {}\n",
}


def test_rust_crate_paths_mod_files_and_re_exports():
    resolver = repository({path: text for path, text in RUST.items() if path != "src/main.rs"})
    assert resolver.resolve("src/store.rs", "import crate::net::send") == "src/net/mod.rs/send()."
    assert resolver.resolve("src/store.rs", "import super net send") == "src/net/mod.rs/send()."
    assert resolver.resolve("src/lib.rs", "import self::store") == "src/store.rs/"
    assert resolver.resolve("src/lib.rs", "import store::Store") == "src/store.rs/Store#"
