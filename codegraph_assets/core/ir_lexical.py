"""A lexically scoped binder for the brace languages (JavaScript/TypeScript, Go, Java, Rust): EXTENDED tier.

The model is deliberately simpler than each language and errs towards leaving names unbound: a function
(with its parameters) is one scope, and every local it declares anywhere in its body is local to all of
it; class bodies bind nothing lexically (their members are found through `this`/`self`, a receiver, or the
class name); everything else falls through to the file's top level, then stays a plain name. Imports
bind names to ``import <module> <name>`` targets; member accesses on an imported name, on a type of the
file, or on `this`/`self` inside a method become member targets, as in `ir_python`.

Per language, `LexicalRules` names the receiver field of each member-access node and supplies the imports
and exports; `REFERENCE_QUERY_SOURCES` supplies the captures (the protocol is in `ir_reference_queries`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
from codegraph_assets.core.ir_symbols import TYPE_KINDS, simple_descriptor

_START_BYTE = attrgetter("start_byte")
# Assignment node types → whether they also read their target (`+=`).
_ASSIGNMENTS = {"assignment_expression": False, "augmented_assignment_expression": True,
                "assignment_statement": False, "compound_assignment_expr": True}
_UNSEEN = object()
_PATH_NODES = frozenset({"scoped_identifier", "scoped_type_identifier"})
# Identifier-like leaves a destructuring pattern binds.
_PATTERN_NAMES = frozenset({"identifier", "shorthand_property_identifier_pattern"})


@dataclass(slots=True)
class ImportBinding:
    """A name an import binds (None for a star import or the module token itself) and its target."""

    bound_name: str | None
    target: str  # ``import <module> [<member>]``
    node: Node  # the token the IMPORT occurrence covers
    star: bool = False
    occurrence: bool = True
    module_token: bool = False  # the module's own name or path: an IMPORTS edge starts here


@dataclass(frozen=True, slots=True)
class LexicalRules:
    """What the generic binder needs to know of one language."""

    # Member-access node type → the field holding its receiver (None: the member's previous sibling).
    receiver_fields: dict[str, str | None]
    self_names: frozenset[str]  # receivers meaning "this object" inside a method: this, self
    super_names: frozenset[str]  # receivers meaning "the base type": super
    imports: Callable[[dict[str, list[Node]], bytes], list[ImportBinding]]
    implicit_members: bool = False  # Java: an unbound name inside a method may be a member of its class
    path_roots: frozenset[str] = frozenset()  # Rust: `crate::`, `self::`, `super::` start a module path
    # Explicit exports beyond the top-level bindings (`export { a as b }`, `export default x`): name → target.
    exports: Callable[[dict[str, list[Node]], bytes, dict[str, str]], dict[str, str]] | None = None
    package: Callable[[dict[str, list[Node]], bytes], str] | None = None
    receiver_types: Callable[[Node, bytes], str | None] | None = None  # a Go method's receiver type name


@dataclass(slots=True, eq=False)
class _Scope:
    start: int
    end: int
    kind: str  # module | class | function
    owner: str | None
    parent: _Scope | None = None
    bindings: dict[str, str] = field(default_factory=dict)
    resolved: dict[str, str | None] = field(default_factory=dict)  # lookups done from this scope


@dataclass(slots=True)
class LexicalReferences:
    occurrences: list[OccurrenceRow]
    edges: list[Edge]
    exports: dict[str, str]
    members: dict[str, dict[str, str]]
    stars: list[str]
    package: str
    import_occurrences: list[Occurrence]


def bind_lexical_references(rules: LexicalRules, content: bytes, symbols: list[Symbol],
                            symbol_by_byte: dict[int, str], captures: dict[str, list[Node]],
                            callees: list[Node]) -> LexicalReferences:
    """Occurrences of every identifier (bound to a definition, a local, an import, or a plain name), call and
    inheritance edges, exports, members, star imports and the package of one document."""
    binder = _LexicalBinder(rules, content, symbols, symbol_by_byte, captures)
    imports = rules.imports(captures, content)
    binder.collect_bindings(imports)
    binder.bind_references(callees, {i.node.start_byte for i in imports})
    exports = dict(binder.module.bindings)
    if rules.exports is not None:
        exports.update(rules.exports(captures, content, binder.module.bindings))
    package = rules.package(captures, content) if rules.package is not None else ""
    import_occurrences = [Occurrence(i.target, span_of(i.node), SymbolRole.IMPORT) for i in imports if i.occurrence]
    stars = [i.target for i in imports if i.star]
    binder.edges += [Edge(EdgeKind.IMPORTS, STAR_IMPORT if i.star else "", i.target, span_of(i.node))
                     for i in imports if i.module_token]
    return LexicalReferences(binder.occurrences, binder.edges, exports, binder.members, stars, package,
                             import_occurrences)


class _LexicalBinder:
    def __init__(self, rules: LexicalRules, content: bytes, symbols: list[Symbol], symbol_by_byte: dict[int, str],
                 captures: dict[str, list[Node]]) -> None:
        self.rules, self.content, self.captures = rules, content, captures
        self.symbol_by_byte = symbol_by_byte
        self.symbols = {s.symbol_id: s for s in symbols}
        self.type_ids = {s.symbol_id for s in symbols if s.kind in TYPE_KINDS}
        self.locals = 0
        self.occurrences: list[OccurrenceRow] = []
        self.edges: list[Edge] = []
        self.members: dict[str, dict[str, str]] = {}
        for symbol in symbols:  # methods and nested types are members of their type (a Rust impl's too)
            if symbol.parent_id is not None and symbol.parent_id.endswith("#"):
                self.members.setdefault(symbol.parent_id, {}).setdefault(symbol.name, symbol.symbol_id)
        self.instance_of: dict[str, str] = {}  # a receiver parameter's local → its type (Go)
        self.binding_tags: dict[int, bool] = {}  # start byte of a binding identifier → is a parameter
        self.target_of: dict[tuple[int, int], str] = {}
        self.module = _Scope(0, len(content) + 1, "module", None)
        self.scopes = self._scopes()
        self.with_bases = set()
        for node in captures.get("bases", ()):
            owner = self._owner_of_bases(node)
            if owner is not None:
                self.with_bases.add(owner)

    def _scopes(self) -> list[_Scope]:
        scopes = [self.module]
        for parameters in self.captures.get("scope.function", ()):
            function = parameters.parent
            scopes.append(_Scope(parameters.start_byte, function.end_byte, "function", self._named_symbol(function)))
        for node in self.captures.get("scope.block", ()):
            scopes.append(_Scope(node.start_byte, node.end_byte, "function", None))
        for body in self.captures.get("scope.class", ()):
            owner = self._named_symbol(body) or self._named_symbol(body.parent)
            scopes.append(_Scope(body.start_byte, body.end_byte, "class", owner))
        return nest(scopes)

    def _named_symbol(self, node: Node | None) -> str | None:
        if node is None:
            return None
        name = node.child_by_field_name("name")
        if name is None:
            return None
        return self.symbol_by_byte.get(name.start_byte)

    def _sweep(self, events: list[tuple[int, int, object]]) -> Iterator[tuple[object, int, _Scope]]:
        return sweep(self.scopes, events)

    # -- bindings ----------------------------------------------------------------------------------
    _IMPORT, _DEFINITION, _PARAMETER, _LOCAL = range(4)

    def collect_bindings(self, imports: list[ImportBinding]) -> None:
        events: list[tuple[int, int, object]] = [(i.node.start_byte, self._IMPORT, i) for i in imports if i.bound_name]
        events += [(start, self._DEFINITION, start) for start, symbol_id in self.symbol_by_byte.items()
                   if self.symbols[symbol_id].kind != "method"]
        events += [(n.start_byte, self._PARAMETER, n) for n in self.captures.get("parameter", ())]
        events += [(n.start_byte, self._LOCAL, n) for n in self.captures.get("local", ())]
        events += [(n.start_byte, self._LOCAL, n) for root in self.captures.get("pattern", ())
                   for n in _pattern_names(root)]
        for payload, tag, scope in self._sweep(events):
            if tag == self._IMPORT:
                self._bind(self._function_scope(scope), payload.bound_name, payload.target)
            elif tag == self._DEFINITION:
                symbol_id = self.symbol_by_byte[payload]
                self._bind(self._function_scope(scope), self.symbols[symbol_id].name, symbol_id)
            else:
                self.binding_tags[payload.start_byte] = tag == self._PARAMETER
                target = self._bind(self._function_scope(scope), text_of(payload, self.content), None)
                if tag == self._PARAMETER and self.rules.receiver_types is not None:
                    receiver_type = self.rules.receiver_types(payload, self.content)
                    if receiver_type is not None and receiver_type in self.type_ids:
                        self.instance_of[target] = receiver_type
        self.field_definitions: list[tuple[Node, str]] = []
        for node in self.captures.get("field", ()):
            owner = self._class_owner(node)
            if owner is not None:
                name = text_of(node, self.content)
                target = self.members.setdefault(owner, {}).setdefault(name, owner + simple_descriptor(name, "variable"))
                self.field_definitions.append((node, target))

    @staticmethod
    def _function_scope(scope: _Scope) -> _Scope:
        while scope.kind == "class" and scope.parent is not None:
            scope = scope.parent
        return scope

    def _bind(self, scope: _Scope, name: str, target: str | None) -> str:
        if name in scope.bindings:
            return scope.bindings[name]
        if target is None:
            target = simple_descriptor(name, "variable") if scope.kind == "module" \
                else f"{TargetForm.LOCAL}{self._next_local()}"
        scope.bindings[name] = target
        return target

    def _next_local(self) -> int:
        self.locals += 1
        return self.locals - 1

    def _class_owner(self, node: Node) -> str | None:
        """The type whose body holds a node (a field's name)."""
        for scope in reversed(self.scopes):
            if scope.kind == "class" and scope.start <= node.start_byte < scope.end:
                return scope.owner
        return None

    def _owner_of_bases(self, node: Node) -> str | None:
        current = node.parent
        while current is not None and current.child_by_field_name("name") is None:
            current = current.parent
        return self._named_symbol(current)

    # -- references --------------------------------------------------------------------------------
    def bind_references(self, callees: list[Node], import_starts: set[int]) -> None:
        captures, content, target_of = self.captures, self.content, self.target_of
        skip = set(self.symbol_by_byte) | import_starts
        for node in captures.get("skip", ()):
            skip.add(node.start_byte)
        for statement in captures.get("import", []) + captures.get("export", []) + captures.get("package", []):
            if statement.child_by_field_name("source") is not None or statement.type != "export_statement":
                skip.update(_identifier_starts(statement) if statement.child_count else (statement.start_byte,))
        members = {node.start_byte for node in captures.get("member", ())}
        calls = {node.start_byte for node in callees}
        defined: set[str] = set(self.symbols)
        occurrences = self.occurrences
        for node, target in self.field_definitions:
            skip.add(node.start_byte)
            if target not in defined:
                defined.add(target)
                span = span_of(node)
                occurrences.append((span.start_line, span.start_col, span.end_line, span.end_col, target, int(DEFINE)))
        references = captures.get("ref", []) + captures.get("member", [])
        references.sort(key=_START_BYTE)
        scope_at = ScopeCursor(self.scopes).at
        previous = -1
        for node in references:
            start, end = node.start_byte, node.end_byte
            if start in skip or start == previous:
                continue
            previous = start
            scope = scope_at(start)
            name = content[start:end].decode("utf-8", errors="replace")
            if start in members:
                target = self._member_target(node, scope, name)
                parent = node.parent
                roles = _access_roles(parent)
                target_of[(parent.start_byte, parent.end_byte)] = target or ""
            else:
                resolved = scope.resolved
                target = resolved.get(name, _UNSEEN)
                if target is _UNSEEN:
                    target = resolved[name] = self._lookup(scope, name)
                if target is None and self.rules.implicit_members and node.type == "identifier":
                    owner = _method_owner(scope)  # Java: a field of the class used without `this.`
                    target = None if owner is None else self.members.get(owner, {}).get(name)
                parameter = self.binding_tags.get(start)
                if parameter is None:
                    roles = _access_roles(node)
                elif target is not None and target.startswith(TargetForm.IMPORT):
                    roles = SymbolRole.IMPORT  # `const { a } = require("./m")`
                elif target is not None and target not in defined:
                    defined.add(target)
                    roles = DEFINE
                else:
                    roles = WRITE
            symbol = target if target is not None else name
            target_of[(start, end)] = target or ""
            row, column = node.start_point
            row += 1
            occurrences.append((row, column, row, column + end - start, symbol, int(roles)))
            if start in calls:
                self.edges.append(Edge(EdgeKind.CALLS, _owner(scope), symbol,
                                       Span(row, column, row, column + end - start)))
        self._inheritance_edges()

    def _lookup(self, scope: _Scope, name: str) -> str | None:
        current: _Scope | None = scope
        while current is not None:
            target = current.bindings.get(name)
            if target is not None:
                return target
            current = current.parent
        return None

    def _member_target(self, member: Node, scope: _Scope, name: str) -> str | None:
        parent = member.parent
        field_name = self.rules.receiver_fields.get(parent.type, "")
        receiver = parent.child_by_field_name(field_name) if field_name else (
            member.prev_named_sibling if field_name is None else None)
        method_owner = _method_owner(scope)
        if receiver is None:
            if self.rules.implicit_members and method_owner is not None:  # Java: `format(x)` is `this.format(x)`
                return self._type_member(method_owner, name)
            return None
        receiver_text = text_of(receiver, self.content) if receiver.child_count == 0 else None
        if receiver.type in self.rules.path_roots and parent.type in _PATH_NODES:  # Rust: `crate::a`, `super::b`
            return f"{TargetForm.IMPORT}{receiver.type} {name}"
        if receiver_text in self.rules.super_names:
            return f"{TargetForm.SUPER}{method_owner} {name}" if method_owner in self.with_bases else None
        if receiver_text in self.rules.self_names and method_owner is not None:
            if receiver_text not in self._visible_bindings(scope):
                return self._type_member(method_owner, name)
        base = self.target_of.get((receiver.start_byte, receiver.end_byte))
        if not base:
            return None
        if base.startswith(TargetForm.IMPORT):
            return f"{base} {name}"
        owner = self.instance_of.get(base, base if base in self.type_ids else None)
        return None if owner is None else self._type_member(owner, name)

    def _visible_bindings(self, scope: _Scope) -> set[str]:
        names: set[str] = set()
        current: _Scope | None = scope
        while current is not None and current.kind != "module":
            names.update(current.bindings)
            current = current.parent
        return names

    def _type_member(self, owner: str, name: str) -> str | None:
        target = self.members.get(owner, {}).get(name)
        if target is None and owner in self.with_bases:
            target = f"{TargetForm.MEMBER}{owner} {name}"
        return target

    def _inheritance_edges(self) -> None:
        for node in self.captures.get("bases", ()):
            owner = self._owner_of_bases(node)
            if owner is None:
                continue
            target = self.target_of.get((node.start_byte, node.end_byte)) or text_of(node, self.content)
            self.edges.append(Edge(EdgeKind.INHERITS, owner, target, span_of(node)))


def _pattern_names(root: Node) -> Iterator[Node]:
    """The identifiers a destructuring pattern binds: not its keys, defaults or type annotations."""
    if root.type in _PATTERN_NAMES:
        yield root
        return
    for index, child in enumerate(root.children):
        if not child.is_named:
            continue
        field_name = root.field_name_for_child(index)
        if field_name in ("key", "right", "type", "value") and root.type not in ("pair_pattern",):
            continue
        if root.type == "pair_pattern" and field_name == "key":
            continue
        yield from _pattern_names(child)


def _access_roles(expression: Node) -> SymbolRole:
    """READ; WRITE for the target of an assignment (`x = 1`, `this.f = p`, `a, b = f()`); both for `x += 1`."""
    node, parent = expression, expression.parent
    if parent is not None and parent.type == "expression_list":  # Go: `a, b = f()`
        node, parent = parent, parent.parent
    if parent is None or parent.type not in _ASSIGNMENTS:
        return READ
    left = parent.child_by_field_name("left")
    if left is None or left.start_byte != node.start_byte or left.end_byte != node.end_byte:
        return READ
    return READ | SymbolRole.WRITE if _ASSIGNMENTS[parent.type] else WRITE


def _identifier_starts(node: Node) -> Iterator[int]:
    """Start bytes of the identifier-like tokens under a (small) node, such as an import statement."""
    for child in node.children:
        if child.child_count:
            yield from _identifier_starts(child)
        elif child.is_named:
            yield child.start_byte


def _method_owner(scope: _Scope) -> str | None:
    """The type whose method (or a closure inside one) a scope is."""
    current: _Scope | None = scope
    while current is not None:
        if current.kind == "function" and current.parent is not None and current.parent.kind == "class":
            return current.parent.owner
        if current.kind == "function" and current.owner is not None and "#" in current.owner:
            return current.owner[: current.owner.rindex("#") + 1]
        current = current.parent
    return None


def _owner(scope: _Scope) -> str:
    current: _Scope | None = scope
    while current is not None:
        if current.owner is not None:
            return current.owner
        current = current.parent
    return ""
