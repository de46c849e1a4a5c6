"""Navigator: go to definition, find references and list symbols of one (repo, snapshot), as of its serving head.

Read-only, like `search.py`: every answer comes from the stored IR of the *serving* manifest (the last one all
four stages published), so navigation and search always describe the same commit. Locations use the
search hits' fields (`path`, `start_line`, `end_line`, 1-based inclusive) plus the repository-wide SCIP
symbol id and its kind.

References are the occurrences the IR bound to the symbol: inside its own file by scope, elsewhere through
the snapshot's stored cross-file resolution (EXTENDED and FULL tiers). Names the IR could not bind are
never counted as references; `include_unresolved` lists those that merely share the name, flagged
`resolved: false`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import pathspec

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.ir_model import DocumentIR, Symbol, SymbolRole, TargetForm, is_descriptor, qualified_symbol_id
from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.stages.documents import doc_key, doc_key_prefix
from codegraph_assets.stages.ir_stage import cross_file_enabled, resolver_key
from resources.metadata_store import INDEX_STAGES, MetadataStore, PublishedSnapshot

# One SCIP descriptor: a name (plain or backquoted), an optional overload disambiguator, its suffix.
_DESCRIPTOR = re.compile(r"(`(?:[^`]|``)*`|[^`.#/()\s]+)(\((?:\+\d+)?\))?([.#/])")
# File stems that stand for their directory's module: a package's `__init__.py`, `index.ts`, Rust's `mod.rs`.
_DIRECTORY_MODULE_STEMS = {"py": "__init__", "pyi": "__init__", "js": "index", "mjs": "index", "cjs": "index",
                           "jsx": "index", "ts": "index", "tsx": "index", "mts": "index", "cts": "index",
                           "rs": "mod"}
_UNKNOWN_KIND = "unknown"
_VARIABLE_KIND = "variable"  # a module or class variable: an occurrence, not a Symbol
_MODULE_KIND = "module"


@dataclass(frozen=True, slots=True)
class SymbolLocation:
    """One definition or occurrence of a symbol, located like a search hit."""

    path: str
    start_line: int  # 1-based inclusive: a definition's whole range, or the occurrence itself
    end_line: int
    symbol: str  # repository-wide SCIP id; for an unresolved reference, the name as written
    kind: str  # the symbol's kind (function, class, variable, …); "unknown" for an unresolved reference
    name: str
    line: int  # where the name itself is: 1-based line ...
    column: int  # ... and 0-based byte column, where an editor puts the cursor
    roles: tuple[str, ...] = ()  # SymbolRole names of the occurrence: definition, reference, import, write, …
    resolved: bool = True  # False: it only shares the name; the IR could not tell what it means

    def to_json(self) -> dict:
        return asdict(self) | {"roles": list(self.roles)}


class Navigator:
    """Definitions, references and per-file symbols from the stored IR of a partition's serving snapshot."""

    def __init__(self, store: MetadataStore, config: IndexingConfig) -> None:
        self.store, self.config = store, config
        self._paths_cache: dict[str, dict[str, str]] = {}
        self._documents: dict[str, DocumentIR | None] = {}
        self._tests = pathspec.GitIgnoreSpec.from_lines(config.ir_build.test_patterns)

    def definitions(self, repo: str, snapshot: str, name_or_symbol: str) -> list[SymbolLocation]:
        """Where a symbol is defined: a repository-wide id (`pkg/mod.py/Class#method().`), a descriptor
        (`Class#method().`), a dotted name (`pkg.mod.Class.method`, `Class.method`) or a bare name."""
        serving = self._require_serving(repo, snapshot)
        return self._definitions(serving, name_or_symbol)

    def definition_at(self, repo: str, snapshot: str, path: str, line: int, column: int | None = None
                      ) -> list[SymbolLocation]:
        """Go to definition from a position: the definition of what the name at (line, column) means.
        Without a column, the first occurrence on the line that the IR bound."""
        serving = self._require_serving(repo, snapshot)
        document = self._document(serving, self._require_path(serving, path))
        candidates = [o for o in document.occurrences if o.span.start_line <= line <= o.span.end_line
                      and (column is None or o.span.start_col <= column < max(o.span.end_col, o.span.start_col + 1))]
        for occurrence in candidates:
            symbol = self._repository_symbol(serving, path, occurrence.symbol)
            if symbol is not None:
                return self._definitions(serving, symbol)
        return []

    def references(self, repo: str, snapshot: str, symbol: str, *, include_unresolved: bool = False
                   ) -> list[SymbolLocation]:
        """Every occurrence the IR bound to a symbol (given as for `definitions`), its definitions excluded;
        with `include_unresolved`, also the unbound names that merely match its name."""
        serving = self._require_serving(repo, snapshot)
        found: list[SymbolLocation] = []
        names: dict[str, str] = {}
        for definition in self._definitions(serving, symbol):
            names[definition.name] = definition.kind
            path, descriptor = self._split_qualified(serving, definition.symbol)
            wanted = {(path, descriptor)}
            if cross_file_enabled(self.config):
                wanted.update(self.store.expressions_resolving_to(
                    serving.manifest_id, resolver_key(self.config), definition.symbol))
            for where, target in sorted(wanted):
                document = self._document(serving, where)
                found += [self._occurrence(where, o, definition.symbol, definition.kind, definition.name)
                          for o in document.occurrences if o.symbol == target and not o.roles & SymbolRole.DEFINITION]
        if include_unresolved and names:
            for path in sorted(self._paths(serving)):
                for o in self._document(serving, path).occurrences:
                    if o.symbol in names and not o.roles & SymbolRole.DEFINITION:
                        found.append(self._occurrence(path, o, o.symbol, _UNKNOWN_KIND, o.symbol, resolved=False))
        found.sort(key=lambda location: (location.path, location.line, location.column))
        return list(dict.fromkeys(found))

    def symbols(self, repo: str, snapshot: str, path: str) -> list[SymbolLocation]:
        """The definitions of one file, in source order."""
        serving = self._require_serving(repo, snapshot)
        self._require_path(serving, path)
        return [self._definition(p, s) for p, s in self.store.snapshot_symbols(
            serving.manifest_id, doc_key_prefix(self.config), path=path)]

    # -- lookups -----------------------------------------------------------------------------------
    def _definitions(self, serving: PublishedSnapshot, query: str) -> list[SymbolLocation]:
        query = query.strip()
        prefix = doc_key_prefix(self.config)
        path, descriptor = self._split_qualified(serving, query)
        if path is not None:
            if descriptor == "":
                return [self._module(path)]
            found = [self._definition(p, s) for p, s in self.store.snapshot_symbols(
                serving.manifest_id, prefix, path=path) if s.symbol_id == descriptor]
            return found or self._variable_definitions(serving, path, descriptor)
        names = descriptor_names(query)
        if names:  # a document-relative descriptor such as `Class#method().`
            return [self._definition(p, s) for p, s in self.store.snapshot_symbols(
                serving.manifest_id, prefix, name=names[-1]) if s.symbol_id == query]
        *qualifiers, name = query.split(".")
        candidates = self.store.snapshot_symbols(serving.manifest_id, prefix, name=name)
        return [self._definition(p, s) for p, s in candidates
                if _qualified_name(p, s)[-len(qualifiers) - 1:] == [*qualifiers, name]]

    def _variable_definitions(self, serving: PublishedSnapshot, path: str, descriptor: str) -> list[SymbolLocation]:
        """A module or class variable (`pkg/config.py/TIMEOUT.`): its first binding, from the occurrences."""
        names = descriptor_names(descriptor)
        for occurrence in self._document(serving, path).occurrences:
            if occurrence.symbol == descriptor and occurrence.roles & SymbolRole.DEFINITION:
                return [self._occurrence(path, occurrence, qualified_symbol_id(path, descriptor), _VARIABLE_KIND,
                                         names[-1] if names else descriptor)]
        return []

    def _repository_symbol(self, serving: PublishedSnapshot, path: str, target: str) -> str | None:
        """The repository-wide id a document-level target of `path` means, or None if the IR left it open."""
        if is_descriptor(target):
            return qualified_symbol_id(path, target)
        if target.startswith(TargetForm.LOCAL) or not cross_file_enabled(self.config):
            return None  # locals have no repository-wide id (`definition_at` lists their binding elsewhere)
        return self.store.resolutions_of(serving.manifest_id, resolver_key(self.config), path).get(target)

    def _split_qualified(self, serving: PublishedSnapshot, query: str) -> tuple[str | None, str]:
        """(path, descriptor) of a repository-wide id whose path is a file of the snapshot, else (None, query)."""
        paths = self._paths(serving)
        slash = query.find("/")
        while slash != -1:
            if query[:slash] in paths:
                return query[:slash], query[slash + 1:]
            slash = query.find("/", slash + 1)
        return None, query

    # -- shaping -----------------------------------------------------------------------------------
    def _definition(self, path: str, symbol: Symbol) -> SymbolLocation:
        return SymbolLocation(
            path, symbol.enclosing.start_line, symbol.enclosing.end_line,
            qualified_symbol_id(path, symbol.symbol_id), symbol.kind, symbol.name,
            symbol.span.start_line, symbol.span.start_col, self._roles(path, SymbolRole.DEFINITION))

    def _module(self, path: str) -> SymbolLocation:
        return SymbolLocation(path, 1, 1, qualified_symbol_id(path, ""), _MODULE_KIND, path.rsplit("/", 1)[-1],
                              1, 0, self._roles(path, SymbolRole.DEFINITION))

    def _occurrence(self, path: str, occurrence, symbol: str, kind: str, name: str, *,
                    resolved: bool = True) -> SymbolLocation:
        span = occurrence.span
        return SymbolLocation(path, span.start_line, span.end_line, symbol, kind, name, span.start_line,
                              span.start_col, self._roles(path, occurrence.roles), resolved)

    def _roles(self, path: str, roles: SymbolRole) -> tuple[str, ...]:
        if self._tests.match_file(path):
            roles |= SymbolRole.TEST
        return tuple(role.name.lower() for role in SymbolRole if role & roles)

    # -- stored state ------------------------------------------------------------------------------
    def _document(self, serving: PublishedSnapshot, path: str) -> DocumentIR:
        key = doc_key(self._paths(serving)[path], self.config)
        if key not in self._documents:
            self._documents[key] = self.store.load_document(key)
        return self._documents[key] or DocumentIR(language="unknown")

    def _paths(self, serving: PublishedSnapshot) -> dict[str, str]:
        """path → blob of the serving manifest's indexed files, cached per manifest (manifests never change)."""
        if serving.manifest_id not in self._paths_cache:
            self._paths_cache[serving.manifest_id] = {
                e.path: e.blob_sha for e in self.store.load_manifest(serving.manifest_id) if e.indexed}
        return self._paths_cache[serving.manifest_id]

    def _require_path(self, serving: PublishedSnapshot, path: str) -> str:
        if path not in self._paths(serving):
            raise CodegraphError(
                ErrorCode.PATH_NOT_FOUND, f"{path!r} is not an indexed file of {serving.repo}|{serving.snapshot} "
                f"(commit {serving.commit[:12]})", input=path,
                fix="give a path relative to the repository root, as search hits print it")
        return path

    def _require_serving(self, repo: str, snapshot: str) -> PublishedSnapshot:
        return require_serving(self.store, repo, snapshot)


