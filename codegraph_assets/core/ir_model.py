"""The SCIP-shaped intermediate representation of one source document (one git blob).

Symbol ids are SCIP-style descriptors *relative to the document* (``Class#method().``), because a
document is keyed by its blob sha and the same blob may live at several paths; readers prefix the
path (``pkg/mod.py/Class#method().``) with `qualified_symbol_id` when they know it.

An occurrence's `symbol` (and an edge's `target`) is what the document alone can tell about a name,
one of these *document-level targets* (`TargetForm` names them):

- a descriptor, ``Greeter#greet().`` or ``CONFIG.``: bound to a definition in this document
  (module and class variables have descriptors and occurrences, but no `Symbol`);
- ``local 3``: a parameter or local variable, as in SCIP;
- ``import <module> [<member> ...]``: bound by an import, the module as written (``.formatting``,
  ``./http``, ``fmt``), then attribute/member names looked up in it (``import os path join``);
- ``member <type descriptor> <name>`` / ``super <type descriptor> <name>``: a member of a type of this
  document that it does not define itself, so it lives in a base type (``self.save()``, ``super().save()``);
- a plain name (``print``, ``append``): nothing in the document binds it (a builtin, a star import,
  a method of an unknown receiver, another file of the same Go/Java package).

Repository-level resolution (`ir_resolve`) turns the last four into repository-wide symbol ids where the
repository defines the target, and leaves the rest unresolved: it never guesses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag


class SymbolRole(IntFlag):
    """Role bitset of an occurrence, as in SCIP."""

    DEFINITION = 1
    IMPORT = 2
    WRITE = 4
    READ = 8
    REFERENCE = 16
    TEST = 32


# The role sets the reference binders record (core/ir_python.py, core/ir_lexical.py).
READ = SymbolRole.REFERENCE | SymbolRole.READ
WRITE = SymbolRole.REFERENCE | SymbolRole.WRITE
DEFINE = SymbolRole.DEFINITION | SymbolRole.WRITE  # a variable or parameter bound for the first time


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


class EdgeKind:
    """What an edge says about its source and target."""

    IMPORTS = "imports"  # the document (source "") imports a module: target ``import <module>``
    CALLS = "calls"  # the source calls the target
    INHERITS = "inherits"  # the source type extends or implements the target type
    CONTAINS = "contains"  # the source symbol encloses the target symbol (derived from `Symbol.parent_id`)


@dataclass(frozen=True, slots=True)
class Edge:
    """A relation between a symbol of this document and a document-level target (see the module doc)."""

    kind: str  # an EdgeKind value
    # Document-relative symbol id of the caller / subtype / container; "" = the document itself, and for an
    # import STAR_IMPORT ("*") when every name the module exports becomes visible (`from m import *`).
    source: str
    target: str  # a document-level target
    span: Span  # where the relation is written: the callee, the base type, the import

    def __reduce__(self):  # see Span.__reduce__
        return Edge, (self.kind, self.source, self.target, self.span)


class DocumentIR:
    """Everything the IR stage knows about one blob.

    `symbols`, `imports` and definition/import occurrences exist at every semantic tier; references,
    writes, locals, `edges`, `exports`, `members` and `package` from EXTENDED on.

    Occurrences and edges may be held packed (`ir_packing`): a document pickled across the parse
    workers' pipes, or loaded from the metadata store, unpacks them on first access only. The packed form
    also holds `outline`, the syntax tree at line granularity the chunker cuts along (`syntax_tiles`).
    """

    __slots__ = ("language", "symbols", "imports", "parse_errors", "line_count", "exports", "members", "package",
                 "_occurrences", "_edges", "_packed", "_interface", "_outline")

    def __init__(self, language: str, symbols: list[Symbol] | None = None,
                 occurrences: list[Occurrence] | None = None, imports: list[str] | None = None,
                 parse_errors: int = 0, line_count: int = 0, edges: list[Edge] | None = None,
                 exports: dict[str, str] | None = None, members: dict[str, dict[str, str]] | None = None,
                 package: str = "", outline: bytes = b"") -> None:
        self.language = language
        self.symbols: list[Symbol] = symbols if symbols is not None else []
        self.imports: list[str] = imports if imports is not None else []  # module/path strings as written
        self.parse_errors = parse_errors  # count of ERROR/MISSING nodes; never fatal
        self.line_count = line_count
        # What other files can import from this one: top-level name → document-level target.
        self.exports: dict[str, str] = exports if exports is not None else {}
        # Type descriptor → member name → document-level target, for lookups through inheritance.
        self.members: dict[str, dict[str, str]] = members if members is not None else {}
        self.package = package  # the Go package clause or Java package declaration; "" elsewhere
        self._occurrences: list[Occurrence] | None = occurrences if occurrences is not None else []
        self._edges: list[Edge] | None = edges if edges is not None else []  # calls, inheritance, imports
        self._packed: bytes | None = None
        self._interface: DocumentInterface | None = None
        self._outline: bytes | None = outline  # None: still inside _packed

    @classmethod
    def with_packed_graph(cls, packed: bytes, interface: DocumentInterface | None = None, **fields) -> DocumentIR:
        """A document whose occurrences and edges are `pack_graph` output, unpacked when first read."""
        document = cls(**fields)
        document._occurrences = document._edges = None
        document._packed = packed
        document._interface = interface
        if "outline" not in fields:
            document._outline = None
        return document

    @classmethod
    def interface_only(cls, language: str, interface: DocumentInterface) -> DocumentIR:
        """A stand-in for a stored document that carries only what cross-file resolution reads."""
        document = cls(language, exports=interface.exports, members=interface.members, package=interface.package)
        document._interface = interface
        return document

    def interface(self) -> DocumentInterface:
        """What repository-level resolution needs of this document (computed once)."""
        if self._interface is None:
            self._interface = DocumentInterface.of(self)
        return self._interface

    @property
    def outline(self) -> bytes:
        """The packed syntax outline (`syntax_tiles.syntax_outline`); b"" for a document nothing parsed."""
        if self._outline is None:
            from codegraph_assets.core.ir_packing import unpack_outline

            self._outline = unpack_outline(self._packed)
        return self._outline

    @property
    def occurrences(self) -> list[Occurrence]:
        if self._occurrences is None:
            self._unpack()
        return self._occurrences

    @occurrences.setter
    def occurrences(self, value: list[Occurrence]) -> None:
        edges, _ = self.edges, self.outline  # both read before the packed form they may be in is dropped
        self._occurrences, self._edges, self._packed, self._interface = value, edges, None, None

    @property
    def edges(self) -> list[Edge]:
        if self._edges is None:
            self._unpack()
        return self._edges

    @edges.setter
    def edges(self, value: list[Edge]) -> None:
        occurrences, _ = self.occurrences, self.outline
        self._occurrences, self._edges, self._packed, self._interface = occurrences, value, None, None

    def packed_graph(self) -> bytes:
        """Occurrences and edges packed (see `ir_packing`); computed once."""
        if self._packed is None:
            from codegraph_assets.core.ir_packing import pack_graph

            self._packed = pack_graph(self._occurrences, self._edges, self._outline)
        return self._packed

    def _unpack(self) -> None:
        from codegraph_assets.core.ir_packing import unpack_graph

        self._occurrences, self._edges = unpack_graph(self._packed)

    def containment_edges(self) -> list[Edge]:
        """A CONTAINS edge from every symbol's parent to it."""
        return [Edge(EdgeKind.CONTAINS, s.parent_id, s.symbol_id, s.span) for s in self.symbols if s.parent_id]

    def _fields(self) -> tuple:
        return (self.language, self.symbols, self.occurrences, self.imports, self.parse_errors, self.line_count,
                self.edges, self.exports, self.members, self.package, self.outline)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DocumentIR) and self._fields() == other._fields()

    __hash__ = None  # mutable, like the dataclass it replaces

    def __repr__(self) -> str:
        return (f"DocumentIR(language={self.language!r}, symbols={self.symbols!r}, "
                f"occurrences={self.occurrences!r}, imports={self.imports!r}, parse_errors={self.parse_errors}, "
                f"line_count={self.line_count}, edges={self.edges!r}, exports={self.exports!r}, "
                f"members={self.members!r}, package={self.package!r})")

    def __reduce__(self):
        # Across the parse workers' pipes the graph travels packed: tens of objects per line otherwise.
        fields = {"language": self.language, "symbols": self.symbols, "imports": self.imports,
                  "parse_errors": self.parse_errors, "line_count": self.line_count, "exports": self.exports,
                  "members": self.members, "package": self.package}
        if self._packed is None and not self._occurrences and not self._edges and not self._outline:
            return _document, (fields, None, None)
        return _document, (fields, self.packed_graph(), self.interface())


