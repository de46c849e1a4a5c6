import textwrap

import pytest

from codegraph_assets.core.ir_model import DocumentIR, EdgeKind, Span, SymbolRole
from codegraph_assets.core.ir_parser import parse_document
from codegraph_assets.core.languages import PARSEABLE_LANGUAGES
from codegraph_assets.errors import CodegraphError, ErrorCode

def parse(language: str, source: str) -> DocumentIR:
    return parse_document(textwrap.dedent(source).lstrip("\n").encode(), language)


def outline(doc: DocumentIR) -> list[tuple]:
    """(id, kind, name, parent, name line, enclosing first line, enclosing last line) per symbol."""
    return [
        (s.symbol_id, s.kind, s.name, s.parent_id, s.span.start_line, s.enclosing.start_line, s.enclosing.end_line)
        for s in doc.symbols
    ]


def calls(doc: DocumentIR) -> list[tuple[str, int]]:
    """(callee's target, line) of every call edge: bound where the document shows what is called."""
    return [(e.target, e.span.start_line) for e in doc.edges if e.kind == EdgeKind.CALLS]


def imported(doc: DocumentIR) -> list[tuple[str, int]]:
    return [(o.symbol, o.span.start_line) for o in doc.occurrences if o.roles == SymbolRole.IMPORT]


def symbol(doc: DocumentIR, symbol_id: str):
    return next(s for s in doc.symbols if s.symbol_id == symbol_id)


PYTHON_SOURCE = '''
"""Greeting helpers."""
import os.path
from .formatting import shout, whisper as quiet

DEFAULT_NAME = "world"


@dataclass
class Greeter:
    """Says hello."""

    def greet(self, name: str) -> str:
        """Greet someone."""
        def decorate(text):
            return shout(text)
        return decorate(self.prefix.join(name))


def main():
    Greeter().greet(DEFAULT_NAME)
'''


def test_python_definitions_nest_with_scip_ids():
    doc = parse("python", PYTHON_SOURCE)
    assert outline(doc) == [
        ("DEFAULT_NAME.", "constant", "DEFAULT_NAME", None, 5, 5, 5),
        ("Greeter#", "class", "Greeter", None, 9, 8, 16),  # enclosing includes the decorator
        ("Greeter#greet().", "method", "greet", "Greeter#", 12, 12, 16),
        ("Greeter#greet().decorate().", "function", "decorate", "Greeter#greet().", 14, 14, 15),
        ("main().", "function", "main", None, 19, 19, 20),
    ]


def test_python_name_span_signature_and_docstring():
    greet = symbol(parse("python", PYTHON_SOURCE), "Greeter#greet().")
    assert greet.span == Span(12, 8, 12, 13)
    assert greet.signature == "def greet(self, name: str) -> str"
    assert greet.docstring == "Greet someone."
    assert symbol(parse("python", PYTHON_SOURCE), "Greeter#").docstring == "Says hello."


def test_python_imports_and_calls():
    doc = parse("python", PYTHON_SOURCE)
    assert doc.imports == ["os.path", ".formatting"]
    assert imported(doc) == [("import os.path", 2), ("import .formatting", 3), ("import .formatting shout", 3),
                             ("import .formatting whisper", 3)]
    assert calls(doc) == [("import .formatting shout", 15), ("Greeter#greet().decorate().", 16), ("join", 16),
                          ("Greeter#", 20), ("Greeter#greet().", 20)]


def test_every_symbol_has_one_definition_occurrence_at_its_name():
    doc = parse("python", PYTHON_SOURCE)
    definitions = [(o.symbol, o.span) for o in doc.occurrences if o.roles == SymbolRole.DEFINITION]
    assert definitions == [(s.symbol_id, s.span) for s in doc.symbols]


def test_python_relative_and_star_imports_keep_the_module_as_written():
    doc = parse("python", "from . import sibling\nfrom ..pkg.mod import *\nimport a.b as c, d\n")
    assert doc.imports == [".", "..pkg.mod", "a.b", "d"]


JAVASCRIPT_SOURCE = """
import { readFile } from "fs/promises";
const path = require("path");

/**
 * Loads a config file.
 */
export async function loadConfig(file) {
  const text = await readFile(path.join(dir, file), "utf8");
  return parse(text);
}

export class Store {
  constructor(items) {
    this.items = items;
  }

  // Finds one item.
  find(id) {
    return this.items.find((item) => item.id === id);
  }
}

export const createStore = (items) => new Store(items);
"""


