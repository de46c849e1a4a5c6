"""EXTENDED tier inside one document: every identifier bound by scope to a definition, a local, an import,
or left a plain name; roles; call, inheritance and import edges; exports and members."""

from __future__ import annotations

import textwrap

from codegraph_assets.core.ir_model import DocumentIR, EdgeKind, SymbolRole
from codegraph_assets.core.ir_parser import parse_document

READ = SymbolRole.REFERENCE | SymbolRole.READ
WRITE = SymbolRole.REFERENCE | SymbolRole.WRITE
DEFINE = SymbolRole.DEFINITION | SymbolRole.WRITE


def parse(language: str, source: str, tier: str = "EXTENDED") -> DocumentIR:
    return parse_document(textwrap.dedent(source).lstrip("\n").encode(), language, tier)


def at(doc: DocumentIR, line: int, column: int) -> tuple[str, SymbolRole]:
    """(symbol, roles) of the occurrence starting at (1-based line, byte column)."""
    [found] = [(o.symbol, o.roles) for o in doc.occurrences if (o.span.start_line, o.span.start_col) == (line, column)]
    return found


def symbols_on(doc: DocumentIR, line: int) -> list[str]:
    return [o.symbol for o in doc.occurrences if o.span.start_line == line]


def edges(doc: DocumentIR, kind: str) -> list[tuple[str, str, int]]:
    return [(e.source, e.target, e.span.start_line) for e in doc.edges if e.kind == kind]


PYTHON = '''
import os.path
from .formatting import shout, whisper as quiet
from .base import *

LIMIT = 3
counter = 0


class Greeter(Base):
    prefix = "hi"

    def greet(self, name):
        global counter
        counter += 1
        def decorate(text):
            return shout(text)
        self.last = name
        return decorate(self.prefix) + os.path.join(self.last, quiet(name))

    def other(self, prefix=LIMIT):
        total = [n for n in prefix]
        total = len(total)
        return super().greet(self.missing, total)


def main(prefix):
    Greeter().greet(prefix)
    return undefined_name
'''


def test_python_parameters_and_locals_are_scope_local_and_defined_once():
    doc = parse("python", PYTHON)
    name = at(doc, 12, 20)[0]
    assert name.startswith("local ") and at(doc, 12, 20)[1] == DEFINE  # `name` parameter
    assert at(doc, 17, 20) == (name, READ)  # `self.last = name`
    total = at(doc, 21, 8)
    assert total[0].startswith("local ") and total[1] == DEFINE
    assert at(doc, 22, 8) == (total[0], WRITE)  # a second assignment writes, it does not redefine
    assert at(doc, 22, 20) == (total[0], READ)
    assert at(doc, 26, 9)[0] != at(doc, 20, 20)[0]  # `prefix` of main() is not `prefix` of other()


def test_python_class_bodies_do_not_enclose_their_methods():
    doc = parse("python", PYTHON)
    assert at(doc, 10, 4) == ("Greeter#prefix.", DEFINE)
    assert at(doc, 20, 20)[0].startswith("local ")  # the parameter `prefix`, not the class attribute
    assert at(doc, 20, 27) == ("LIMIT.", READ)


def test_python_global_declarations_bind_to_the_module():
    doc = parse("python", PYTHON)
    assert at(doc, 6, 0) == ("counter.", DEFINE)
    assert at(doc, 14, 8) == ("counter.", READ | SymbolRole.WRITE)


def test_python_imports_bind_names_to_import_targets():
    doc = parse("python", PYTHON)
    assert symbols_on(doc, 1) == ["import os.path"]
    assert symbols_on(doc, 2) == ["import .formatting", "import .formatting shout", "import .formatting whisper"]
    assert at(doc, 16, 19) == ("import .formatting shout", READ)
    assert at(doc, 18, 39) == ("import os", READ)
    assert at(doc, 18, 42) == ("import os path", READ)
    assert at(doc, 18, 47) == ("import os path join", READ)
    assert at(doc, 18, 63) == ("import .formatting whisper", READ)  # the alias `quiet`