def _document(fields: dict, packed: bytes | None, interface: DocumentInterface | None) -> DocumentIR:
    return DocumentIR(**fields) if packed is None else DocumentIR.with_packed_graph(packed, interface, **fields)


@dataclass(frozen=True, slots=True)
class DocumentInterface:
    """The part of a document that other documents' resolution reads, small enough to load for a whole
    repository at once: what it exports, its types' members and bases, its star imports, and the
    document-level targets its own occurrences need resolved at repository level."""

    exports: dict[str, str]
    members: dict[str, dict[str, str]]
    bases: dict[str, list[str]]  # type descriptor → targets of the types it extends, in order
    stars: list[str]  # ``import <module>`` targets whose every export is visible (`from m import *`)
    package: str
    externals: list[str]  # every import/member/super target of its occurrences and edges, sorted

    @classmethod
    def of(cls, document: DocumentIR) -> DocumentInterface:
        return cls.of_parts(document, {o.symbol for o in document.occurrences}, document.edges)

    @classmethod
    def of_parts(cls, document: DocumentIR, occurrence_symbols: set[str], edges: list[Edge]) -> DocumentInterface:
        """The interface of a document whose occurrences are given by their distinct symbols."""
        bases: dict[str, list[str]] = {}
        stars: list[str] = []
        for edge in edges:
            if edge.kind == EdgeKind.INHERITS:
                bases.setdefault(edge.source, []).append(edge.target)
            elif edge.kind == EdgeKind.IMPORTS and edge.source == STAR_IMPORT:
                stars.append(edge.target)
        targets = occurrence_symbols | {e.target for e in edges}
        # Where a plain name may still mean a definition of another file: a Python or Rust star import,
        # or another file of the same Go or Java package.
        plain_names = (bool(stars) and document.language in ("python", "rust")) or \
            document.language in SHARED_PACKAGE_SCOPE
        externals = sorted(t for t in targets if needs_repository(t, plain_names=plain_names))
        return cls(document.exports, document.members, bases, stars, document.package, externals)

    def to_json(self) -> dict:
        return {"exports": self.exports, "members": self.members, "bases": self.bases, "stars": self.stars,
                "package": self.package, "externals": self.externals}

    @classmethod
    def from_json(cls, value: dict) -> DocumentInterface:
        return cls(value["exports"], value["members"], value["bases"], value["stars"], value["package"],
                   value["externals"])


