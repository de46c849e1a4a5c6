"""Python names bound to what they mean inside one document: imports, scopes, references (EXTENDED tier).

Python's rules, as far as one file shows them: a name bound anywhere in a function (parameter,
assignment, `for`/`with`/`except` target, walrus, import, nested def) is local to the whole function;
class bodies do not enclose the functions defined in them; `global`/`nonlocal` redirect a name; the rest
falls through to the module, then to builtins (left as plain names). Attribute chains are followed where
the receiver is known: an imported module (`os.path.join`), a class of this file (`Config.load`),
`self`/`cls` inside a method, and `super()`. Anything else (`items.append`) stays a plain, unresolved name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import attrgetter

from tree_sitter import Node

from codegraph_assets.core.ir_model import (
    DEFINE,
    READ,
    STAR_IMPORT,
    WRITE,
    Edge,
    EdgeKind,
    Occurrence,
    Span,
    Symbol,
    SymbolRole,
    TargetForm,
)
from codegraph_assets.core.ir_node_text import span_of, text_of
from codegraph_assets.core.ir_packing import OccurrenceRow
from codegraph_assets.core.ir_scopes import ScopeCursor, nest, sweep
from codegraph_assets.core.ir_symbols import simple_descriptor

_READ = int(READ)  # the hot loop builds rows of plain ints (see ir_packing.OccurrenceRow)
_UNSEEN = object()

# Nodes whose identifiers are bound, one level or more below an assignment/for/with target.
_PATTERN_TYPES = frozenset({"pattern_list", "tuple_pattern", "list_pattern", "tuple", "list",
                            "parenthesized_expression", "list_splat_pattern", "list_splat"})
_PARAMETER_TYPES = ("identifier", "typed_parameter", "default_parameter", "typed_default_parameter")
_NOT_BASES = frozenset({"keyword_argument", "comment", "list_splat", "dictionary_splat"})
_START_BYTE = attrgetter("start_byte")


@dataclass(slots=True)
class PythonImport:
    """One imported module or name, and the name it binds in the importing scope."""

    module: str  # as written: "os.path", ".formatting", ".."
    member: str | None  # the name imported from the module; None for `import module`
    bound_name: str | None  # None for a star import and for the module token of `from m import …`
    node: Node  # the token the occurrence covers
    star: bool = False
    occurrence: bool = True  # False for the `a` that `import a.b` binds: the token's occurrence is `a.b`'s

    @property
    def target(self) -> str:
        return import_target(self.module, self.member)


def import_target(module: str, member: str | None = None) -> str:
    """The document-level target of an import: ``import <module> [<member>]``."""
    return f"{TargetForm.IMPORT}{module}" + (f" {member}" if member else "")


def python_imports(statements: list[Node], content: bytes) -> list[PythonImport]:
    """The imports of `import` and `from … import` statements, in source order."""
    found: list[PythonImport] = []
    for statement in sorted(statements, key=lambda node: node.start_byte):
        if statement.type == "import_statement":
            for name in statement.children_by_field_name("name"):
                dotted, alias = _aliased(name)
                module = text_of(dotted, content)
                if alias is not None:
                    found.append(PythonImport(module, None, text_of(alias, content), dotted))
                    continue
                top = module.split(".")[0]
                found.append(PythonImport(module, None, top if top == module else None, dotted))
                if top != module:  # `import a.b` binds `a`; `.b` is then an attribute of it
                    found.append(PythonImport(top, None, top, dotted, occurrence=False))
            continue
        module_node = statement.child_by_field_name("module_name")
        if module_node is None:
            continue
        module = "".join(text_of(module_node, content).split())
        star = any(child.type == "wildcard_import" for child in statement.children)
        found.append(PythonImport(module, None, None, module_node, star=star))
        for name in statement.children_by_field_name("name"):
            dotted, alias = _aliased(name)
            found.append(PythonImport(module, text_of(dotted, content), text_of(alias or dotted, content), dotted))
    return found


def _aliased(name: Node) -> tuple[Node, Node | None]:
    if name.type == "aliased_import":
        return name.child_by_field_name("name"), name.child_by_field_name("alias")
    return name, None


@dataclass(slots=True, eq=False)
class _Scope:
    start: int
    end: int
    kind: str  # module | class | function | lambda | comprehension
    owner: str | None  # the class/function symbol id whose body this is
    parent: _Scope | None = None
    bindings: dict[str, str] = field(default_factory=dict)  # name → document-level target (first binding)
    declared_global: set[str] = field(default_factory=set)
    declared_nonlocal: set[str] = field(default_factory=set)
    self_name: str | None = None  # a method's first parameter: an instance of (or, for cls, the) class
    resolved: dict[str, str | None] = field(default_factory=dict)  # lookups done from this scope (pass 2)


@dataclass(slots=True)
class PythonReferences:
    """What `bind_python_references` adds to a document."""

    occurrences: list[OccurrenceRow]
    edges: list[Edge]
    exports: dict[str, str]
    members: dict[str, dict[str, str]]
    stars: list[str]  # targets of the modules star-imported at module level


def bind_python_references(content: bytes, symbols: list[Symbol], symbol_by_byte: dict[int, str],
                           captures: dict[str, list[Node]], imports: list[PythonImport],
                           callees: list[Node]) -> PythonReferences:
    """An occurrence for every identifier outside imports and definitions' names (bound to a definition,
    a local, an import, or left as a plain name), call and inheritance edges, the module's exports and
    its classes' members. `symbol_by_byte`: the start byte of each symbol's name → its id; `captures`
    come from `PYTHON_REFERENCES`."""
    binder = _Binder(content, symbols, symbol_by_byte, captures)
    binder.collect_bindings(imports)
    binder.bind_references(callees)
    stars = [i.target for i in imports if i.star]
    binder.edges += [Edge(EdgeKind.IMPORTS, STAR_IMPORT if i.star else "", import_target(i.module), span_of(i.node))
                     for i in imports if i.member is None and i.occurrence]
    return PythonReferences(binder.occurrences, binder.edges, dict(binder.module.bindings), binder.members, stars)


# Binding tags, in the order a sweep handles tags that start at the same byte.
_GLOBAL, _NONLOCAL, _DEFINITION, _IMPORT, _PARAMETER, _TARGET, _WALRUS, _AUGMENTED = range(8)


class _Binder:
    """Resolves every identifier of one Python document against its scopes (see the module doc)."""

    def __init__(self, content: bytes, symbols: list[Symbol], symbol_by_byte: dict[int, str],
                 captures: dict[str, list[Node]]) -> None:
        self.content = content
        self.captures = captures
        self.symbol_by_byte = symbol_by_byte
        self.symbol_ids = {s.symbol_id for s in symbols}
        self.class_ids = {s.symbol_id for s in symbols if s.kind == "class"}
        self.locals = 0
        self.occurrences: list[OccurrenceRow] = []
        self.edges: list[Edge] = []
        self.members: dict[str, dict[str, str]] = {}
        self.instance_of: dict[str, str] = {}  # the local of a method's `self`/`cls` → its class
        self.binding_tags: dict[int, int] = {}  # start byte of a bound identifier → its binding tag
        self.target_of: dict[tuple[int, int], str] = {}  # (start, end) of a resolved expression → its target
        self.module = _Scope(0, len(content) + 1, "module", None)
        self.scopes = self._scopes()
        self.classes_with_bases = {
            owner for bases in captures.get("bases", ())
            if (owner := self._symbol_named_by(bases.parent)) is not None
            and any(child.type not in _NOT_BASES for child in bases.named_children)}

    # -- scopes ------------------------------------------------------------------------------------
    def _scopes(self) -> list[_Scope]:
        scopes = [self.module]
        for parameters in self.captures.get("scope.function", ()):
            function = parameters.parent
            scope = _Scope(parameters.start_byte, function.end_byte, "function", self._symbol_named_by(function))
            first = next((c for c in parameters.named_children if c.type in _PARAMETER_TYPES), None)
            if first is not None and not _is_staticmethod(function):
                name = first if first.type == "identifier" else (
                    first.child_by_field_name("name") or first.named_children[0])
                scope.self_name = text_of(name, self.content)
            scopes.append(scope)
        for body in self.captures.get("scope.class", ()):
            scopes.append(_Scope(body.start_byte, body.end_byte, "class", self._symbol_named_by(body.parent)))
        for node in self.captures.get("scope.lambda", ()):
            scopes.append(_Scope(node.start_byte, node.end_byte, "lambda", None))
        for node in self.captures.get("scope.comprehension", ()):
            scopes.append(_Scope(node.start_byte, node.end_byte, "comprehension", None))
        for scope in nest(scopes):
            if scope.kind == "function" and (scope.parent is None or scope.parent.kind != "class"):
                scope.self_name = None  # only methods have a `self`
        return scopes

    def _symbol_named_by(self, definition: Node) -> str | None:
        name = definition.child_by_field_name("name")
        return None if name is None else self.symbol_by_byte.get(name.start_byte)

    def _sweep(self, events: list[tuple[int, int, object]]) -> Iterator[tuple[object, int, _Scope]]:
        return sweep(self.scopes, events)

    # -- pass 1: bindings --------------------------------------------------------------------------
    def collect_bindings(self, imports: list[PythonImport]) -> None:
        captures = self.captures
        events: list[tuple[int, int, object]] = [(i.node.start_byte, _IMPORT, i) for i in imports if i.bound_name]
        for tag, capture in ((_GLOBAL, "global"), (_NONLOCAL, "nonlocal"), (_DEFINITION, "definition"),
                             (_PARAMETER, "parameter"), (_AUGMENTED, "target.augmented"),
                             (_WALRUS, "target.walrus")):
            events += [(node.start_byte, tag, node) for node in captures.get(capture, ())]
        events += [(node.start_byte, _TARGET, node) for root in captures.get("target", ())
                   for node in _target_names(root)]
        for payload, tag, scope in self._sweep(events):
            if tag == _IMPORT:
                self._bind(scope, payload.bound_name, payload.target)
                continue
            name = text_of(payload, self.content)
            if tag in (_GLOBAL, _NONLOCAL):
                (scope.declared_global if tag == _GLOBAL else scope.declared_nonlocal).add(name)
                continue
            self.binding_tags[payload.start_byte] = tag
            if tag == _DEFINITION:
                symbol_id = self.symbol_by_byte.get(payload.start_byte)
                if symbol_id is not None:
                    self._bind(scope, name, symbol_id)
                continue
            if tag == _WALRUS:
                while scope.kind == "comprehension" and scope.parent is not None:
                    scope = scope.parent
            target = self._bind(scope, name, None)
            if tag == _PARAMETER and scope.self_name == name and scope.parent.owner in self.class_ids:
                self.instance_of[target] = scope.parent.owner
        self._collect_instance_attributes()

    def _bind(self, scope: _Scope, name: str, target: str | None) -> str:
        if name in scope.declared_global:
            scope = self.module
        if name in scope.bindings:
            return scope.bindings[name]
        if target is None:
            if scope.kind == "module":
                target = simple_descriptor(name, "variable")
            elif scope.kind == "class" and scope.owner is not None:
                target = scope.owner + simple_descriptor(name, "variable")
            else:
                target = f"{TargetForm.LOCAL}{self.locals}"
                self.locals += 1
        scope.bindings[name] = target
        if scope.kind == "class" and scope.owner is not None:
            self.members.setdefault(scope.owner, {})[name] = target
        return target

    def _collect_instance_attributes(self) -> None:
        """`self.x = …` in a method makes `x` a member of the class, unless the class body binds it."""
        events = [(node.start_byte, 0, node) for root in self.captures.get("target", ())
                  for node in _target_attributes(root)]
        for attribute, _, scope in self._sweep(events):
            receiver = attribute.child_by_field_name("object")
            if receiver.type != "identifier":
                continue
            owner = self.instance_of.get(self._lookup(scope, text_of(receiver, self.content)) or "")
            if owner is not None:
                name = text_of(attribute.child_by_field_name("attribute"), self.content)
                self.members.setdefault(owner, {}).setdefault(name, owner + simple_descriptor(name, "variable"))

    # -- pass 2: references ------------------------------------------------------------------------
    def bind_references(self, callees: list[Node]) -> None:
        # The hot loop of the EXTENDED tier (one turn per identifier): spans come from one start_point
        # call, since an identifier never spans lines.
        captures, content, target_of = self.captures, self.content, self.target_of
        skip = {node.start_byte for node in captures.get("keyword", ())}
        skip.update(self.symbol_by_byte)  # names with a Symbol already have their DEFINITION occurrence
        for statement in captures.get("import", ()):
            skip.update(_identifier_starts(statement))
        members = {node.start_byte for node in captures.get("member", ())}
        calls = {node.start_byte for node in callees}
        binding_tags = self.binding_tags
        defined = set(self.symbol_ids)  # targets whose defining occurrence is already out
        occurrences = self.occurrences
        scope_at = ScopeCursor(self.scopes).at
        references = captures.get("ref", [])
        references.sort(key=_START_BYTE)  # captures come in match order, not source order
        for node in references:
            start, end = node.start_byte, node.end_byte
            if start in skip:
                continue
            scope = scope_at(start)
            name = content[start:end].decode("utf-8", errors="replace")
            if start in members:
                target = self._member_target(node, scope, name)
                attribute = node.parent
                roles = _attribute_roles(attribute)
                target_of[(attribute.start_byte, attribute.end_byte)] = target or ""
            else:
                resolved = scope.resolved
                target = resolved.get(name, _UNSEEN)
                if target is _UNSEEN:
                    target = resolved[name] = self._lookup(scope, name)
                tag = binding_tags.get(start)
                roles = _READ if tag is None else self._binding_roles(tag, target, defined)
            symbol = target if target is not None else name
            target_of[(start, end)] = target or ""
            row, column = node.start_point
            row += 1
            occurrences.append((row, column, row, column + end - start, symbol, roles))
            if start in calls:
                self.edges.append(Edge(EdgeKind.CALLS, _enclosing_owner(scope), symbol,
                                       Span(row, column, row, column + end - start)))
        self._inheritance_edges()

    @staticmethod
    def _binding_roles(tag: int, target: str | None, defined: set[str]) -> int:
        if tag == _AUGMENTED:
            return int(READ | SymbolRole.WRITE)
        if target is None or target in defined or target.startswith(TargetForm.IMPORT):
            return int(WRITE)
        defined.add(target)
        return int(DEFINE)

    def _lookup(self, scope: _Scope, name: str) -> str | None:
        if name in scope.declared_global:
            return self.module.bindings.get(name)
        current: _Scope | None = scope
        while current is not None:
            if (current is scope or current.kind != "class") and name not in current.declared_nonlocal:
                target = current.bindings.get(name)
                if target is not None:
                    return target
            current = current.parent
        return None

    def _member_target(self, member: Node, scope: _Scope, name: str) -> str | None:
        receiver = member.parent.child_by_field_name("object")
        if receiver.type == "call":
            function = receiver.child_by_field_name("function")
            if function is not None and function.type == "identifier" and text_of(function, self.content) == "super" \
                    and receiver.child_by_field_name("arguments").named_child_count == 0:
                method = _enclosing_method(scope)
                if method is not None and method.parent.owner in self.classes_with_bases:
                    return f"{TargetForm.SUPER}{method.parent.owner} {name}"
                return None
            # `Config().load`: a member of an instance of a class of this file, or of an imported name that
            # the repository may show to be a class (a function's result stays unknown there).
            constructed = None if function is None else self.target_of.get((function.start_byte, function.end_byte))
            if constructed and constructed.startswith(TargetForm.IMPORT):
                return f"{constructed} {name}"
            return self._class_member(constructed, name) if constructed in self.class_ids else None
        base = self.target_of.get((receiver.start_byte, receiver.end_byte))
        if not base:
            return None
        if base.startswith(TargetForm.IMPORT):
            return f"{base} {name}"
        owner = self.instance_of.get(base, base if base in self.class_ids else None)
        return None if owner is None else self._class_member(owner, name)

    def _class_member(self, owner: str, name: str) -> str | None:
        """A member of a class of this file: its own, or one to look up in its bases (repository level)."""
        target = self.members.get(owner, {}).get(name)
        if target is None and owner in self.classes_with_bases:
            target = f"{TargetForm.MEMBER}{owner} {name}"
        return target

    def _inheritance_edges(self) -> None:
        for bases in self.captures.get("bases", ()):
            owner = self._symbol_named_by(bases.parent)
            if owner is None:
                continue
            for base in bases.named_children:
                if base.type not in _NOT_BASES:
                    target = self.target_of.get((base.start_byte, base.end_byte)) or text_of(base, self.content)
                    self.edges.append(Edge(EdgeKind.INHERITS, owner, target, span_of(base)))


def python_import_occurrences(imports: list[PythonImport]) -> list[Occurrence]:
    """An IMPORT occurrence on every module and imported name, its symbol the import's target."""
    return [Occurrence(i.target, span_of(i.node), SymbolRole.IMPORT) for i in imports if i.occurrence]


