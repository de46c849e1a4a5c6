"""JavaScript/TypeScript specifics for `ir_lexical`: ES imports, `require`, and what a module exports.

``import D, { a as b } from "./m"`` binds D → ``import ./m default`` and b → ``import ./m a``;
``import * as ns`` binds ns → ``import ./m``; ``const { x } = require("./m")`` binds x → ``import ./m x``.
A module exports its top-level bindings, plus `export { a as b }` (b), `export default …` (default), and
re-exports: `export { x } from "./z"` (x → ``import ./z x``), `export * from "./w"` (a star import).
"""

from __future__ import annotations

from tree_sitter import Node

from codegraph_assets.core.ir_lexical import ImportBinding, LexicalRules
from codegraph_assets.core.ir_node_text import text_of
from codegraph_assets.core.ir_python import import_target

DEFAULT_EXPORT = "default"


def ecmascript_imports(captures: dict[str, list[Node]], content: bytes) -> list[ImportBinding]:
    found: list[ImportBinding] = []
    for statement in captures.get("import", ()):
        source = _source(statement, content)
        if source is None:
            continue
        module, source_node = source
        found.append(ImportBinding(None, import_target(module), source_node, module_token=True))
        clause = next((child for child in statement.named_children if child.type == "import_clause"), None)
        for child in clause.named_children if clause is not None else ():
            if child.type == "identifier":
                found.append(ImportBinding(text_of(child, content), import_target(module, DEFAULT_EXPORT), child))
            elif child.type == "namespace_import":
                name = child.named_children[0] if child.named_children else None
                if name is not None:
                    found.append(ImportBinding(text_of(name, content), import_target(module), name))
            elif child.type == "named_imports":
                for specifier in child.named_children:
                    if specifier.type != "import_specifier":
                        continue
                    name = specifier.child_by_field_name("name")
                    alias = specifier.child_by_field_name("alias") or name
                    found.append(ImportBinding(text_of(alias, content),
                                               import_target(module, text_of(name, content)), alias))
    for statement in captures.get("export", ()):
        source = _source(statement, content)
        if source is None:
            continue
        module, source_node = source
        clause = next((c for c in statement.named_children if c.type in ("export_clause", "namespace_export")), None)
        found.append(ImportBinding(None, import_target(module), source_node, star=clause is None, module_token=True))
        if clause is not None and clause.type == "export_clause":
            for specifier in clause.named_children:
                name = specifier.child_by_field_name("name")
                if name is not None:
                    found.append(ImportBinding(None, import_target(module, text_of(name, content)), name))
    found += _requires(captures.get("pattern", ()), content)
    return found


def ecmascript_exports(captures: dict[str, list[Node]], content: bytes, bindings: dict[str, str]) -> dict[str, str]:
    exports: dict[str, str] = {}
    for statement in captures.get("export", ()):
        source = _source(statement, content)
        module = source[0] if source is not None else None
        for child in statement.named_children:
            if child.type == "export_clause":
                for specifier in child.named_children:
                    name = specifier.child_by_field_name("name")
                    if name is None:
                        continue
                    alias = text_of(specifier.child_by_field_name("alias") or name, content)
                    local = text_of(name, content)
                    target = import_target(module, local) if module is not None else bindings.get(local)
                    if target is not None:
                        exports[alias] = target
            elif child.type == "namespace_export" and module is not None and child.named_children:
                exports[text_of(child.named_children[0], content)] = import_target(module)
        if _is_default(statement):
            declaration = statement.child_by_field_name("declaration") or statement.child_by_field_name("value")
            name = declaration.child_by_field_name("name") if declaration is not None else None
            named = name if name is not None else declaration
            if named is not None and named.type in ("identifier", "type_identifier"):
                target = bindings.get(text_of(named, content))
                if target is not None:
                    exports[DEFAULT_EXPORT] = target
    return exports


def _is_default(statement: Node) -> bool:
    return any(child.type == "default" for child in statement.children)


def _source(statement: Node, content: bytes) -> tuple[str, Node] | None:
    source = statement.child_by_field_name("source")
    if source is None:
        return None
    fragment = next((child for child in source.named_children if child.type == "string_fragment"), None)
    return None if fragment is None else (text_of(fragment, content), fragment)


def _requires(patterns: list[Node], content: bytes) -> list[ImportBinding]:
    """`const x = require("./m")` and `const { a, b: c } = require("./m")`."""
    found: list[ImportBinding] = []
    for pattern in patterns:
        declarator = pattern.parent
        if declarator is None or declarator.type != "variable_declarator":
            continue
        value = declarator.child_by_field_name("value")
        module = _required_module(value, content)
        if module is None:
            continue
        if pattern.type == "identifier":
            found.append(ImportBinding(text_of(pattern, content), import_target(module), pattern))
        elif pattern.type == "object_pattern":
            for entry in pattern.named_children:
                if entry.type == "shorthand_property_identifier_pattern":
                    name = text_of(entry, content)
                    found.append(ImportBinding(name, import_target(module, name), entry))
                elif entry.type == "pair_pattern":
                    key, bound = entry.child_by_field_name("key"), entry.child_by_field_name("value")
                    if key is not None and bound is not None and bound.type == "identifier":
                        found.append(ImportBinding(text_of(bound, content),
                                                   import_target(module, text_of(key, content)), bound))
    return found


def _required_module(value: Node | None, content: bytes) -> str | None:
    if value is None or value.type != "call_expression":
        return None
    function, arguments = value.child_by_field_name("function"), value.child_by_field_name("arguments")
    if function is None or arguments is None or text_of(function, content) != "require":
        return None
    first = arguments.named_children[0] if arguments.named_children else None
    if first is None or first.type != "string":
        return None
    fragment = next((child for child in first.named_children if child.type == "string_fragment"), None)
    return None if fragment is None else text_of(fragment, content)


ECMASCRIPT_RULES = LexicalRules(
    receiver_fields={"member_expression": "object", "nested_type_identifier": "module"},
    self_names=frozenset({"this"}),
    super_names=frozenset({"super"}),
    imports=ecmascript_imports,
    exports=ecmascript_exports,
)
