"""Definitions found by the definitions query, turned into `Symbol`s with nested SCIP-style ids."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node

from codegraph_assets.core.ir_grammars import Grammar
from codegraph_assets.core.ir_model import Symbol
from codegraph_assets.core.ir_node_text import (
    COMMENT_TYPES,
    leading_comment,
    python_docstring,
    signature_of,
    span_of,
    text_of,
)

TYPE_KINDS = frozenset({"class", "interface", "struct", "enum", "trait", "type"})
CALLABLE_KINDS = frozenset({"function", "method"})
_IMPL_SCOPE = "impl"  # a Rust impl block: a parent that is not a symbol of its own

# Right-hand sides of a Go type spec that name a more precise kind than "type".
_KIND_BY_TYPE_VALUE = {"struct_type": "struct", "interface_type": "interface"}

# Parents that belong to the definition they hold (for the enclosing range and the doc comment).
_ALWAYS_WRAPPING = frozenset({"decorated_definition", "export_statement", "ambient_declaration"})
# Parents that belong to it only when it is their sole declaration (`const f = () => 1;`, `type T int`).
_WRAPPING_WHEN_SOLE = frozenset(
    {"lexical_declaration", "variable_declaration", "type_declaration", "const_declaration"}
)

_SIMPLE_NAME = re.compile(r"[\w$+\-]+")  # SCIP simple identifiers, Unicode letters allowed


@dataclass(slots=True)
class _Definition:
    node: Node  # decides nesting: definitions inside its range are its children
    name: Node | None
    kind: str
    value: Node | None = None  # a function bound to a variable: its body ends the signature
    receiver: Node | None = None  # a Go method's receiver type
    impl_type: Node | None = None  # a Rust impl block's self type


Captures = dict[str, list[Node]]  # one query match: capture name -> nodes


def extract_symbols(grammar: Grammar, definition_matches: list[Captures], content: bytes) -> list[Symbol]:
    """Every definition the query matched, in document order, with unique document-relative ids."""
    definitions = _definitions(definition_matches)
    definitions.sort(key=lambda d: (d.node.start_byte, -d.node.end_byte, d.name.start_byte if d.name else 0))
    symbols: list[Symbol] = []
    open_scopes: list[tuple[int, int, str, str]] = []  # (start, end, id, kind) of enclosing definitions
    id_counts: dict[str, int] = {}
    for definition in definitions:
        start, end = definition.node.start_byte, definition.node.end_byte
        # Same-range entries are siblings (Go `const a, b = 1, 2`), not parent and child.
        while open_scopes and (open_scopes[-1][1] <= start or open_scopes[-1][:2] == (start, end)):
            open_scopes.pop()
        parent_id, parent_kind = open_scopes[-1][2:] if open_scopes else (None, None)
        if definition.impl_type is not None:
            scope_id = (parent_id or "") + _descriptor(_base_type_name(definition.impl_type, content), "type")
            open_scopes.append((start, end, scope_id, _IMPL_SCOPE))
            continue
        if definition.receiver is not None:
            parent_id = _descriptor(_base_type_name(definition.receiver, content), "type")
            parent_kind = "struct"
        kind = definition.kind
        if kind == "function" and (parent_kind in TYPE_KINDS or parent_kind == _IMPL_SCOPE):
            kind = "method"
        name = text_of(definition.name, content)
        base_id = (parent_id or "") + _descriptor(name, kind)
        duplicates = id_counts.get(base_id, 0)
        id_counts[base_id] = duplicates + 1
        symbol_id = base_id if duplicates == 0 else (parent_id or "") + _descriptor(name, kind, duplicates)
        open_scopes.append((start, end, symbol_id, kind))
        symbols.append(_symbol(grammar, definition, symbol_id, kind, name, parent_id, content))
    return symbols


def _definitions(definition_matches: list[Captures]) -> list[_Definition]:
    definitions: list[_Definition] = []
    for captures in definition_matches:
        if "scope.impl" in captures:
            node = captures["scope.impl"][0]
            definitions.append(_Definition(node, None, _IMPL_SCOPE, impl_type=captures["impl_type"][0]))
            continue
        capture, nodes = next((key, nodes) for key, nodes in captures.items() if key.startswith("def."))
        kind = capture[len("def.") :]
        if "type_value" in captures:
            kind = _KIND_BY_TYPE_VALUE.get(captures["type_value"][0].type, kind)
        value = captures["value"][0] if "value" in captures else None
        receiver = captures["receiver"][0] if "receiver" in captures else None
        for name in captures.get("name", ()):
            definitions.append(_Definition(nodes[0], name, kind, value=value, receiver=receiver))
    return definitions


def _symbol(
    grammar: Grammar, definition: _Definition, symbol_id: str, kind: str, name: str,
    parent_id: str | None, content: bytes,
) -> Symbol:
    outer = _outermost(definition.node)
    header = definition.node if outer.type == "decorated_definition" else outer  # no decorators
    body_owner = definition.value if definition.value is not None else definition.node
    if grammar.name == "python":
        docstring = python_docstring(definition.node, content) if kind != "constant" else ""
    else:
        docstring = leading_comment(outer, content)
    return Symbol(
        symbol_id=symbol_id,
        kind=kind,
        name=name,
        span=span_of(definition.name),
        enclosing=span_of(outer),
        parent_id=parent_id,
        signature=signature_of(header, body_owner.child_by_field_name("body"), content),
        docstring=docstring,
    )


def _outermost(node: Node) -> Node:
    """The definition widened by the parents that belong to it (decorators, `export`, `const`)."""
    while (parent := node.parent) is not None:
        if parent.type in _ALWAYS_WRAPPING or (parent.type in _WRAPPING_WHEN_SOLE and _is_sole_child(parent)):
            node = parent
        else:
            return node
    return node


def _is_sole_child(parent: Node) -> bool:
    return sum(1 for child in parent.named_children if child.type not in COMMENT_TYPES) == 1


def _base_type_name(type_node: Node, content: bytes) -> str:
    """`Point` for `*Point`, `Point[T]`, `Foo<T>` or `a::Foo`: the type a method belongs to."""
    node = type_node
    while True:
        if node.type in ("pointer_type", "reference_type", "parenthesized_type"):
            inner = node.child_by_field_name("type") or (node.named_children[-1] if node.named_child_count else None)
        elif node.type in ("generic_type", "scoped_type_identifier", "qualified_type"):
            inner = node.child_by_field_name("type") or node.child_by_field_name("name")
        else:
            return text_of(node, content)
        if inner is None:
            return text_of(node, content)
        node = inner


def simple_descriptor(name: str, kind: str) -> str:
    """The SCIP descriptor of one name of a kind: `f().`, `Point#`, `net/`, `CONFIG.` (variables too)."""
    return _descriptor(name, kind)


def _descriptor(name: str, kind: str, duplicate: int = 0) -> str:
    """The SCIP descriptor for one name; `duplicate` > 0 disambiguates like SCIP overloads (`f(+1).`)."""
    if not _SIMPLE_NAME.fullmatch(name):
        name = "`" + name.replace("`", "``") + "`"
    suffix = f"(+{duplicate})" if duplicate else ""
    if kind in CALLABLE_KINDS:
        return f"{name}{suffix or '()'}."
    if kind in TYPE_KINDS:
        return f"{name}{suffix}#"
    if kind == "module":
        return f"{name}{suffix}/"
    return f"{name}{suffix}."