def test_javascript_functions_classes_methods_and_arrow_consts():
    doc = parse("javascript", JAVASCRIPT_SOURCE)
    assert outline(doc) == [
        ("loadConfig().", "function", "loadConfig", None, 7, 7, 10),
        ("Store#", "class", "Store", None, 12, 12, 21),
        ("Store#constructor().", "method", "constructor", "Store#", 13, 13, 15),
        ("Store#find().", "method", "find", "Store#", 18, 18, 20),
        ("createStore().", "function", "createStore", None, 23, 23, 23),
    ]
    assert symbol(doc, "loadConfig().").docstring == "Loads a config file."
    assert symbol(doc, "loadConfig().").signature == "export async function loadConfig(file)"
    assert symbol(doc, "Store#find().").docstring == "Finds one item."
    assert symbol(doc, "createStore().").signature == "export const createStore = (items) =>"


def test_javascript_imports_requires_and_calls():
    doc = parse("javascript", JAVASCRIPT_SOURCE)
    assert doc.imports == ["fs/promises", "path"]
    assert imported(doc) == [("import fs/promises readFile", 1), ("import fs/promises", 1), ("import path", 2)]
    assert calls(doc) == [
        ("require", 2), ("import fs/promises readFile", 8), ("import path join", 8), ("parse", 9), ("find", 19),
        ("Store#", 23),
    ]


TYPESCRIPT_SOURCE = """
import type { Request } from "./http";
import * as log from "./log";

export interface Handler {
  handle(req: Request): Promise<void>;
}

export type HandlerMap = Record<string, Handler>;

export enum Method { Get, Post }

export class Router implements Handler {
  private routes: HandlerMap = {};

  route(path: string): Handler;
  route(path: string, handler: Handler): void;
  route(path: string, handler?: Handler) {
    log.debug(path);
  }

  async handle(req: Request): Promise<void> {
    await this.route(req.path).handle(req);
  }
}
"""


def test_typescript_interfaces_types_enums_and_overloads():
    doc = parse("typescript", TYPESCRIPT_SOURCE)
    assert outline(doc) == [
        ("Handler#", "interface", "Handler", None, 4, 4, 6),
        ("Handler#handle().", "method", "handle", "Handler#", 5, 5, 5),
        ("HandlerMap#", "type", "HandlerMap", None, 8, 8, 8),
        ("Method#", "enum", "Method", None, 10, 10, 10),
        ("Router#", "class", "Router", None, 12, 12, 24),
        ("Router#route().", "method", "route", "Router#", 15, 15, 15),
        ("Router#route(+1).", "method", "route", "Router#", 16, 16, 16),
        ("Router#route(+2).", "method", "route", "Router#", 17, 17, 19),
        ("Router#handle().", "method", "handle", "Router#", 21, 21, 23),
    ]
    assert symbol(doc, "Router#route(+1).").signature == "route(path: string, handler: Handler): void"


def test_typescript_imports_and_calls():
    doc = parse("typescript", TYPESCRIPT_SOURCE)
    assert doc.imports == ["./http", "./log"]
    assert imported(doc) == [("import ./http Request", 1), ("import ./http", 1), ("import ./log", 2),
                             ("import ./log", 2)]
    assert calls(doc) == [("import ./log debug", 18), ("Router#route().", 22), ("handle", 22)]


TSX_SOURCE = """
import React, { useState } from "react";

type Props = { initial: number };

export function Counter({ initial }: Props) {
  const [count, setCount] = useState(initial);
  const increment = () => setCount(count + 1);
  return <button onClick={increment}>{format(count)}</button>;
}
"""


def test_tsx_components_and_nested_arrow_functions():
    doc = parse("tsx", TSX_SOURCE)
    assert outline(doc) == [
        ("Props#", "type", "Props", None, 3, 3, 3),
        ("Counter().", "function", "Counter", None, 5, 5, 9),
        ("Counter().increment().", "function", "increment", "Counter().", 7, 7, 7),
    ]
    assert doc.imports == ["react"]
    assert imported(doc) == [("import react default", 1), ("import react useState", 1), ("import react", 1)]
    set_count = [o.symbol for o in doc.occurrences if o.span.start_line == 6][1]  # `[count, setCount]`
    assert calls(doc) == [("import react useState", 6), (set_count, 7), ("format", 8)]
    assert doc.parse_errors == 0


GO_SOURCE = """
package shapes

import (
	"fmt"
	"math"
)

// Shape has an area.
type Shape interface {
	Area() float64
}

// Circle is round.
type Circle struct {
	Radius float64
}

const Pi = math.Pi

// Area of the circle.
func (c *Circle) Area() float64 {
	return Pi * c.Radius * c.Radius
}

func Describe(s Shape) string {
	return fmt.Sprintf("%.2f", s.Area())
}
"""


