"""Which files of a repository a module name means, per language: the file half of cross-file resolution.

Every function answers from the repository's own paths and returns [] when the module is not in the
repository (a third-party or standard-library import) or when several files could be meant: resolution
never guesses. A module is a list of files because a Go package or a Java package is a directory.

- Python: an absolute `a.b` is `a/b.py`, `a/b.pyi` or `a/b/__init__.py` under a source root, the places
  sys.path holds: the repository root, a `src/` or `lib/` directory, a directory with a `setup.py`; never
  a package (a directory with `__init__.py`) or a directory inside one. So `import json` in
  `pkg/highlighter.py` is the standard library's, not `pkg/json.py`: Python 3 never imports absolutely
  from the importer's package. Among several roots, the one closest to the importer wins. Relative
  imports (`.x`, `..`) count directories up from the importer.
- JavaScript/TypeScript: relative specifiers (`./x`, `../y/z`) with the usual extensions and `index` files;
  bare specifiers (`react`) are packages, not ours.
- Go: an import path names the directory whose path it ends with (the module prefix from go.mod is
  whatever comes before); its non-test `.go` files.
- Java: `a.b.C` is the file ending in `a/b/C.java`; `a.b` (from `a.b.*` or a same-package lookup) the
  `.java` files of the directory ending in `a/b`.
- Rust: `crate::a::b` from the crate root (the directory of the nearest `lib.rs`/`main.rs` above the
  importer), `self::`/`super::` from the importer's module; `a` is `a.rs` or `a/mod.rs`.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Mapping

_PYTHON_SUFFIXES = (".py", ".pyi")
# Directory names that conventionally sit on sys.path (PyPA's src layout; `lib/` as matplotlib has it).
_PYTHON_SOURCE_DIRECTORIES = frozenset({"src", "lib"})
_PYTHON_PROJECT_FILE = "setup.py"  # a nested project's root: its packages import from there
_ECMASCRIPT_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_ECMASCRIPT_LANGUAGES = frozenset({"javascript", "typescript", "tsx"})


class ModuleIndex:
    """The files of one snapshot, indexed for module lookups (built once per resolution)."""

    def __init__(self, languages: Mapping[str, str]) -> None:
        self.languages = languages  # path → language
        self.paths = frozenset(languages)
        self._python_by_last: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        self._directories: dict[str, list[str]] = defaultdict(list)  # directory → files, per language below
        for path, language in languages.items():
            directory = posixpath.dirname(path)
            self._directories[directory].append(path)
            if language == "python":
                parts = _python_parts(path)
                if parts:
                    self._python_by_last[parts[-1]].append((parts, path))

    # -- Python ------------------------------------------------------------------------------------
    def python(self, module: str, importer: str) -> list[str]:
        """The file a Python import means, from the importer's position."""
        level = len(module) - len(module.lstrip("."))
        names = [part for part in module[level:].split(".") if part]
        if level:
            directory = posixpath.dirname(importer)
            for _ in range(level - 1):
                if not directory:
                    return []
                directory = posixpath.dirname(directory)
            return self._python_file(posixpath.join(directory, *names) if names else directory, package_only=not names)
        if not names:
            return []
        candidates = [path for parts, path in self._python_by_last.get(names[-1], ())
                      if parts[-len(names):] == tuple(names) and self._is_python_root(_root_of(path, len(names)))]
        return _one_best(candidates, importer, len(names))

    def _is_python_root(self, directory: str) -> bool:
        """Whether absolute imports start at `directory` (see the module docstring)."""
        ancestor = directory
        while ancestor:  # a package, or a directory inside one, is imported by its dotted name instead
            if self._is_python_package(ancestor):
                return False
            ancestor = posixpath.dirname(ancestor)
        return (directory == "" or posixpath.basename(directory) in _PYTHON_SOURCE_DIRECTORIES
                or posixpath.join(directory, _PYTHON_PROJECT_FILE) in self.paths)

    def _is_python_package(self, directory: str) -> bool:
        return any(posixpath.join(directory, "__init__" + suffix) in self.paths for suffix in _PYTHON_SUFFIXES)

    def _python_file(self, base: str, *, package_only: bool = False) -> list[str]:
        options = [] if package_only else [base + suffix for suffix in _PYTHON_SUFFIXES]
        options += [posixpath.join(base, "__init__" + suffix) for suffix in _PYTHON_SUFFIXES]
        return next(([option] for option in options if option in self.paths), [])

    # -- JavaScript / TypeScript -------------------------------------------------------------------
    def ecmascript(self, specifier: str, importer: str) -> list[str]:
        if not specifier.startswith((".", "/")):
            return []
        base = posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))
        if base.startswith(".."):
            return []
        stem = base.rsplit(".", 1)[0] if base.endswith((".js", ".jsx", ".mjs", ".cjs")) else None
        options = [base] + [base + extension for extension in _ECMASCRIPT_EXTENSIONS]
        if stem is not None:  # TypeScript imports `./x.js` meaning `./x.ts`
            options += [stem + extension for extension in _ECMASCRIPT_EXTENSIONS]
        options += [posixpath.join(base, "index" + extension) for extension in _ECMASCRIPT_EXTENSIONS]
        return next(([option] for option in options if option in self.paths
                     and self.languages[option] in _ECMASCRIPT_LANGUAGES), [])

    # -- Go ----------------------------------------------------------------------------------------
    def go(self, import_path: str, importer: str) -> list[str]:
        matches = [directory for directory in self._directories
                   if directory and (import_path == directory or import_path.endswith("/" + directory))
                   and self._go_files(directory)]
        if not matches:
            return []
        longest = max(len(directory) for directory in matches)
        best = [directory for directory in matches if len(directory) == longest]
        return self._go_files(best[0]) if len(best) == 1 else []

    def go_package(self, importer: str) -> list[str]:
        """The other files of the importer's own package (its directory)."""
        return [path for path in self._go_files(posixpath.dirname(importer)) if path != importer]

    def _go_files(self, directory: str) -> list[str]:
        return sorted(path for path in self._directories.get(directory, ())
                      if self.languages[path] == "go" and not path.endswith("_test.go"))

    # -- Java --------------------------------------------------------------------------------------
    def java(self, name: str, importer: str) -> list[str]:
        """A class (`a.b.C`) → its file; a package (`a.b`) → its files."""
        parts = [part for part in name.split(".") if part and part != "*"]
        if not parts:
            return []
        suffix = "/".join(parts)
        files = [path for path in self.paths if self.languages[path] == "java"
                 and (path == suffix + ".java" or path.endswith("/" + suffix + ".java"))]
        if files:
            return _one_best(files, importer, len(parts))
        directories = [directory for directory in self._directories
                       if directory == suffix or directory.endswith("/" + suffix)]
        if len(directories) != 1:
            return []
        return self.java_directory(directories[0])

    def java_directory(self, directory: str) -> list[str]:
        return sorted(path for path in self._directories.get(directory, ()) if self.languages[path] == "java")

    # -- Rust --------------------------------------------------------------------------------------
    def rust(self, path: str, importer: str) -> tuple[list[str], list[str]]:
        """(the file of the longest module prefix of a `use` path, the names left after it)."""
        segments = [segment for segment in path.split("::") if segment]
        if not segments:
            return [], []
        if segments[0] in ("self", "super"):
            module_file: str | None = importer
            while segments and segments[0] in ("self", "super"):
                if segments[0] == "super":
                    module_file = self._rust_parent(module_file)
                    if module_file is None:
                        return [], []
                segments = segments[1:]
        else:  # `crate::a`, or (2018 edition) a path starting at one of the crate root's modules
            module_file = self._rust_crate_root(importer)
            if module_file is None:
                return [], []
            if segments[0] == "crate":
                segments = segments[1:]
        directory = _rust_children_directory(module_file)
        current = module_file
        for index, segment in enumerate(segments):
            child = next((option for option in (posixpath.join(directory, segment + ".rs"),
                                                posixpath.join(directory, segment, "mod.rs"))
                          if option in self.paths), None)
            if child is None:
                return [current], segments[index:]
            current, directory = child, _rust_children_directory(child)
        return [current], []

    def _rust_crate_root(self, importer: str) -> str | None:
        directory = posixpath.dirname(importer)
        while True:
            for name in ("lib.rs", "main.rs"):
                candidate = posixpath.join(directory, name)
                if candidate in self.paths:
                    return candidate
            if not directory:
                return None
            directory = posixpath.dirname(directory)

    def _rust_parent(self, module_file: str) -> str | None:
        directory = posixpath.dirname(module_file)
        name = posixpath.basename(module_file)
        if name in ("mod.rs", "lib.rs", "main.rs"):
            directory = posixpath.dirname(directory)
        for option in (directory + ".rs", posixpath.join(directory, "mod.rs"), posixpath.join(directory, "lib.rs"),
                       posixpath.join(directory, "main.rs")):
            if option in self.paths:
                return option
        return None