SHARED_PACKAGE_SCOPE = frozenset({"go", "java"})  # languages whose files see their package's other files' names
STAR_IMPORT = "*"  # the source of an IMPORTS edge whose module's every export becomes visible


class TargetForm:
    """The prefixes of document-level targets that are not descriptors (see the module doc)."""

    LOCAL = "local "
    IMPORT = "import "
    MEMBER = "member "
    SUPER = "super "


def is_descriptor(target: str) -> bool:
    """Whether a document-level target names a definition of the document itself."""
    return target.endswith((".", "#", "/")) and not target.startswith(
        (TargetForm.LOCAL, TargetForm.IMPORT, TargetForm.MEMBER, TargetForm.SUPER))


def qualified_symbol_id(path: str, symbol_id: str) -> str:
    """The repository-wide SCIP descriptor for a document-relative one."""
    return f"{path}/{symbol_id}"


def document_symbol_id(path: str, qualified: str) -> str:
    """The document-relative descriptor of a `qualified_symbol_id` of a symbol of `path`."""
    return qualified[len(path) + 1:]


def needs_repository(target: str, *, plain_names: bool = False) -> bool:
    """Whether only repository-level resolution can bind a document-level target: imports, inherited
    members, and (where a star import may supply them) plain names."""
    if target.startswith((TargetForm.IMPORT, TargetForm.MEMBER, TargetForm.SUPER)):
        return True
    return plain_names and bool(target) and not target.startswith(TargetForm.LOCAL) and not is_descriptor(target)