def test_python_members_through_self_super_and_instances():
    doc = parse("python", PYTHON)
    assert at(doc, 17, 13) == ("Greeter#last.", WRITE)
    assert at(doc, 18, 15) == ("Greeter#greet().decorate().", READ)
    assert at(doc, 18, 29) == ("Greeter#prefix.", READ)
    assert at(doc, 18, 57) == ("Greeter#last.", READ)
    assert at(doc, 23, 23) == ("super Greeter# greet", READ)
    assert at(doc, 23, 34) == ("member Greeter# missing", READ)  # not its own: look in Base
    assert at(doc, 27, 14) == ("Greeter#greet().", READ)  # Greeter().greet


def test_python_unbound_names_stay_plain_names():
    doc = parse("python", PYTHON)
    assert at(doc, 22, 16) == ("len", READ)
    assert at(doc, 28, 11) == ("undefined_name", READ)


def test_python_edges_exports_and_members():
    doc = parse("python", PYTHON)
    assert edges(doc, EdgeKind.IMPORTS) == [("", "import os.path", 1), ("", "import .formatting", 2),
                                            ("*", "import .base", 3)]
    assert edges(doc, EdgeKind.INHERITS) == [("Greeter#", "Base", 9)]
    assert ("Greeter#greet().decorate().", "import .formatting shout", 16) in edges(doc, EdgeKind.CALLS)
    assert ("main().", "Greeter#", 27) in edges(doc, EdgeKind.CALLS)
    assert doc.exports == {"os": "import os", "shout": "import .formatting shout",
                           "quiet": "import .formatting whisper", "LIMIT": "LIMIT.", "counter": "counter.",
                           "Greeter": "Greeter#", "main": "main()."}
    assert doc.members == {"Greeter#": {"prefix": "Greeter#prefix.", "greet": "Greeter#greet().",
                                        "other": "Greeter#other().", "last": "Greeter#last."}}
    assert doc.interface().stars == ["import .base"]
    assert {"import .base", "len", "undefined_name"} <= set(doc.interface().externals)  # a star may bind them


def test_base_tier_has_definitions_and_imports_only():
    doc = parse("python", PYTHON, tier="BASE")
    assert {o.roles for o in doc.occurrences} == {SymbolRole.DEFINITION, SymbolRole.IMPORT}
    assert doc.edges == [] and doc.exports == {} and doc.members == {}
    assert [s.symbol_id for s in doc.symbols] == [s.symbol_id for s in parse("python", PYTHON).symbols]


def test_full_tier_is_extended_at_parse_time():
    assert parse("python", PYTHON, tier="FULL") == parse("python", PYTHON)


TYPESCRIPT = '''
import Store, { load as read, save } from "./store";
import * as log from "../log";
export { format } from "./format";
export * from "./types";

export default class Cart extends Base implements Sized {
  private items: Item[] = [];
  constructor(private readonly store: Store) { super(); }
  add(item: Item, count = 1) {
    const { id, qty: amount } = item;
    this.items.push(item);
    log.debug(read(id), amount);
    return this.store.put(save(item), count);
  }
}

export function total(cart: Cart): number {
  let sum = 0;
  sum += cart.size;
  return sum;
}
'''


def test_typescript_imports_namespaces_and_default_imports():
    doc = parse("typescript", TYPESCRIPT)
    assert symbols_on(doc, 1) == ["import ./store default", "import ./store load", "import ./store save",
                                  "import ./store"]
    assert at(doc, 12, 4) == ("import ../log", READ)
    assert at(doc, 12, 8) == ("import ../log debug", READ)
    assert at(doc, 12, 14) == ("import ./store load", READ)  # `read` is `load`
    assert at(doc, 8, 38) == ("import ./store default", READ)  # the type `Store`


def test_typescript_locals_destructuring_and_writes():
    doc = parse("typescript", TYPESCRIPT)
    item = at(doc, 9, 6)
    assert item[0].startswith("local ") and item[1] == DEFINE
    identifier, amount = at(doc, 10, 12), at(doc, 10, 21)
    assert identifier[1] == DEFINE and amount[1] == DEFINE and identifier[0] != amount[0]
    assert at(doc, 12, 19) == (identifier[0], READ)
    sum_ = at(doc, 18, 6)
    assert at(doc, 19, 2) == (sum_[0], READ | SymbolRole.WRITE)


def test_typescript_this_members_fields_and_parameter_properties():
    doc = parse("typescript", TYPESCRIPT)
    assert at(doc, 7, 10) == ("Cart#items.", DEFINE)
    assert at(doc, 11, 9) == ("Cart#items.", READ)
    assert at(doc, 13, 16) == ("Cart#store.", READ)  # `constructor(private readonly store)` is a field
    assert at(doc, 13, 22) == ("put", READ)  # a member of an unknown type stays a plain name