def _rust_children_directory(module_file: str) -> str:
    """Where a Rust module's child modules live: beside `mod.rs`/`lib.rs`/`main.rs`, else in `name/`."""
    name = posixpath.basename(module_file)
    if name in ("mod.rs", "lib.rs", "main.rs"):
        return posixpath.dirname(module_file)
    return module_file[: -len(".rs")]


def _python_parts(path: str) -> tuple[str, ...]:
    if not path.endswith(_PYTHON_SUFFIXES):
        return ()
    parts = path.rsplit(".", 1)[0].split("/")
    return tuple(parts[:-1]) if parts[-1] == "__init__" else tuple(parts)


def _one_best(candidates: list[str], importer: str, depth: int) -> list[str]:
    """The one candidate to take: alone, or the only one at the deepest source root that encloses the
    importer (a nested project's own copy); `.py` over `.pyi` for the same module. [] when it stays ambiguous."""
    if len(candidates) > 1:
        sources = [path for path in candidates if not path.endswith(".pyi")]
        stubs_only = {path.rsplit(".", 1)[0] for path in candidates} == {path.rsplit(".", 1)[0] for path in sources}
        candidates = sources if sources and stubs_only else candidates
    if len(candidates) <= 1:
        return candidates
    importer_directory = posixpath.dirname(importer)
    by_root: dict[str, list[str]] = defaultdict(list)
    for path in candidates:
        root = _root_of(path, depth)
        if root == "" or importer_directory == root or importer_directory.startswith(root + "/"):
            by_root[root].append(path)
    if not by_root:
        return []
    deepest = max(by_root, key=len)  # the root closest to the importer wins (a nested project)
    return by_root[deepest] if len(by_root[deepest]) == 1 else []


def _root_of(path: str, depth: int) -> str:
    """The source root a module path hangs from: the path without its `depth` module components."""
    parts = path.split("/")
    if parts[-1].startswith("__init__."):
        parts = parts[:-1]
    return "/".join(parts[:-depth])
