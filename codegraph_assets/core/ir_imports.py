"""Imports (module/path strings as written) and call references, read with the per-language queries."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from codegraph_assets.core.ir_model import Occurrence, Span, SymbolRole
from codegraph_assets.core.ir_python import import_target, python_imports
from codegraph_assets.core.ir_node_text import span_between, span_of, text_of

_CALL_ROLES = SymbolRole.REFERENCE | SymbolRole.READ


def extract_imports(import_captures: list[tuple[str, Node]], content: bytes) -> tuple[list[str], list[Occurrence]]:
    """The imported module strings (deduplicated, in order) and an IMPORT occurrence per module and name.
    A module's occurrence has the target ``import <module>``; a name's, ``import <module> <name>`` where
    the language ties names to their module in the syntax (Python), else the name as written."""
    found: list[tuple[int, str, Span, str | None]] = []  # (start byte, symbol, span, module string or None)
    for capture, node in import_captures:
        if capture == "module":
            module = text_of(node, content)
            found.append((node.start_byte, import_target(module), span_of(node), module))
        elif capture == "imported":
            found.append((node.start_byte, text_of(node, content), span_of(node), None))
        elif capture == "python_import":
            found.extend((i.node.start_byte, i.target, span_of(i.node), i.module if i.member is None else None)
                         for i in python_imports([node], content) if i.occurrence)
        elif capture == "java_import":
            found.extend(_java_import(node, content))
        elif capture == "use_tree":
            for path, leaf in _rust_use_paths(node, "", content):
                found.append((leaf.start_byte, import_target(path), span_of(leaf), path))
    found.sort(key=lambda item: item[0])
    modules = list(dict.fromkeys(module for _, _, _, module in found if module is not None))
    occurrences = [Occurrence(symbol, span, SymbolRole.IMPORT) for _, symbol, span, _ in found]
    return modules, occurrences


def call_references(callees: list[Node], content: bytes) -> list[Occurrence]:
    """A REFERENCE|READ occurrence for the called name of every call (`c` in `a.b.c()`)."""
    return [Occurrence(text_of(node, content), span_of(node), _CALL_ROLES) for node in callees]


def _java_import(declaration: Node, content: bytes) -> list[tuple[int, str, Span, str | None]]:
    # `import static a.b.C.m;` / `import a.b.*;`: the path runs from the name to the optional `*`.
    path_types = ("scoped_identifier", "identifier", "asterisk")
    parts = [child for child in declaration.named_children if child.type in path_types]
    if not parts:
        return []
    first, last = parts[0], parts[-1]
    path = "".join(content[first.start_byte : last.end_byte].decode("utf-8", errors="replace").split())
    return [(first.start_byte, import_target(path), span_between(first, last), path)]


def _rust_use_paths(node: Node, prefix: str, content: bytes) -> Iterator[tuple[str, Node]]:
    """Each path a `use` tree imports, expanded: `a::{b, c::d}` gives `a::b` and `a::c::d`."""
    kind = node.type
    if kind == "use_as_clause":
        path = node.child_by_field_name("path")
        if path is not None:
            yield from _rust_use_paths(path, prefix, content)
    elif kind == "scoped_use_list":
        path = node.child_by_field_name("path")
        inner_prefix = _join_rust_path(prefix, text_of(path, content)) if path is not None else prefix
        use_list = node.child_by_field_name("list")
        if use_list is not None:
            yield from _rust_use_paths(use_list, inner_prefix, content)
    elif kind == "use_list":
        for child in node.named_children:
            yield from _rust_use_paths(child, prefix, content)
    elif kind == "self" and prefix:
        yield prefix, node  # `a::{self}` imports `a` itself
    elif kind not in ("line_comment", "block_comment"):
        yield _join_rust_path(prefix, text_of(node, content)), node


def _join_rust_path(prefix: str, path: str) -> str:
    path = "".join(path.split())
    return f"{prefix}::{path}" if prefix else path
