"""Python ground truth for bench/ir_accuracy.py: definitions from the stdlib `ast`, go-to-definition from jedi.

Definitions, ast node → our kind (the mapping README "Benchmarks → IR accuracy" documents):
- `ClassDef` anywhere → class;
- `FunctionDef` / `AsyncFunctionDef` whose nearest enclosing definition is a class → method, else function
  (module level, nested in a function, or under `if`/`try` at any level);
- constant: a name in UPPER_CASE (`^[A-Z][A-Z0-9_]*$`) bound by an `Assign` or a valued `AnnAssign` that
  is a statement of the module body itself (not under `if`/`try`), each name of a chained (`A = B = 1`)
  or unpacking (`A, B = 1, 2`) target included.
The line is the name's line (`def`/`class` line; decorators are not part of it, as in `ast` since 3.8).

Reference sites: every `Name` read (`Load`) and every attribute name read (`a.b` → `b`), in the files we
parse; a seeded sample of them is asked of jedi's `Script.goto(follow_imports=True)` in a project whose
sys.path is the corpus root and the standard library only, so names never resolve into another copy of
the package that happens to be installed.
"""

from __future__ import annotations

import ast
import random
import re
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_CONSTANT_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


@dataclass(frozen=True, slots=True)
class Definition:
    path: str
    name: str
    kind: str
    line: int


@dataclass(frozen=True, slots=True)
class Site:
    """A reference site: 1-based line, 0-based UTF-8 byte column (as ast and our IR count)."""

    path: str
    line: int
    column: int
    name: str


def definitions(root: Path, paths: list[str]) -> set[Definition]:
    found: set[Definition] = set()
    for path in paths:
        tree = ast.parse((root / path).read_bytes(), filename=path)
        found.update(Definition(path, name, kind, line) for name, kind, line in _definitions(tree))
    return found


def _definitions(tree: ast.Module) -> Iterator[tuple[str, str, int]]:
    for statement in tree.body:
        targets = statement.targets if isinstance(statement, ast.Assign) else \
            [statement.target] if isinstance(statement, ast.AnnAssign) and statement.value is not None else []
        for target in targets:
            for name in _bound_names(target):
                if _CONSTANT_NAME.fullmatch(name.id):
                    yield name.id, "constant", name.lineno
    yield from _callables(tree, parent_is_class=False)


def _callables(node: ast.AST, parent_is_class: bool) -> Iterator[tuple[str, str, int]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef):
            yield child.name, "class", child.lineno
            yield from _callables(child, parent_is_class=True)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield child.name, "method" if parent_is_class else "function", child.lineno
            yield from _callables(child, parent_is_class=False)
        else:  # statements and expressions do not change the enclosing definition
            yield from _callables(child, parent_is_class)


def _bound_names(target: ast.expr) -> Iterator[ast.Name]:
    if isinstance(target, ast.Name):
        yield target
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _bound_names(element.value if isinstance(element, ast.Starred) else element)


def reference_sites(root: Path, paths: list[str]) -> list[Site]:
    sites: list[Site] = []
    for path in paths:
        for node in ast.walk(ast.parse((root / path).read_bytes(), filename=path)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                sites.append(Site(path, node.lineno, node.col_offset, node.id))
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                # The attribute name ends the node; a name of ASCII letters, as Python identifiers mostly are.
                sites.append(Site(path, node.end_lineno, node.end_col_offset - len(node.attr.encode()), node.attr))
    return sorted(set(sites), key=lambda s: (s.path, s.line, s.column))


def sample(sites: list[Site], size: int, seed: int) -> list[Site]:
    return sorted(random.Random(seed).sample(sites, min(size, len(sites))), key=lambda s: (s.path, s.line, s.column))


def jedi_targets(root: Path, sites: list[Site]) -> dict[Site, set[tuple[str, int]]]:
    """site → {(path, line)} of jedi's go-to-definition answers that lie inside the corpus."""
    import jedi

    project = jedi.Project(path=root, sys_path=[str(root), sysconfig.get_paths()["stdlib"]], smart_sys_path=False)
    answers: dict[Site, set[tuple[str, int]]] = {}
    lines_of: dict[str, list[bytes]] = {}
    for site in sites:
        lines = lines_of.setdefault(site.path, (root / site.path).read_bytes().split(b"\n"))
        character = len(lines[site.line - 1][:site.column].decode("utf-8"))  # jedi counts code points
        script = jedi.Script(path=str(root / site.path), project=project)
        found = set()
        for name in script.goto(site.line, character, follow_imports=True):
            module = name.module_path
            if module is not None and name.line is not None and Path(module).is_relative_to(root):
                found.add((Path(module).relative_to(root).as_posix(), name.line))
        answers[site] = found
    return answers
