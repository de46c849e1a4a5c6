"""Repository-level resolution: document-level targets bound to definitions in other files of a snapshot.

A document knows what its names mean only up to its own imports (`import .models User save`,
`member Admin# save`, see `ir_model`). This module follows those through the repository: the import's
module to its file(s) (`ir_modules`), the name to that file's exports, re-exports and star imports to
where they lead, members to the class that defines them or, failing that, to its bases in order. What
the repository does not define (the standard library, packages, builtins, an unknown receiver) stays
unresolved; so does whatever could mean more than one file.

It reads only `DocumentIR.interface()` and `language` of each document, so a whole repository's worth
fits in memory without its occurrences.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterable, Mapping

from codegraph_assets.core.ir_model import (
    DocumentInterface,
    DocumentIR,
    TargetForm,
    is_descriptor,
    qualified_symbol_id,
)
from codegraph_assets.core.ir_modules import ModuleIndex

# Bump when resolution logic changes in a way that alters its output for unchanged documents.
RESOLVER_VERSION = "2"  # 2: Python absolute imports only from source roots

Location = tuple[str, str]  # (path, document-relative descriptor); "" = the file (module) itself
_TYPE_SUFFIX = "#"
_ECMASCRIPT = frozenset({"javascript", "typescript", "tsx"})
_STARS_BIND_NAMES = frozenset({"python", "go", "java", "rust"})  # `from m import *`, `. "m"`, `a.*`, `m::*`


class RepositoryResolver:
    """Resolves document-level targets of one snapshot's documents (path → DocumentIR)."""

    def __init__(self, documents: Mapping[str, DocumentIR]) -> None:
        self.documents = documents
        self.index = ModuleIndex({path: document.language for path, document in documents.items()})
        self._interfaces: dict[str, DocumentInterface] = {}
        self._located: dict[tuple[str, str], Location | None] = {}

    def resolve(self, path: str, target: str) -> str | None:
        """The repository-wide symbol id a document-level target of `path` means, or None."""
        location = self.locate(path, target)
        return None if location is None else qualified_symbol_id(*location)

    def resolve_document(self, path: str) -> dict[str, str]:
        """Every target of the document that needs the repository, mapped to what it resolves to (the
        unresolved ones left out)."""
        resolved = {}
        for target in self.interface(path).externals:
            symbol = self.resolve(path, target)
            if symbol is not None:
                resolved[target] = symbol
        return resolved

    def interface(self, path: str) -> DocumentInterface:
        interface = self._interfaces.get(path)
        if interface is None:
            interface = self._interfaces[path] = self.documents[path].interface()
        return interface

    # -- targets -----------------------------------------------------------------------------------
    def locate(self, path: str, target: str, seen: frozenset[tuple[str, str]] = frozenset()) -> Location | None:
        key = (path, target)
        if key in self._located:
            return self._located[key]
        if key in seen or path not in self.documents:
            return None  # an import cycle (`a` re-exports from `b`, which re-exports from `a`)
        seen = seen | {key}
        if is_descriptor(target):
            location: Location | None = (path, target)
        elif target.startswith(TargetForm.LOCAL):
            location = None  # a local never leaves its document
        elif target.startswith(TargetForm.IMPORT):
            location = self._imported(path, target[len(TargetForm.IMPORT):].split(" "), seen)
        elif target.startswith((TargetForm.MEMBER, TargetForm.SUPER)):
            owner, _, name = target.partition(" ")[2].partition(" ")
            location = self._class_member((path, owner), name, seen, own=target.startswith(TargetForm.MEMBER))
        else:
            location = self._free_name(path, target, seen)
        self._located[key] = location
        return location

    def _imported(self, path: str, words: list[str], seen: frozenset) -> Location | None:
        module, members = words[0], words[1:]
        files, leading = self._module_files(path, module)
        if not files:
            return None
        location = (files[0], "")
        for name in leading + members:
            location = self._member(location, name, files, seen)
            if location is None:
                return None
            files = [location[0]]
        return location

    def _module_files(self, path: str, module: str) -> tuple[list[str], list[str]]:
        """(the files of the module an import names, names the import path holds beyond that module)."""
        language = self.documents[path].language
        if language == "python":
            return self.index.python(module, path), []
        if language in _ECMASCRIPT:
            return self.index.ecmascript(module, path), []
        if language == "go":
            return self.index.go(module, path), []
        if language == "rust":
            files, rest = self.index.rust(module, path)
            return files, rest
        if language == "java":
            parts = module.split(".")
            for cut in range(len(parts), 0, -1):  # `a.b.C.m` (static import): the file is `a/b/C.java`
                files = self.index.java(".".join(parts[:cut]), path)
                if files:
                    rest = parts[cut:] if len(files) > 1 else parts[cut - 1:]
                    return files, [name for name in rest if name != "*"]
        return [], []

    def _member(self, location: Location, name: str, files: list[str], seen: frozenset) -> Location | None:
        """A name looked up in a module (all its files) or a type."""
        path, descriptor = location
        if descriptor.endswith(_TYPE_SUFFIX):
            return self._class_member(location, name, seen, own=True)
        if descriptor:
            return None  # a function or variable: its attributes are not known statically
        for file in files:
            exported = self.interface(file).exports.get(name)
            if exported is not None:
                found = self.locate(file, exported, seen)
                if found is not None:  # else maybe `from . import name` naming a submodule, below
                    return found
        for file in files:
            for star in self.interface(file).stars:
                found = self.locate(file, f"{star} {name}", seen)
                if found is not None:
                    return found
        return self._submodule(path, name)

    def _submodule(self, path: str, name: str) -> Location | None:
        """`from pkg import mod` where `mod` is a module of the package, not a name it defines."""
        if self.documents[path].language != "python" or not posixpath.basename(path).startswith("__init__."):
            return None
        files = self.index._python_file(posixpath.join(posixpath.dirname(path), name))
        return (files[0], "") if files else None

    def _class_member(self, owner: Location, name: str, seen: frozenset, *, own: bool,
                      visited: frozenset[Location] = frozenset()) -> Location | None:
        """A member of a type: its own (unless `own` is False, for `super()`), else its bases', depth first
        in declaration order (Python's MRO agrees with that wherever no base is shared)."""
        path, type_id = owner
        if path not in self.documents or owner in visited:
            return None  # an inheritance cycle
        visited = visited | {owner}
        interface = self.interface(path)
        if own:
            target = interface.members.get(type_id, {}).get(name)
            if target is not None:
                return self.locate(path, target, seen)
        for base in interface.bases.get(type_id, ()):
            base_location = self.locate(path, base, seen)
            if base_location is not None and base_location[1].endswith(_TYPE_SUFFIX):
                found = self._class_member(base_location, name, seen, own=True, visited=visited)
                if found is not None:
                    return found
        return None

    def _free_name(self, path: str, name: str, seen: frozenset) -> Location | None:
        """A name the document does not bind: from a star import, or another file of the same package."""
        document = self.documents[path]
        # A JavaScript `export * from` re-exports names without making them visible in the file itself.
        for star in self.interface(path).stars if document.language in _STARS_BIND_NAMES else ():
            found = self.locate(path, f"{star} {name}", seen)
            if found is not None:
                return found
        siblings: Iterable[str] = ()
        if document.language == "go":
            siblings = self.index.go_package(path)
        elif document.language == "java":
            siblings = [p for p in self.index.java_directory(posixpath.dirname(path)) if p != path]
        for sibling in siblings:
            exported = self.interface(sibling).exports.get(name)
            if exported is not None:
                return self.locate(sibling, exported, seen)
        return None


def resolution_key(mapping: Mapping[str, str]) -> str:
    """The content address of one file's resolution map."""
    encoded = json.dumps(sorted(mapping.items()), separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()