def _target_names(root: Node) -> Iterator[Node]:
    """The identifiers an assignment/for/with target binds (`a, (b, *c)` → a, b, c); not attributes."""
    if root.type == "identifier":
        yield root
    elif root.type in _PATTERN_TYPES:
        for child in root.named_children:
            yield from _target_names(child)


def _target_attributes(root: Node) -> Iterator[Node]:
    """The `x.y` attributes a target assigns."""
    if root.type == "attribute":
        yield root
    elif root.type in _PATTERN_TYPES:
        for child in root.named_children:
            yield from _target_attributes(child)


def _attribute_roles(attribute: Node) -> int:
    """READ, or WRITE for an attribute assigned to (`self.x = 1`), or both for `self.x += 1` (role bits)."""
    node, parent = attribute, attribute.parent
    while parent is not None and parent.type in _PATTERN_TYPES:
        node, parent = parent, parent.parent
    if parent is None:
        return _READ
    if parent.type == "as_pattern_target":
        return int(WRITE)
    if parent.type in ("assignment", "augmented_assignment", "for_statement", "for_in_clause"):
        left = parent.child_by_field_name("left")
        if left is not None and left.start_byte == node.start_byte and left.end_byte == node.end_byte:
            return int(READ | SymbolRole.WRITE) if parent.type == "augmented_assignment" else int(WRITE)
    return _READ


def _enclosing_method(scope: _Scope) -> _Scope | None:
    """The method a scope sits in: lambdas and comprehensions inside it see its class."""
    current: _Scope | None = scope
    while current is not None and current.kind in ("lambda", "comprehension"):
        current = current.parent
    if current is None or current.kind != "function" or current.parent is None or current.parent.kind != "class":
        return None
    return current


def _enclosing_owner(scope: _Scope) -> str:
    """The innermost function or class a scope belongs to; "" at module level."""
    current: _Scope | None = scope
    while current is not None:
        if current.owner is not None:
            return current.owner
        current = current.parent
    return ""


def _is_staticmethod(function: Node) -> bool:
    parent = function.parent
    if parent is None or parent.type != "decorated_definition":
        return False
    return any(child.type == "decorator" and child.text.strip() == b"@staticmethod" for child in parent.children)


def _identifier_starts(node: Node) -> Iterator[int]:
    """Start bytes of the identifiers under a (small) node, such as an import statement."""
    for child in node.children:
        if child.type == "identifier":
            yield child.start_byte
        elif child.child_count:
            yield from _identifier_starts(child)