def require_serving(store: MetadataStore, repo: str, snapshot: str) -> PublishedSnapshot:
    """The partition's serving head, or an error naming the stages that never published: the one "no
    complete index yet" answer of search, navigation and SCIP export alike."""
    serving = store.serving(repo, snapshot)
    if serving is not None:
        return serving
    heads = {stage: store.published(repo, snapshot, stage) for stage in INDEX_STAGES}
    missing = [stage for stage, head in heads.items() if head is None]
    state = (f"{', '.join(missing)} never published" if missing
             else "its stages published different commits: " + ", ".join(
                 f"{stage} {head.commit[:12]}" for stage, head in heads.items()))
    raise CodegraphError(
        ErrorCode.INVALID_PAYLOAD, f"{repo}|{snapshot} has no complete index yet ({state})",
        input=f"{repo}|{snapshot}",
        fix="`codegraph index` the repository, or materialize all four assets for that partition",
    )


def descriptor_names(descriptors: str) -> list[str]:
    """The names of a document-relative SCIP id, outermost first (`A#b().` → [A, b]); [] if it is not one."""
    names: list[str] = []
    position = 0
    for match in _DESCRIPTOR.finditer(descriptors):
        if match.start() != position:
            return []
        name = match.group(1)
        names.append(name[1:-1].replace("``", "`") if name.startswith("`") else name)
        position = match.end()
    return names if position == len(descriptors) and names else []


def module_parts(path: str) -> list[str]:
    """The dotted-module components of a file path: `pkg/sub/__init__.py` → [pkg, sub], `a/b.ts` → [a, b]."""
    parts = path.split("/")
    stem, _, extension = parts[-1].rpartition(".")
    if not stem:
        return parts
    return parts[:-1] if _DIRECTORY_MODULE_STEMS.get(extension) == stem else [*parts[:-1], stem]


def _qualified_name(path: str, symbol: Symbol) -> list[str]:
    return module_parts(path) + descriptor_names(symbol.symbol_id)
