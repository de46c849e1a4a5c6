"""Go, Java and Rust specifics for `ir_lexical`: their imports, packages and receivers.

- Go: ``import m "example.com/geo/math"`` binds m (default: the path's last element) →
  ``import example.com/geo/math``; a dot import is a star import; `c` in `func (c *Circle)` is a Circle.
- Java: ``import a.b.C;`` binds C → ``import a.b.C``; ``import static a.b.C.m;`` binds m;
  ``import a.b.*;`` is a star import of the package; unqualified calls and fields inside a class are its
  members (an implicit `this`).
- Rust: ``use a::b::{self, C as D, e::*};`` binds b → ``import a::b``, D → ``import a::b::C`` and is a
  star import of ``a::b::e``; ``mod x;`` binds x → ``import self::x`` (its file); paths starting at
  `crate`, `self` or `super` resolve from the crate or module.
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from codegraph_assets.core.ir_lexical import ImportBinding, LexicalRules
from codegraph_assets.core.ir_node_text import text_of
from codegraph_assets.core.ir_python import import_target
from codegraph_assets.core.ir_symbols import simple_descriptor

_GO_UNBOUND = frozenset({"_"})  # a blank import binds nothing


def go_imports(captures: dict[str, list[Node]], content: bytes) -> list[ImportBinding]:
    found: list[ImportBinding] = []
    for spec in captures.get("import", ()):
        path_node = spec.child_by_field_name("path")
        content_node = next((c for c in path_node.named_children), None) if path_node is not None else None
        if content_node is None:
            continue
        path = text_of(content_node, content)
        alias = spec.child_by_field_name("name")
        star = alias is not None and alias.type == "dot"
        found.append(ImportBinding(None, import_target(path), content_node, star=star, module_token=True))
        bound = text_of(alias, content) if alias is not None and not star else path.rsplit("/", 1)[-1]
        if not star and bound not in _GO_UNBOUND:
            found.append(ImportBinding(bound, import_target(path), alias or content_node, occurrence=alias is not None))
    return found


def go_package(captures: dict[str, list[Node]], content: bytes) -> str:
    names = captures.get("package", ())
    return text_of(names[0], content) if names else ""


def go_receiver_type(parameter: Node, content: bytes) -> str | None:
    """The type descriptor of a Go method's receiver parameter (`c` in `func (c *Circle)`), else None."""
    declaration = parameter.parent
    if declaration is None or declaration.type != "parameter_declaration":
        return None
    parameters = declaration.parent
    method = parameters.parent if parameters is not None else None
    if method is None or method.type != "method_declaration" or method.child_by_field_name("receiver") != parameters:
        return None
    type_node = declaration.child_by_field_name("type")
    while type_node is not None and type_node.type in ("pointer_type", "generic_type"):
        type_node = type_node.child_by_field_name("type") or (type_node.named_children[0]
                                                              if type_node.named_children else None)
    return None if type_node is None else simple_descriptor(text_of(type_node, content), "type")


def java_imports(captures: dict[str, list[Node]], content: bytes) -> list[ImportBinding]:
    found: list[ImportBinding] = []
    for declaration in captures.get("import", ()):
        path_node = next((c for c in declaration.named_children if c.type in ("scoped_identifier", "identifier")), None)
        if path_node is None:
            continue
        path = "".join(text_of(path_node, content).split())
        star = any(child.type == "asterisk" for child in declaration.named_children)
        if star:
            found.append(ImportBinding(None, import_target(path), path_node, star=True, module_token=True))
            continue
        found.append(ImportBinding(path.rsplit(".", 1)[-1], import_target(path), path_node, module_token=True))
    return found


def java_package(captures: dict[str, list[Node]], content: bytes) -> str:
    for declaration in captures.get("package", ()):
        name = next((c for c in declaration.named_children if c.type in ("scoped_identifier", "identifier")), None)
        if name is not None:
            return "".join(text_of(name, content).split())
    return ""


def rust_imports(captures: dict[str, list[Node]], content: bytes) -> list[ImportBinding]:
    found: list[ImportBinding] = []
    for node in captures.get("import", ()):
        if node.type == "mod_item":  # `mod net;`: the module lives in net.rs or net/mod.rs
            name = node.child_by_field_name("name")
            if name is not None:
                module = text_of(name, content)
                found.append(ImportBinding(module, import_target(f"self::{module}"), name, occurrence=False))
            continue
        argument = node.child_by_field_name("argument")
        if argument is not None:
            found += list(_rust_use(argument, "", content))
    return found


def _rust_use(node: Node, prefix: str, content: bytes) -> Iterator[ImportBinding]:
    kind = node.type
    if kind == "use_as_clause":
        path, alias = node.child_by_field_name("path"), node.child_by_field_name("alias")
        if path is not None:
            full = _join(prefix, text_of(path, content))
            bound = text_of(alias, content) if alias is not None else full.rsplit("::", 1)[-1]
            yield ImportBinding(bound, import_target(full), path, module_token=True)
    elif kind == "scoped_use_list":
        path = node.child_by_field_name("path")
        inner = _join(prefix, text_of(path, content)) if path is not None else prefix
        use_list = node.child_by_field_name("list")
        for child in use_list.named_children if use_list is not None else ():
            yield from _rust_use(child, inner, content)
    elif kind == "use_list":
        for child in node.named_children:
            yield from _rust_use(child, prefix, content)
    elif kind == "use_wildcard":
        path = node.named_children[0] if node.named_children else None
        full = _join(prefix, text_of(path, content)) if path is not None else prefix
        yield ImportBinding(None, import_target(full), path or node, star=True, module_token=True)
    elif kind == "self" and prefix:
        yield ImportBinding(prefix.rsplit("::", 1)[-1], import_target(prefix), node, module_token=True)
    elif kind in ("identifier", "scoped_identifier", "crate", "super", "self"):
        full = _join(prefix, text_of(node, content))
        yield ImportBinding(full.rsplit("::", 1)[-1], import_target(full), node, module_token=True)


def _join(prefix: str, path: str) -> str:
    path = "".join(path.split())
    return f"{prefix}::{path}" if prefix else path


GO_RULES = LexicalRules(
    receiver_fields={"selector_expression": "operand", "qualified_type": "package"},
    self_names=frozenset(),
    super_names=frozenset(),
    imports=go_imports,
    package=go_package,
    receiver_types=go_receiver_type,
)

JAVA_RULES = LexicalRules(
    receiver_fields={"field_access": "object", "method_invocation": "object", "scoped_type_identifier": None},
    self_names=frozenset({"this"}),
    super_names=frozenset({"super"}),
    imports=java_imports,
    package=java_package,
    implicit_members=True,
)

RUST_RULES = LexicalRules(
    receiver_fields={"field_expression": "value", "scoped_identifier": "path", "scoped_type_identifier": "path"},
    self_names=frozenset({"self"}),
    super_names=frozenset(),
    imports=rust_imports,
    path_roots=frozenset({"crate", "self", "super"}),
)