def test_typescript_exports_edges_and_bases():
    doc = parse("typescript", TYPESCRIPT)
    assert doc.exports["default"] == "Cart#"
    assert doc.exports["format"] == "import ./format format"
    assert doc.exports["total"] == "total()."
    assert edges(doc, EdgeKind.INHERITS) == [("Cart#", "Base", 6), ("Cart#", "Sized", 6)]
    assert ("*", "import ./types", 4) in edges(doc, EdgeKind.IMPORTS)
    assert ("Cart#add().", "import ./store load", 12) in edges(doc, EdgeKind.CALLS)


def test_javascript_require_binds_like_an_import():
    doc = parse("javascript", '''
        const path = require("path");
        const { helper, other: alias } = require("./util");
        helper(alias, path.join("a"));
    ''')
    assert symbols_on(doc, 3) == ["import ./util helper", "import ./util other", "import path",
                                  "import path join"]


GO = '''
package shapes

import (
	"fmt"
	m "example.com/proj/geo/math"
)

type Circle struct {
	Radius float64
}

func (c *Circle) Area() float64 {
	r := c.Radius
	return m.Pi * r * r
}

func Describe(c Circle) string {
	return fmt.Sprint(c.Area(), Helper())
}
'''


def test_go_package_aliases_receivers_and_locals():
    doc = parse("go", GO)
    assert doc.package == "shapes"
    assert at(doc, 9, 1) == ("Circle#Radius.", DEFINE)
    receiver = at(doc, 12, 6)[0]
    assert at(doc, 13, 1)[1] == DEFINE
    assert at(doc, 13, 6) == (receiver, READ)
    assert at(doc, 13, 8) == ("Circle#Radius.", READ)  # through the receiver's type
    assert at(doc, 14, 8) == ("import example.com/proj/geo/math", READ)
    assert at(doc, 14, 10) == ("import example.com/proj/geo/math Pi", READ)
    assert at(doc, 18, 12) == ("import fmt Sprint", READ)
    assert at(doc, 18, 29) == ("Helper", READ)  # maybe another file of the package: left to the repository
    assert "Helper" in doc.interface().externals


JAVA = '''
package com.shop;

import java.util.List;
import com.shop.util.*;

public class Cart extends Base {
    private final List<Item> items;

    public Cart(List<Item> items) {
        this.items = items;
    }

    int size() {
        return items.size() + count(items) + Helper.max();
    }
}
'''


def test_java_imports_fields_and_implicit_this():
    doc = parse("java", JAVA)
    assert doc.package == "com.shop"
    assert at(doc, 7, 29) == ("Cart#items.", DEFINE)
    assert at(doc, 9, 16) == ("import java.util.List", READ)
    assert at(doc, 10, 13) == ("Cart#items.", WRITE)
    parameter = at(doc, 9, 27)[0]
    assert at(doc, 10, 21) == (parameter, READ)
    assert at(doc, 14, 15) == ("Cart#items.", READ)  # a field without `this.`
    assert at(doc, 14, 30) == ("member Cart# count", READ)  # an unqualified call: this class or its bases
    assert at(doc, 14, 45) == ("Helper", READ)  # same package or the star import: the repository decides
    assert doc.interface().stars == ["import com.shop.util"]


RUST = '''
mod net;
use crate::store::{self, Store as Db};

impl Db {
    fn get(&self, key: &str) -> u8 {
        let (a, b) = (1, 2);
        store::open(key);
        crate::net::send(a + b)
    }
}
'''


def test_rust_use_trees_mod_declarations_and_paths():
    doc = parse("rust", RUST)
    assert symbols_on(doc, 2) == ["import crate::store", "import crate::store::Store"]
    assert doc.exports["net"] == "import self::net"
    assert doc.exports["Db"] == "import crate::store::Store"
    assert at(doc, 4, 5) == ("import crate::store::Store", READ)
    assert at(doc, 7, 8) == ("import crate::store", READ)
    assert at(doc, 7, 15) == ("import crate::store open", READ)
    assert at(doc, 8, 15) == ("import crate net", READ)
    assert at(doc, 8, 20) == ("import crate net send", READ)
    a = at(doc, 6, 13)
    assert a[1] == DEFINE and at(doc, 8, 25) == (a[0], READ)
