"""Our side of bench/ir_accuracy.py: the stored IR of an indexed snapshot, as definitions and go-to-definition.

Go-to-definition reads only what the IR stage stored: the occurrence that starts at a site, then its
target. A descriptor names a definition of the same document, ``local N`` the definition occurrence of that
local, a repository-qualified id (``pkg/mod.py/Class#f().``) one of another file; other document-level
targets (``import …``, ``member …``, ``super …``, plain names) go through the IR's repository resolver
(`codegraph_assets.core.ir_resolve`); what it leaves unresolved is unanswered. A module (an import of a
file, descriptor "") is answered with its file's line 1, as jedi answers it.

The answer is the symbol's *bindings*: the line of its definition and of every write to it (`x = …` again,
`self.x = …` in `__init__`). The IR has one symbol per variable, while jedi answers with the assignment
that reaches the site (flow-sensitive); any binding of the same symbol is the same answer at symbol level.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from codegraph_assets.core.ir_model import DocumentIR, SymbolRole, TargetForm, is_descriptor
from codegraph_assets.core.ir_resolve import RepositoryResolver

MODULE_LINE = 1


@dataclass(slots=True)
class IndexedSnapshot:
    """path → DocumentIR of every parsed file of one published snapshot."""

    documents: dict[str, DocumentIR]
    _starts: dict[str, dict[tuple[int, int], str]] = field(default_factory=dict)  # path → (line, col) → target
    _resolver: RepositoryResolver | None = None

    def definitions(self, kinds: frozenset[str]) -> set[tuple[str, str, str, int]]:
        """(path, name, kind, line of the name) of every symbol of the given kinds."""
        return {(path, s.name, s.kind, s.span.start_line)
                for path, document in self.documents.items() for s in document.symbols if s.kind in kinds}

    def goto(self, path: str, line: int, column: int) -> Binding | None:
        """The symbol the IR binds the name at (line, byte column) to, as its bindings; None if it does not."""
        starts = self._starts.get(path)
        if starts is None:
            document = self.documents.get(path)
            starts = self._starts[path] = {} if document is None else {
                (o.span.start_line, o.span.start_col): o.symbol
                for o in document.occurrences if not o.roles & SymbolRole.DEFINITION}
        target = starts.get((line, column))
        if target is None:
            return None
        return self._bindings(path, target)

    def _bindings(self, path: str, target: str) -> Binding | None:
        if target == "":  # the module itself
            return Binding((path, MODULE_LINE), frozenset({(path, MODULE_LINE)}))
        if target.startswith(TargetForm.LOCAL) or is_descriptor(target):
            qualified = self._split_qualified(target)
            if qualified is not None and qualified[0] != path:
                return self._bindings(*qualified)
            return _bindings_in(path, self.documents[path], target)
        if self._resolver is None:
            self._resolver = RepositoryResolver(self.documents)
        resolved = self._resolver.resolve(path, target)
        qualified = None if resolved is None else self._split_qualified(resolved)
        return None if qualified is None else self._bindings(*qualified)

    def _split_qualified(self, target: str) -> tuple[str, str] | None:
        """(path, descriptor) of a repository-qualified id of one of our files, else None."""
        slash = target.find("/")
        while slash != -1:
            if target[:slash] in self.documents:
                return target[:slash], target[slash + 1:]
            slash = target.find("/", slash + 1)
        return None


@dataclass(frozen=True, slots=True)
class Binding:
    """Where the symbol a site resolves to is defined: (path, line) of its definition, and of every binding."""

    definition: tuple[str, int]
    bindings: frozenset[tuple[str, int]]


def _bindings_in(path: str, document: DocumentIR, target: str) -> Binding | None:
    lines = [s.span.start_line for s in document.symbols if s.symbol_id == target]
    definitions = lines + [o.span.start_line for o in document.occurrences
                           if o.symbol == target and o.roles & SymbolRole.DEFINITION]
    if not definitions:
        return None
    writes = [o.span.start_line for o in document.occurrences if o.symbol == target and o.roles & SymbolRole.WRITE]
    return Binding((path, definitions[0]), frozenset((path, line) for line in definitions + writes))
