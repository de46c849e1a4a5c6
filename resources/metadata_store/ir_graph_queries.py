"""The metadata store's code-graph half: a snapshot's symbols and interfaces, its cross-file resolutions,
and the references navigation asks for. Mixed into `MetadataStore`, whose engine and helpers it uses.

A snapshot's files are found by joining its manifest entries to their IR documents through the blob
sha and the IR key prefix (parser digest, tier), so every query reads one configuration's documents.
"""

from __future__ import annotations

import json

from sqlalchemy import literal, select

from codegraph_assets.core.ir_model import DocumentInterface, DocumentIR, Symbol
from resources.metadata_store import tables as t

_PARSED = "parsed"  # stages/documents.py STATUS_PARSED: the only documents with a graph worth reading


class IRGraphQueries:
    """Code-graph reads and writes of `MetadataStore` (see the module doc)."""

    def snapshot_symbols(self, manifest_id: str, doc_key_prefix: str, *, name: str | None = None,
                         path: str | None = None) -> list[tuple[str, Symbol]]:
        """(path, symbol) of a manifest's indexed files, filtered by symbol name and/or path, in path and
        definition order."""
        from resources.metadata_store.store import SYMBOL_COLUMNS, symbol_from_values

        e, d, s = t.manifest_entries, t.ir_documents, t.ir_symbols
        query = (
            select(e.c.path, *SYMBOL_COLUMNS)
            .join(d, d.c.blob_sha == e.c.blob_sha)  # through ir_documents: its blob index serves both ways
            .join(s, s.c.doc_key == d.c.doc_key)
            .where(e.c.manifest_id == manifest_id, e.c.skip_reason.is_(None),
                   d.c.doc_key == literal(doc_key_prefix) + e.c.blob_sha)
            .order_by(e.c.path, s.c.ordinal)
        )
        if name is not None:
            query = query.where(s.c.name == name)
        if path is not None:
            query = query.where(e.c.path == path)
        with self._errors(f"read the symbols of manifest {manifest_id}"), self.engine.connect() as conn:
            return [(path, symbol_from_values(values)) for path, *values in conn.execute(query)]

    def snapshot_interfaces(self, manifest_id: str, doc_key_prefix: str) -> dict[str, DocumentIR]:
        """path → the parsed document of every indexed file, holding only its language and interface (what
        `RepositoryResolver` reads): one row per file, no occurrences."""
        e, d, g = t.manifest_entries, t.ir_documents, t.ir_document_graphs
        query = (
            select(e.c.path, d.c.language, g.c.interface)
            .join(d, d.c.blob_sha == e.c.blob_sha)
            .join(g, g.c.doc_key == d.c.doc_key)
            .where(e.c.manifest_id == manifest_id, e.c.skip_reason.is_(None), d.c.status == _PARSED,
                   d.c.doc_key == literal(doc_key_prefix) + e.c.blob_sha)
        )
        documents: dict[str, DocumentIR] = {}
        with self._errors(f"read the IR interfaces of manifest {manifest_id}"), self.engine.connect() as conn:
            for row in conn.execute(query):
                interface = DocumentInterface.from_json(json.loads(row.interface))
                documents[row.path] = DocumentIR.interface_only(row.language, interface)
        return documents

    def resolution_done(self, manifest_id: str, resolver: str) -> bool:
        r = t.resolved_manifests
        with self._errors(f"look up the resolution of manifest {manifest_id}"), self.engine.connect() as conn:
            return conn.execute(select(r.c.manifest_id).where(
                r.c.manifest_id == manifest_id, r.c.resolver == resolver)).first() is not None

    def save_resolutions(self, manifest_id: str, resolver: str,
                         resolutions: dict[str, tuple[str, dict[str, str]]]) -> int:
        """Record path → (resolution key, its map) for a manifest, then mark it resolved, in one transaction.
        Maps are content-addressed: only keys not stored yet are written. Returns how many maps were new."""
        from resources.metadata_store.store import _hold_gc_lock

        keys = {key for key, _ in resolutions.values()}
        present = self._present(t.ir_resolutions.c.resolution_key, keys)
        new_maps = {key: mapping for key, mapping in resolutions.values() if key not in present}
        with self._errors(f"save the resolution of manifest {manifest_id}"), self.engine.begin() as conn:
            _hold_gc_lock(conn, exclusive=False)
            self._insert_ignore(conn, t.ir_resolutions, [
                {"resolution_key": key, "expression": expression, "target": target}
                for key, mapping in new_maps.items() for expression, target in mapping.items()])
            self._insert_ignore(conn, t.manifest_resolutions, [
                {"manifest_id": manifest_id, "resolver": resolver, "path": path, "resolution_key": key}
                for path, (key, _) in resolutions.items()])
            self._insert_ignore(conn, t.resolved_manifests, [{"manifest_id": manifest_id, "resolver": resolver}])
        return len(new_maps)

    def resolutions_of(self, manifest_id: str, resolver: str, path: str) -> dict[str, str]:
        """A file's resolution map in a manifest: document-level target → repository-wide symbol."""
        m, r = t.manifest_resolutions, t.ir_resolutions
        query = (select(r.c.expression, r.c.target).join(m, m.c.resolution_key == r.c.resolution_key)
                 .where(m.c.manifest_id == manifest_id, m.c.resolver == resolver, m.c.path == path))
        with self._errors(f"read the resolution of {path}"), self.engine.connect() as conn:
            return {row.expression: row.target for row in conn.execute(query)}

    def expressions_resolving_to(self, manifest_id: str, resolver: str, symbol: str) -> list[tuple[str, str]]:
        """(path, document-level target) of every file of a manifest with a target that resolves to `symbol`."""
        m, r = t.manifest_resolutions, t.ir_resolutions
        query = (select(m.c.path, r.c.expression).join(m, m.c.resolution_key == r.c.resolution_key)
                 .where(r.c.target == symbol, m.c.manifest_id == manifest_id, m.c.resolver == resolver)
                 .order_by(m.c.path, r.c.expression))
        with self._errors(f"find references to {symbol}"), self.engine.connect() as conn:
            return [(row.path, row.expression) for row in conn.execute(query)]
