"""The SCIP-shaped intermediate representation of one source document (one git blob).

Symbol ids are SCIP-style descriptors *relative to the document* (``Class#method().``), because a
document is keyed by its blob sha and the same blob may live at several paths; readers prefix the
path (``pkg/mod.py/Class#method().``) with `qualified_symbol_id` when they know it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntFlag


class SymbolRole(IntFlag):
    """Role bitset of an occurrence, as in SCIP."""

    DEFINITION = 1
    IMPORT = 2
    WRITE = 4
    READ = 8
    REFERENCE = 16
    TEST = 32


@dataclass(frozen=True, slots=True)
class Span:
    """A source range; lines are 1-based inclusive, columns 0-based byte offsets."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int

    # Slots dataclasses unpickle through a per-field __setstate__; rebuilding from the fields in order loads
    # 3× faster, and documents cross the parse workers' pipes by the hundred thousand.
    def __reduce__(self):
        return Span, (self.start_line, self.start_col, self.end_line, self.end_col)


@dataclass(frozen=True, slots=True)
class Symbol:
    """A definition found in a document."""

    symbol_id: str  # document-relative SCIP descriptor, e.g. "Greeter#greet()."
    kind: str  # function | method | class | interface | struct | enum | trait | type | module | constant | variable
    name: str
    span: Span  # the name token
    enclosing: Span  # the whole definition node
    parent_id: str | None = None
    signature: str = ""
    docstring: str = ""

    def __reduce__(self):  # see Span.__reduce__
        return Symbol, (self.symbol_id, self.kind, self.name, self.span, self.enclosing, self.parent_id,
                        self.signature, self.docstring)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """A use of a name: definition, reference or import, with its roles."""

    symbol: str  # symbol id for definitions, the referenced (unresolved) name otherwise
    span: Span
    roles: SymbolRole

    def __reduce__(self):  # see Span.__reduce__
        return Occurrence, (self.symbol, self.span, self.roles)


@dataclass(slots=True)
class DocumentIR:
    """Everything the IR stage knows about one blob."""

    language: str
    symbols: list[Symbol] = field(default_factory=list)
    occurrences: list[Occurrence] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)  # module/path strings as written
    parse_errors: int = 0  # count of ERROR/MISSING nodes; never fatal
    line_count: int = 0


def qualified_symbol_id(path: str, symbol_id: str) -> str:
    """The repository-wide SCIP descriptor for a document-relative one."""
    return f"{path}/{symbol_id}"
