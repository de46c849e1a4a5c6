"""A CodeSearchNet-style query set from one Python project: docstring first sentences → their functions.

Every function docstring is removed from the copy that gets indexed (class and module docstrings stay),
so no query can match its own answer's text. A function is a target when it is not a test, not a dunder,
defined once under its qualified name in its file, and its first sentence has at least MIN_QUERY_WORDS
words. Its span in the indexed copy (decorators included) is what a hit must overlap.
"""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

MIN_QUERY_WORDS = 3
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_TEST_PATH = re.compile(r"(^|/)(tests?|testing)/|(^|/)test_[^/]*\.py$|_test\.py$|(^|/)conftest\.py$")


@dataclass(frozen=True)
class FunctionSpan:
    path: str
    qualname: str
    start_line: int  # 1-based inclusive, decorators included
    end_line: int
    source: str


@dataclass(frozen=True)
class Query:
    qid: str
    text: str
    target: FunctionSpan


@dataclass(frozen=True)
class Dataset:
    root: Path  # the indexed copy
    queries: list[Query]
    functions: list[FunctionSpan]  # every function of every parsed .py file: the baseline's documents
    docstrings_removed: int


def build_dataset(source: Path, target: Path) -> Dataset:
    """Copy `source` to `target` without function docstrings, and the queries over that copy."""
    shutil.copytree(source, target, symlinks=False)
    queries: list[Query] = []
    functions: list[FunctionSpan] = []
    removed = 0
    for file in sorted(target.rglob("*.py")):
        path = file.relative_to(target).as_posix()
        try:
            original = file.read_text(encoding="utf-8")
            tree = ast.parse(original)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue  # indexed as it is; no targets from it
        docstrings = {}
        for qualname, node in _functions(tree):
            body = node.body[0] if node.body else None
            if (body is not None and isinstance(body, ast.Expr) and isinstance(body.value, ast.Constant)
                    and isinstance(body.value.value, str) and body.lineno > node.lineno):
                docstrings[qualname] = (node, body)
        stripped = _without_docstrings(original, [pair for pair in docstrings.values()])
        removed += len(docstrings)
        file.write_text(stripped, encoding="utf-8")
        every, spans = _spans(path, stripped)
        functions += every
        if _TEST_PATH.search(path):
            continue
        for qualname, (node, body) in docstrings.items():
            name = qualname.rsplit(".", 1)[-1]
            text = _first_sentence(ast.get_docstring(node) or "")
            if (qualname in spans and not name.startswith("test") and not (name.startswith("__") and name.endswith("__"))
                    and len(text.split()) >= MIN_QUERY_WORDS):
                queries.append(Query(f"{path}::{qualname}", text, spans[qualname]))
    return Dataset(target, queries, functions, removed)


def _functions(tree: ast.AST, prefix: str = ""):
    """(qualified name, node) of every function, methods and nested ones included, in source order."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            qualname = f"{prefix}{node.name}"
            if not isinstance(node, ast.ClassDef):
                yield qualname, node
            yield from _functions(node, qualname + ".")
        else:
            yield from _functions(node, prefix)


def _without_docstrings(source: str, docstrings: list[tuple[ast.AST, ast.Expr]]) -> str:
    """The docstring lines deleted; a body left empty gets `...` in their place."""
    lines = source.splitlines(keepends=True)
    for node, body in sorted(docstrings, key=lambda pair: -pair[1].lineno):
        first, last = body.lineno - 1, body.end_lineno  # 0-based start, exclusive end
        replacement = []
        if len(node.body) == 1:
            indent = re.match(r"\s*", lines[first]).group()
            replacement = [f"{indent}...\n"]
        lines[first:last] = replacement
    return "".join(lines)


def _spans(path: str, source: str) -> tuple[list[FunctionSpan], dict[str, FunctionSpan]]:
    """Every function of the indexed copy, and those by qualified name (names defined twice are left out
    there: a property's getter and setter, say, are ambiguous targets)."""
    lines = source.splitlines()
    every: list[FunctionSpan] = []
    spans: dict[str, FunctionSpan] = {}
    seen: set[str] = set()
    for qualname, node in _functions(ast.parse(source)):
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        span = FunctionSpan(path, qualname, start, node.end_lineno, "\n".join(lines[start - 1:node.end_lineno]))
        every.append(span)
        if qualname in seen:
            spans.pop(qualname, None)
        else:
            spans[qualname] = span
        seen.add(qualname)
    return every, spans


def _first_sentence(docstring: str) -> str:
    paragraph = docstring.strip().split("\n\n", 1)[0]
    sentence = _SENTENCE_END.split(" ".join(paragraph.split()), 1)[0]
    return sentence.strip()