def test_go_types_methods_with_receiver_parent_and_constants():
    doc = parse("go", GO_SOURCE)
    assert outline(doc) == [
        ("Shape#", "interface", "Shape", None, 9, 9, 11),
        ("Shape#Area().", "method", "Area", "Shape#", 10, 10, 10),
        ("Circle#", "struct", "Circle", None, 14, 14, 16),
        ("Pi.", "constant", "Pi", None, 18, 18, 18),
        ("Circle#Area().", "method", "Area", "Circle#", 21, 21, 23),
        ("Describe().", "function", "Describe", None, 25, 25, 27),
    ]
    area = symbol(doc, "Circle#Area().")
    assert area.docstring == "Area of the circle."
    assert area.signature == "func (c *Circle) Area() float64"
    assert symbol(doc, "Circle#").docstring == "Circle is round."


def test_go_imports_and_calls():
    doc = parse("go", GO_SOURCE)
    assert doc.imports == ["fmt", "math"]
    assert imported(doc) == [("import fmt", 4), ("import math", 5)]
    assert calls(doc) == [("import fmt Sprintf", 26), ("Area", 26)]


JAVA_SOURCE = """
package com.example.greet;

import java.util.List;
import java.util.function.*;

/** Greets people politely. */
public class Greeter {
    private final List<String> names;

    public Greeter(List<String> names) {
        this.names = names;
    }

    // Greets everyone.
    public void greetAll() {
        names.forEach(name -> System.out.println(format(name)));
    }

    static String format(String name) {
        return "Hello, " + name;
    }

    static String format(String name, String title) {
        return String.join(" ", title, name);
    }

    interface Listener {
        void onGreet(String name);
    }
}
"""


def test_java_classes_constructors_overloads_and_nested_interfaces():
    doc = parse("java", JAVA_SOURCE)
    assert outline(doc) == [
        ("Greeter#", "class", "Greeter", None, 7, 7, 30),
        ("Greeter#Greeter().", "method", "Greeter", "Greeter#", 10, 10, 12),
        ("Greeter#greetAll().", "method", "greetAll", "Greeter#", 15, 15, 17),
        ("Greeter#format().", "method", "format", "Greeter#", 19, 19, 21),
        ("Greeter#format(+1).", "method", "format", "Greeter#", 23, 23, 25),
        ("Greeter#Listener#", "interface", "Listener", "Greeter#", 27, 27, 29),
        ("Greeter#Listener#onGreet().", "method", "onGreet", "Greeter#Listener#", 28, 28, 28),
    ]
    assert symbol(doc, "Greeter#").docstring == "Greets people politely."
    assert symbol(doc, "Greeter#greetAll().").docstring == "Greets everyone."
    assert symbol(doc, "Greeter#format(+1).").signature == "static String format(String name, String title)"


def test_java_imports_and_calls():
    doc = parse("java", JAVA_SOURCE)
    assert doc.imports == ["java.util.List", "java.util.function.*"]
    assert imported(doc) == [("import java.util.List", 3), ("import java.util.function", 4)]  # a star import
    assert calls(doc) == [("forEach", 16), ("println", 16), ("Greeter#format().", 16), ("join", 24)]


RUST_SOURCE = """
use std::collections::HashMap;
use std::fmt::{self, Display};

/// A key-value store.
#[derive(Debug, Default)]
pub struct Store {
    items: HashMap<String, String>,
}

pub trait Named {
    fn name(&self) -> String;
}

impl Store {
    /// Creates an empty store.
    pub fn new() -> Self {
        Store { items: HashMap::new() }
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.items.get(key)
    }
}

impl Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.items.len())
    }
}

pub enum Level { Low, High }

pub const MAX_ITEMS: usize = 64;
"""


def test_rust_impl_methods_belong_to_their_type():
    doc = parse("rust", RUST_SOURCE)
    assert outline(doc) == [
        ("Store#", "struct", "Store", None, 6, 6, 8),
        ("Named#", "trait", "Named", None, 10, 10, 12),
        ("Named#name().", "method", "name", "Named#", 11, 11, 11),
        ("Store#new().", "method", "new", "Store#", 16, 16, 18),
        ("Store#get().", "method", "get", "Store#", 20, 20, 22),
        ("Store#fmt().", "method", "fmt", "Store#", 26, 26, 28),
        ("Level#", "enum", "Level", None, 31, 31, 31),
        ("MAX_ITEMS.", "constant", "MAX_ITEMS", None, 33, 33, 33),
    ]
    assert symbol(doc, "Store#").docstring == "A key-value store."  # doc comment above #[derive]
    assert symbol(doc, "Store#new().").docstring == "Creates an empty store."
    assert symbol(doc, "Store#get().").signature == "pub fn get(&self, key: &str) -> Option<&String>"


def test_rust_use_lists_expand_to_full_paths():
    doc = parse("rust", RUST_SOURCE)
    assert doc.imports == ["std::collections::HashMap", "std::fmt", "std::fmt::Display"]
    assert calls(doc) == [("import std::collections::HashMap new", 17), ("get", 21)]


def test_nested_rust_functions_and_modules():
    doc = parse("rust", "mod net {\n    fn connect() {\n        fn retry() {}\n    }\n}\n")
    assert [(s.symbol_id, s.kind, s.parent_id) for s in doc.symbols] == [
        ("net/", "module", None),
        ("net/connect().", "function", "net/"),
        ("net/connect().retry().", "function", "net/connect()."),
    ]


def test_syntax_errors_still_yield_the_valid_definitions():
    source = "def ok():\n    return 1\n\ndef broken(:\n    pass\n\nclass Fine:\n    def m(self):\n        pass\n"
    doc = parse_document(source.encode(), "python")
    ids = [s.symbol_id for s in doc.symbols]
    assert "ok()." in ids and "Fine#" in ids and "Fine#m()." in ids
    assert doc.parse_errors > 0


def test_syntax_errors_in_java_are_counted_not_raised():
    doc = parse("java", "class A {\n  void ok() {}\n  void bad( {\n}\n")
    assert "A#ok()." in [s.symbol_id for s in doc.symbols]
    assert doc.parse_errors > 0


def test_clean_source_has_no_parse_errors():
    assert parse("python", PYTHON_SOURCE).parse_errors == 0


def test_invalid_utf8_is_replaced_not_raised():
    doc = parse_document(b'def ok():\n    "bad \xff byte"\n    return 1\n\nx = "\xfe"\n', "python")
    ok = symbol(doc, "ok().")
    assert ok.docstring == "bad \ufffd byte"
    assert doc.line_count == 5


def test_columns_are_byte_offsets():
    doc = parse_document("def café():\n    pass\n".encode(), "python")
    assert symbol(doc, "café().").span == Span(1, 4, 1, 9)  # "é" is two bytes


def test_empty_content_gives_an_empty_document():
    for language in sorted(PARSEABLE_LANGUAGES):
        assert parse_document(b"", language) == DocumentIR(language=language)


def test_line_count_counts_a_final_line_without_newline():
    assert parse_document(b"x = 1\ny = 2", "python").line_count == 2
    assert parse_document(b"x = 1\ny = 2\n", "python").line_count == 2


def test_duplicate_names_get_unique_scip_style_ids():
    doc = parse(
        "python",
        """
        try:
            class Reader:
                @property
                def size(self): return 1
                @size.setter
                def size(self, value): pass
        except ImportError:
            class Reader:
                pass
        """,
    )
    assert [s.symbol_id for s in doc.symbols] == [
        "Reader#", "Reader#size().", "Reader#size(+1).", "Reader(+1)#",
    ]


def test_go_grouped_constants_each_get_a_symbol():
    doc = parse("go", "package p\n\nconst (\n\tA, B = 1, 2\n\tC = 3\n)\n")
    assert [(s.symbol_id, s.span.start_line) for s in doc.symbols] == [("A.", 4), ("B.", 4), ("C.", 5)]


def test_unsupported_language_raises_parse_error_naming_it():
    with pytest.raises(CodegraphError) as raised:
        parse_document(b"# Title\n", "markdown")
    assert raised.value.code is ErrorCode.PARSE_ERROR
    assert "'markdown'" in raised.value.message
    assert "supported" in raised.value.message


def test_names_that_are_not_identifiers_are_backtick_escaped():
    doc = parse("javascript", "class Bag {\n  #secret() {}\n  [Symbol.iterator]() {}\n}\n")
    assert [s.symbol_id for s in doc.symbols] == ["Bag#", "Bag#`#secret`().", "Bag#`[Symbol.iterator]`()."]
    assert [s.name for s in doc.symbols] == ["Bag", "#secret", "[Symbol.iterator]"]


def test_python_module_constants_in_chained_and_unpacking_assignments():
    doc = parse("python", "A = B = 1\nC, D = 1, 2\n(E, F) = 3, 4\nlower, G = 1, 2\n\ndef f():\n    H = 1\n")
    assert [(s.symbol_id, s.kind, s.span.start_line) for s in doc.symbols] == [
        ("A.", "constant", 1), ("B.", "constant", 1), ("C.", "constant", 2), ("D.", "constant", 2),
        ("E.", "constant", 3), ("F.", "constant", 3), ("G.", "constant", 4), ("f().", "function", 6)]
