"""MetadataStore: the relational half of the index (repos, manifests, IR, chunks, embeddings, heads).

SQLAlchemy Core over SQLite or PostgreSQL; the schema comes from Alembic migrations applied on open.
Writes of content-addressed rows (manifests, IR, chunks, embeddings) are insert-if-absent in primary-key
order, so concurrent runs that derive the same rows neither conflict nor duplicate them; heads are upserts.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, and_, create_engine, delete, event, exists, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from codegraph_assets.config import codegraph_home
from codegraph_assets.core.chunking import ChunkRecord
from codegraph_assets.core.ir_model import DocumentInterface, DocumentIR, Span, Symbol
from codegraph_assets.core.source import ManifestEntry
from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.file_lock import exclusive_file_lock
from resources.metadata_store import tables as t
from resources.metadata_store.ir_graph_queries import IRGraphQueries
from resources.metadata_store.summary_queries import SummaryQueries

_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_KEY = 0x636F6465  # "code": the advisory lock id that serializes migrations on PostgreSQL
# Writers of content rows hold this lock shared, garbage collection holds it exclusively: on PostgreSQL
# (read committed) GC's statements would otherwise each see a different set of live rows. SQLite
# already runs one write transaction at a time.
_GC_LOCK_KEY = 0x67630000
_PUBLISH_LOCK_SPACE = 0x70756220  # "pub ": two-key advisory locks (space, partition hash) for publish
_MAX_BOUND_PARAMETERS = 30_000  # below SQLite's 32,766 and PostgreSQL's 65,535 per statement


def store_url(backend: str, sqlite_path: str, postgres_dsn: str | None) -> str:
    """The SQLAlchemy URL of the store: `backend` sqlite, postgres, or auto (= postgres when `postgres_dsn`
    is set, else sqlite at `sqlite_path`, "" = $CODEGRAPH_HOME/metadata.db)."""
    if backend == "auto":
        backend = "postgres" if postgres_dsn else "sqlite"
    if backend == "postgres":
        if not postgres_dsn:
            raise ValueError("metadata store backend 'postgres' needs postgres_dsn (CODEGRAPH_POSTGRES_DSN)")
        return (postgres_dsn.replace("postgresql://", "postgresql+psycopg://", 1)
                if postgres_dsn.startswith("postgresql://") else postgres_dsn)
    path = Path(sqlite_path) if sqlite_path else codegraph_home() / "metadata.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


@dataclass(frozen=True, slots=True)
class RepoRecord:
    name: str
    location: str
    kind: str
    refs: tuple[str, ...]


# The stages whose heads must all name one manifest before searches see it, and the head they then move.
INDEX_STAGES = ("ir", "lexical", "chunk", "vector")
SERVING = "serving"


@dataclass(frozen=True, slots=True)
class PublishedSnapshot:
    repo: str
    snapshot: str
    stage: str
    commit: str
    manifest_id: str
    # When this head last moved (as the database renders it); not part of a head's identity.
    published_at: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SnapshotChunk:
    """A chunk as it appears in one snapshot: the chunk plus the path it sits at."""

    path: str
    blob_sha: str
    language: str | None
    chunk: ChunkRecord


class MetadataStore(IRGraphQueries, SummaryQueries):
    """All metadata reads and writes; one instance per process or run."""

    def __init__(self, url: str, *, batch_size: int = 500, busy_timeout_s: float = 30.0) -> None:
        self.url = url
        self.batch_size = batch_size
        self.engine: Engine = _make_engine(url, busy_timeout_s)

    # -- lifecycle -----------------------------------------------------------------------------
    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision; concurrent openers take turns."""
        # Imported here: Alembic costs half a second, which the CLI's up-to-date check must not pay.
        from alembic import command
        from alembic.config import Config as AlembicConfig

        config = AlembicConfig()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self._errors("migrate the metadata store"), self._migration_lock(), self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    @contextmanager
    def _migration_lock(self):
        """SQLite has no advisory locks: a file lock beside the database serializes migrations."""
        database = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if not database or database == ":memory:":
            yield
            return
        with exclusive_file_lock(f"{database}.migrate.lock"):
            yield

    def close(self) -> None:
        self.engine.dispose()

    # -- repositories ----------------------------------------------------------------------------
    def add_repo(self, name: str, location: str, kind: str, refs: Iterable[str]) -> RepoRecord:
        """Record (or re-point) a repository; an upsert, so two first runs registering it at once both succeed."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        upsert = dialect.insert(t.repos).values(name=name, location=location, kind=kind).on_conflict_do_update(
            index_elements=[t.repos.c.name], set_={"location": location, "kind": kind})
        with self._errors(f"register repository {name!r}"), self.engine.begin() as conn:
            conn.execute(upsert)
            self._insert_ignore(conn, t.repo_refs, [{"repo": name, "ref": ref} for ref in refs])
        return self.get_repo(name)

    def get_repo(self, name: str) -> RepoRecord | None:
        with self._errors(f"read repository {name!r}"), self.engine.connect() as conn:
            row = conn.execute(select(t.repos).where(t.repos.c.name == name)).first()
            if row is None:
                return None
            refs = conn.execute(select(t.repo_refs.c.ref).where(t.repo_refs.c.repo == name)).scalars()
            return RepoRecord(row.name, row.location, row.kind, tuple(sorted(refs)))

    def list_repos(self) -> list[RepoRecord]:
        with self._errors("list repositories"), self.engine.connect() as conn:
            names = conn.execute(select(t.repos.c.name).order_by(t.repos.c.name)).scalars().all()
        return [self.get_repo(name) for name in names]

    def remove_repo(self, name: str) -> bool:
        """Forget a repository and its published heads; content-addressed rows stay for other repos."""
        with self._errors(f"remove repository {name!r}"), self.engine.begin() as conn:
            conn.execute(delete(t.repo_refs).where(t.repo_refs.c.repo == name))
            conn.execute(delete(t.published_snapshots).where(t.published_snapshots.c.repo == name))
            return conn.execute(delete(t.repos).where(t.repos.c.name == name)).rowcount > 0

    def track_refs(self, name: str, refs: Iterable[str]) -> list[str]:
        """Add refs to a registered repository's tracked refs; returns those it did not track before."""
        r = t.repo_refs
        with self._errors(f"track refs of repository {name!r}"), self.engine.begin() as conn:
            known = set(conn.execute(select(r.c.ref).where(r.c.repo == name)).scalars())
            new = sorted(set(refs) - known)
            self._insert_ignore(conn, r, [{"repo": name, "ref": ref} for ref in new])
        return new

    def add_ref_patterns(self, name: str, patterns: Iterable[str]) -> None:
        """Record globs whose matching branches and tags the repository starts tracking when they appear."""
        with self._errors(f"record ref patterns of repository {name!r}"), self.engine.begin() as conn:
            self._insert_ignore(conn, t.repo_ref_patterns, [{"repo": name, "pattern": p} for p in set(patterns)])

    def ref_patterns(self) -> dict[str, tuple[str, ...]]:
        """Repository → its ref patterns, for every repository that has some."""
        rp = t.repo_ref_patterns
        patterns: dict[str, list[str]] = {}
        with self._errors("read ref patterns"), self.engine.connect() as conn:
            for row in conn.execute(select(rp.c.repo, rp.c.pattern).order_by(rp.c.repo, rp.c.pattern)):
                patterns.setdefault(row.repo, []).append(row.pattern)
        return {repo: tuple(values) for repo, values in patterns.items()}

    def remove_ref_patterns(self, name: str) -> None:
        with self._errors(f"remove ref patterns of repository {name!r}"), self.engine.begin() as conn:
            conn.execute(delete(t.repo_ref_patterns).where(t.repo_ref_patterns.c.repo == name))

    # -- manifests -------------------------------------------------------------------------------
    def save_manifest(self, manifest_id: str, repo: str, commit: str, entries: Sequence[ManifestEntry]) -> None:
        """Store a manifest once; concurrent savers of the same id (ir and lexical) both succeed."""
        rows = [
            {"manifest_id": manifest_id, "path": e.path, "blob_sha": e.blob_sha, "size": e.size,
             "language": e.language, "skip_reason": e.skip_reason}
            for e in sorted(entries, key=lambda e: e.path)
        ]
        with self._errors(f"save the manifest of {repo}@{commit[:12]}"), self.engine.begin() as conn:
            _hold_gc_lock(conn, exclusive=False)
            # Entries first, header last: a reader that finds the header finds every entry.
            self._insert_ignore(conn, t.manifest_entries, rows)
            self._insert_ignore(conn, t.manifests, [{"manifest_id": manifest_id, "repo": repo,
                                                     "commit_sha": commit, "entry_count": len(rows)}])
            conn.execute(t.manifests.update().where(t.manifests.c.manifest_id == manifest_id)
                         .values(last_used_at=func.now()))

    def use_manifest(self, manifest_id: str) -> bool:
        """Mark a stored manifest as in use now (garbage collection spares it); False if it is not stored."""
        m = t.manifests
        with self._errors(f"use manifest {manifest_id}"), self.engine.begin() as conn:
            _hold_gc_lock(conn, exclusive=False)
            result = conn.execute(m.update().where(m.c.manifest_id == manifest_id).values(last_used_at=func.now()))
            return result.rowcount > 0

    def load_manifest(self, manifest_id: str) -> list[ManifestEntry]:
        e = t.manifest_entries
        with self._errors(f"load manifest {manifest_id}"), self.engine.connect() as conn:
            rows = conn.execute(select(e).where(e.c.manifest_id == manifest_id).order_by(e.c.path))
            return [ManifestEntry(r.path, r.blob_sha, r.size, r.language, r.skip_reason) for r in rows]

    # -- IR --------------------------------------------------------------------------------------
    def present_doc_keys(self, doc_keys: Iterable[str]) -> set[str]:
        return self._present(t.ir_documents.c.doc_key, doc_keys)

    def save_documents(self, documents: Iterable[tuple[str, str, str, DocumentIR]]) -> int:
        """Store (doc_key, blob_sha, status, ir) rows that are absent; returns how many were new."""
        unique = sorted({doc_key: (doc_key, blob_sha, status, ir)
                         for doc_key, blob_sha, status, ir in documents}.values(), key=lambda d: d[0])
        if not unique:
            return 0
        with self._errors("save IR documents"), self.engine.begin() as conn:
            _hold_gc_lock(conn, exclusive=False)
            # A document another run stored first is skipped whole: its rows are identical.
            new = set(self._insert_ignore_keys(conn, t.ir_documents, [
                {"doc_key": doc_key, "blob_sha": blob_sha, "language": ir.language, "status": status,
                 "parse_errors": ir.parse_errors, "line_count": ir.line_count, "imports": json.dumps(ir.imports)}
                for doc_key, blob_sha, status, ir in unique]))
            fresh = [(doc_key, ir) for doc_key, _, _, ir in unique if doc_key in new]
            self._insert_rows(conn, t.ir_symbols, [_symbol_row(doc_key, i, s)
                                                   for doc_key, ir in fresh for i, s in enumerate(ir.symbols)])
            self._insert_ignore(conn, t.ir_document_graphs, [
                {"doc_key": doc_key, "graph": ir.packed_graph(), "interface": json.dumps(ir.interface().to_json())}
                for doc_key, ir in fresh])
        return len(new)

    def load_document(self, doc_key: str) -> DocumentIR | None:
        """A stored document; its occurrences and edges unpack when first read."""
        with self._errors(f"load IR document {doc_key}"), self.engine.connect() as conn:
            doc = conn.execute(select(t.ir_documents).where(t.ir_documents.c.doc_key == doc_key)).first()
            if doc is None:
                return None
            s = t.ir_symbols
            symbols = conn.execute(select(*SYMBOL_COLUMNS).where(s.c.doc_key == doc_key).order_by(s.c.ordinal))
            graph = conn.execute(select(t.ir_document_graphs).where(t.ir_document_graphs.c.doc_key == doc_key)).first()
            interface = DocumentInterface.from_json(json.loads(graph.interface))
            return DocumentIR.with_packed_graph(
                graph.graph, interface, language=doc.language, symbols=[symbol_from_values(r) for r in symbols],
                imports=json.loads(doc.imports), parse_errors=doc.parse_errors, line_count=doc.line_count,
                exports=interface.exports, members=interface.members, package=interface.package)

    def document_statuses(self, doc_keys: Iterable[str]) -> dict[str, tuple[str, int]]:
        """doc_key → (status, parse_errors) for the keys that exist."""
        d = t.ir_documents
        result: dict[str, tuple[str, int]] = {}
        with self._errors("read IR document statuses"), self.engine.connect() as conn:
            for batch in _batches(list(doc_keys), self.batch_size):
                for r in conn.execute(select(d.c.doc_key, d.c.status, d.c.parse_errors).where(d.c.doc_key.in_(batch))):
                    result[r.doc_key] = (r.status, r.parse_errors)
        return result

    def symbol_names(self, doc_keys: Iterable[str]) -> dict[str, list[str]]:
        s = t.ir_symbols
        names: dict[str, list[str]] = {}
        with self._errors("read symbol names"), self.engine.connect() as conn:
            for batch in _batches(list(doc_keys), self.batch_size):
                rows = conn.execute(select(s.c.doc_key, s.c.name).where(s.c.doc_key.in_(batch)).order_by(s.c.ordinal))
                for r in rows:
                    names.setdefault(r.doc_key, []).append(r.name)
        return names

    def document_symbols(self, doc_keys: Iterable[str]) -> dict[str, list[Symbol]]:
        """doc_key → its symbols in document order, for many documents at once (what lexical units need,
        without loading whole documents)."""
        s = t.ir_symbols
        result: dict[str, list[Symbol]] = {}
        with self._errors("read IR symbols"), self.engine.connect() as conn:
            for batch in _batches(list(doc_keys), self.batch_size):
                query = (select(s.c.doc_key, *SYMBOL_COLUMNS).where(s.c.doc_key.in_(batch))
                         .order_by(s.c.doc_key, s.c.ordinal))
                for doc_key, *values in conn.execute(query):
                    result.setdefault(doc_key, []).append(symbol_from_values(values))
        return result

    def chunking_documents(self, doc_keys: Iterable[str]) -> dict[str, DocumentIR]:
        """doc_key → its document holding what the chunker reads (language, line count, symbols, syntax
        outline), for many documents at once: three queries a batch instead of three a document, and no
        occurrences or edges built."""
        from codegraph_assets.core.ir_packing import unpack_outline

        d, g = t.ir_documents, t.ir_document_graphs
        keys = list(doc_keys)
        symbols = self.document_symbols(keys)
        result: dict[str, DocumentIR] = {}
        with self._errors("read IR documents for chunking"), self.engine.connect() as conn:
            for batch in _batches(keys, self.batch_size):
                outlines = {r.doc_key: unpack_outline(r.graph)
                            for r in conn.execute(select(g.c.doc_key, g.c.graph).where(g.c.doc_key.in_(batch)))}
                rows = conn.execute(select(d.c.doc_key, d.c.language, d.c.line_count, d.c.parse_errors)
                                    .where(d.c.doc_key.in_(batch)))
                for r in rows:
                    result[r.doc_key] = DocumentIR(r.language, symbols=symbols.get(r.doc_key, []),
                                                   parse_errors=r.parse_errors, line_count=r.line_count,
                                                   outline=outlines.get(r.doc_key, b""))
        return result

    # -- chunks ----------------------------------------------------------------------------------
    def present_chunk_sets(self, set_keys: Iterable[str]) -> set[str]:
        return self._present(t.chunk_sets.c.set_key, set_keys)

    def save_chunk_set(self, set_key: str, blob_sha: str, records: Sequence[ChunkRecord]) -> bool:
        return self.save_chunk_sets([(set_key, blob_sha, records)]) == 1

    def save_chunk_sets(self, chunk_sets: Sequence[tuple[str, str, Sequence[ChunkRecord]]]) -> int:
        """Save (set key, blob sha, chunks) of many blobs in one transaction: one commit per file would cost
        SQLite a disk sync each. A set already stored stays as it is. Returns how many sets were new."""
        if not chunk_sets:
            return 0
        with self._errors(f"save the chunks of {len(chunk_sets)} blobs"), self.engine.begin() as conn:
            _hold_gc_lock(conn, exclusive=False)
            new = set(self._insert_ignore_keys(conn, t.chunk_sets, [
                {"set_key": set_key, "blob_sha": blob_sha, "chunk_count": len(records)}
                for set_key, blob_sha, records in chunk_sets]))
            fresh = [(set_key, records) for set_key, _, records in chunk_sets if set_key in new]
            self._insert_ignore(conn, t.chunk_texts, list({
                c.chunk_hash: {"chunk_hash": c.chunk_hash, "text": c.text, "embed_text": c.embed_text}
                for _, records in fresh for c in records}.values()))
            self._insert_rows(conn, t.chunks, [
                {"set_key": set_key, "ordinal": i, "chunk_hash": c.chunk_hash, "start_line": c.start_line,
                 "end_line": c.end_line, "symbol_id": c.symbol_id, "kind": c.kind}
                for set_key, records in fresh for i, c in enumerate(records)])
            return len(new)

    def snapshot_chunks(self, entries: Sequence[ManifestEntry], set_key_of: dict[str, str]) -> Iterator[SnapshotChunk]:
        """Chunks of every entry (by its chunk-set key), with text, grouped by chunk set in ordinal order."""
        c, x = t.chunks, t.chunk_texts
        by_set: dict[str, list[ManifestEntry]] = {}
        for entry in entries:
            by_set.setdefault(set_key_of[entry.blob_sha], []).append(entry)
        with self._errors("read snapshot chunks"), self.engine.connect() as conn:
            for batch in _batches(sorted(by_set), self.batch_size):
                rows = conn.execute(
                    select(c, x.c.text, x.c.embed_text).join(x, x.c.chunk_hash == c.c.chunk_hash)
                    .where(c.c.set_key.in_(batch)).order_by(c.c.set_key, c.c.ordinal))
                for r in rows:
                    record = ChunkRecord(r.start_line, r.end_line, r.symbol_id, r.kind, r.text, r.embed_text,
                                         r.chunk_hash)
                    for entry in by_set[r.set_key]:
                        yield SnapshotChunk(entry.path, entry.blob_sha, entry.language, record)

    def chunk_texts(self, chunk_hashes: Iterable[str]) -> dict[str, str]:
        x = t.chunk_texts
        with self._errors("read chunk texts"), self.engine.connect() as conn:
            result = {}
            for batch in _batches(list(set(chunk_hashes)), self.batch_size):
                rows = conn.execute(select(x.c.chunk_hash, x.c.text).where(x.c.chunk_hash.in_(batch)))
                result.update({r.chunk_hash: r.text for r in rows})
            return result

    # -- embeddings --------------------------------------------------------------------------------
    def cached_embeddings(self, model_id: str, chunk_hashes: Iterable[str]) -> dict[str, np.ndarray]:
        e = t.embeddings
        result: dict[str, np.ndarray] = {}
        with self._errors("read cached embeddings"), self.engine.connect() as conn:
            for batch in _batches(list(set(chunk_hashes)), self.batch_size):
                rows = conn.execute(select(e.c.chunk_hash, e.c.vector)
                                    .where(and_(e.c.model_id == model_id, e.c.chunk_hash.in_(batch))))
                for r in rows:
                    result[r.chunk_hash] = np.frombuffer(r.vector, dtype="<f4")
        return result

    def save_embeddings(self, model_id: str, vectors: dict[str, np.ndarray]) -> None:
        rows = [{"model_id": model_id, "chunk_hash": h, "vector": np.asarray(v, dtype="<f4").tobytes()}
                for h, v in vectors.items()]
        with self._errors("save embeddings"), self.engine.begin() as conn:
            _hold_gc_lock(conn, exclusive=False)
            self._insert_ignore(conn, t.embeddings, rows)

    # -- published heads ---------------------------------------------------------------------------
    def publish(self, repo: str, snapshot: str, stage: str, commit: str, manifest_id: str) -> bool:
        """Point (repo, snapshot, stage) at a fully written manifest. When that completes the set (every
        index stage now on this manifest), the partition's SERVING head, the one searches read, moves to
        it in the same transaction: readers switch from one complete snapshot to the next in one step.
        Returns whether the serving head moved."""
        p = t.published_snapshots
        partition = and_(p.c.repo == repo, p.c.snapshot == snapshot)
        with self._errors(f"publish {repo}|{snapshot} {stage}"), self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # SQLite serializes writers by itself
                # Two stages finishing at once: the second to commit must see the first one's head.
                conn.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(:partition))"),
                             {"space": _PUBLISH_LOCK_SPACE, "partition": f"{repo}|{snapshot}"})
            conn.execute(self._head_upsert(conn, repo, snapshot, stage, commit, manifest_id))
            heads = conn.execute(select(p.c.stage, p.c.manifest_id)
                                 .where(and_(partition, p.c.stage.in_(INDEX_STAGES)))).all()
            complete = len(heads) == len(INDEX_STAGES) and {row.manifest_id for row in heads} == {manifest_id}
            if complete:
                conn.execute(self._head_upsert(conn, repo, snapshot, SERVING, commit, manifest_id))
        return complete

    def serving(self, repo: str, snapshot: str) -> PublishedSnapshot | None:
        """The complete snapshot searches read: the last manifest every index stage published."""
        return self.published(repo, snapshot, SERVING)

    @staticmethod
    def _head_upsert(conn, repo: str, snapshot: str, stage: str, commit: str, manifest_id: str):
        p = t.published_snapshots
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        return dialect.insert(p).values(
            repo=repo, snapshot=snapshot, stage=stage, commit_sha=commit, manifest_id=manifest_id,
        ).on_conflict_do_update(
            index_elements=[p.c.repo, p.c.snapshot, p.c.stage],
            set_={"commit_sha": commit, "manifest_id": manifest_id, "published_at": func.now()},
        )

    def pin_run_commit(self, run_id: str, repo: str, snapshot: str, commit: str) -> str:
        """The commit this run indexes for (repo, snapshot): the first pin wins, later callers get it."""
        r = t.run_commits
        with self._errors(f"pin the commit of run {run_id}"), self.engine.begin() as conn:
            self._insert_ignore(conn, r, [{"run_id": run_id, "repo": repo, "snapshot": snapshot,
                                           "commit_sha": commit}])
            return conn.execute(select(r.c.commit_sha).where(and_(
                r.c.run_id == run_id, r.c.repo == repo, r.c.snapshot == snapshot))).scalar_one()

    def published(self, repo: str, snapshot: str, stage: str) -> PublishedSnapshot | None:
        p = t.published_snapshots
        with self._errors(f"read published {repo}|{snapshot}"), self.engine.connect() as conn:
            row = conn.execute(select(p).where(and_(p.c.repo == repo, p.c.snapshot == snapshot,
                                                    p.c.stage == stage))).first()
        if row is None:
            return None
        return PublishedSnapshot(repo, snapshot, stage, row.commit_sha, row.manifest_id, str(row.published_at))

    def published_heads(self) -> list[PublishedSnapshot]:
        """Every head of every partition, serving heads included."""
        p = t.published_snapshots
        with self._errors("list published heads"), self.engine.connect() as conn:
            rows = conn.execute(select(p).order_by(p.c.repo, p.c.snapshot, p.c.stage)).all()
        return [PublishedSnapshot(r.repo, r.snapshot, r.stage, r.commit_sha, r.manifest_id, str(r.published_at))
                for r in rows]

    # -- garbage collection ------------------------------------------------------------------------
    def collect_garbage(self, unused_since: datetime) -> dict[str, int]:
        """Delete manifests neither published nor used since `unused_since` (timezone-aware), then every IR
        document, chunk, chunk text and embedding that no remaining manifest reaches. One transaction,
        exclusive against writers of content rows."""
        if unused_since.tzinfo is None:
            raise ValueError("collect_garbage needs a timezone-aware cutoff")
        unused_since = unused_since.astimezone(timezone.utc)  # SQLite stores UTC wall-clock digits
        m, e, p = t.manifests, t.manifest_entries, t.published_snapshots
        d, c, cs = t.ir_documents, t.chunks, t.chunk_sets
        removed: dict[str, int] = {}
        with self._errors("collect garbage"), self.engine.begin() as conn:
            _hold_gc_lock(conn, exclusive=True)
            dead = select(m.c.manifest_id).where(
                func.coalesce(m.c.last_used_at, m.c.created_at) < unused_since,
                ~exists().where(p.c.manifest_id == m.c.manifest_id))
            removed["manifest_entries"] = conn.execute(delete(e).where(e.c.manifest_id.in_(dead))).rowcount
            removed["manifests"] = conn.execute(delete(m).where(m.c.manifest_id.in_(dead))).rowcount
            for table in (t.manifest_resolutions, t.resolved_manifests):
                removed[table.name] = conn.execute(delete(table).where(
                    ~exists().where(m.c.manifest_id == table.c.manifest_id))).rowcount
            mr, r = t.manifest_resolutions, t.ir_resolutions
            removed["ir_resolutions"] = conn.execute(delete(r).where(
                ~exists().where(mr.c.resolution_key == r.c.resolution_key))).rowcount
            # NOT EXISTS, not NOT IN: PostgreSQL turns it into an anti-join instead of a per-row scan.
            doc_dead = ~exists().where(e.c.blob_sha == d.c.blob_sha)
            dead_docs = select(d.c.doc_key).where(doc_dead)
            for table in (t.ir_symbols, t.ir_document_graphs):
                removed[table.name] = conn.execute(delete(table).where(table.c.doc_key.in_(dead_docs))).rowcount
            removed["ir_documents"] = conn.execute(delete(d).where(doc_dead)).rowcount
            ss, sm = t.symbol_summaries, t.summaries
            removed["symbol_summaries"] = conn.execute(delete(ss).where(
                ~exists().where(d.c.doc_key == ss.c.doc_key))).rowcount
            removed["summaries"] = conn.execute(delete(sm).where(
                ~exists().where(ss.c.summary_key == sm.c.summary_key))).rowcount
            set_dead = ~exists().where(e.c.blob_sha == cs.c.blob_sha)
            removed["chunks"] = conn.execute(delete(c).where(c.c.set_key.in_(select(cs.c.set_key).where(set_dead)))
                                             ).rowcount
            removed["chunk_sets"] = conn.execute(delete(cs).where(set_dead)).rowcount
            sc = t.summarized_chunks
            for table in (t.chunk_texts, sc):
                removed[table.name] = conn.execute(delete(table).where(
                    ~exists().where(c.c.chunk_hash == table.c.chunk_hash))).rowcount
            # A vector of a chunk embedded with summaries is keyed by its embed key (summarized_chunks).
            em = t.embeddings
            removed["embeddings"] = conn.execute(delete(em).where(
                ~exists().where(c.c.chunk_hash == em.c.chunk_hash),
                ~exists().where(sc.c.embed_key == em.c.chunk_hash))).rowcount
            removed["run_commits"] = conn.execute(
                delete(t.run_commits).where(t.run_commits.c.created_at < unused_since)).rowcount
        return removed

    # -- internals ---------------------------------------------------------------------------------
    def _present(self, column, keys: Iterable[str]) -> set[str]:
        found: set[str] = set()
        with self._errors(f"look up {column.table.name}"), self.engine.connect() as conn:
            for batch in _batches(list(set(keys)), self.batch_size):
                found.update(conn.execute(select(column).where(column.in_(batch))).scalars())
        return found

    def _insert_rows(self, conn, table, rows: list[dict]) -> None:
        for batch in _batches(rows, self.batch_size):
            conn.execute(table.insert(), batch)

    def _insert_ignore(self, conn, table, rows: list[dict]) -> None:
        """Insert rows whose primary key is absent. One statement executed for many rows (the driver's
        executemany), compiled once: a multi-row VALUES statement costs SQLAlchemy a compile per batch."""
        if not rows:
            return
        statement = _dialect_of(conn).insert(table).on_conflict_do_nothing()
        for batch in _batches(_in_key_order(table, rows), self.batch_size):
            conn.execute(statement, batch)

    def _insert_ignore_keys(self, conn, table, rows: list[dict]) -> list:
        """Insert rows whose primary key is absent; returns the first key column of those inserted."""
        if not rows:
            return []
        # RETURNING says what was really inserted; rowcount is unreliable across drivers.
        key = list(table.primary_key.columns)[0]
        per_statement = max(1, min(self.batch_size, _MAX_BOUND_PARAMETERS // len(rows[0])))
        inserted = []
        for batch in _batches(_in_key_order(table, rows), per_statement):
            statement = _dialect_of(conn).insert(table).values(batch).on_conflict_do_nothing().returning(key)
            inserted.extend(row[0] for row in conn.execute(statement).all())
        return inserted

    @contextmanager
    def _errors(self, action: str):
        """Translate driver errors into classified ones that name the store and the action."""
        try:
            yield
        except OperationalError as exc:
            text_ = str(exc.orig)
            if any(sign in text_ for sign in ("locked", "busy", "deadlock detected", "could not serialize")):
                raise CodegraphError(ErrorCode.DB_LOCKED, f"metadata store is busy while trying to {action}",
                                     input=_redact(self.url), fix="retry; another writer holds the database") from exc
            if exc.connection_invalidated:
                # The server dropped a connection it had accepted (restart, failover, a terminated backend): the
                # transaction rolled back and the pool discarded the connection, so a retry reconnects.
                raise CodegraphError(ErrorCode.DB_CONNECTION_LOST,
                                     f"metadata store {_redact(self.url)} lost its connection while trying to "
                                     f"{action}: {text_.strip()[:300]}", input=_redact(self.url),
                                     fix="retried automatically; if it keeps happening, check the database "
                                         "server's restarts and network") from exc
            raise CodegraphError(ErrorCode.DB_ERROR, f"metadata store {_redact(self.url)} failed to {action}: "
                                 f"{text_.strip()[:300]}", input=_redact(self.url),
                                 fix="check the database is running and reachable") from exc
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
            raise CodegraphError(ErrorCode.DB_ERROR, f"metadata store {_redact(self.url)} failed to {action}: "
                                 f"{exc.__class__.__name__}: {detail}", input=_redact(self.url),
                                 fix="check the database schema (migrations) and the connection") from exc


def _dialect_of(conn):
    """The dialect module whose `insert` has ON CONFLICT DO NOTHING."""
    return postgresql if conn.dialect.name == "postgresql" else sqlite


def _in_key_order(table, rows: list[dict]) -> list[dict]:
    """Rows in primary-key order: two transactions inserting overlapping rows then lock them in the same order."""
    key_columns = [c.name for c in table.primary_key.columns]
    return sorted(rows, key=lambda row: tuple(row[c] for c in key_columns))


def _hold_gc_lock(conn, *, exclusive: bool) -> None:
    """PostgreSQL: the transaction-scoped lock that keeps GC and content writers apart (see _GC_LOCK_KEY)."""
    if conn.dialect.name == "postgresql":
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        conn.execute(text(f"SELECT {function}(:key)"), {"key": _GC_LOCK_KEY})


def _make_engine(url: str, busy_timeout_s: float) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout_s})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # WAL lets searches read while a run writes
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def _redact(url: str) -> str:
    """A database URL fit for messages: the password replaced."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _batches(rows: list, size: int) -> Iterator[list]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _symbol_row(doc_key: str, ordinal: int, s: Symbol) -> dict:
    return {
        "doc_key": doc_key, "ordinal": ordinal, "symbol_id": s.symbol_id, "kind": s.kind, "name": s.name,
        "start_line": s.span.start_line, "start_col": s.span.start_col, "end_line": s.span.end_line,
        "end_col": s.span.end_col, "enclosing_start_line": s.enclosing.start_line,
        "enclosing_start_col": s.enclosing.start_col, "enclosing_end_line": s.enclosing.end_line,
        "enclosing_end_col": s.enclosing.end_col, "parent_id": s.parent_id, "signature": s.signature,
        "docstring": s.docstring,
    }


# The `ir_symbols` columns `symbol_from_values` reads, in its order.
SYMBOL_COLUMNS = tuple(t.ir_symbols.c[name] for name in (
    "symbol_id", "kind", "name", "start_line", "start_col", "end_line", "end_col", "enclosing_start_line",
    "enclosing_start_col", "enclosing_end_line", "enclosing_end_col", "parent_id", "signature", "docstring"))


def symbol_from_values(values) -> Symbol:
    """A Symbol from the values of `SYMBOL_COLUMNS`, unpacked by position: reading 14 fields of a row by
    name cost the lexical and chunk stages about a second each on the standard library's 74k symbols."""
    (symbol_id, kind, name, start_line, start_col, end_line, end_col, enclosing_start_line, enclosing_start_col,
     enclosing_end_line, enclosing_end_col, parent_id, signature, docstring) = values
    return Symbol(symbol_id, kind, name, Span(start_line, start_col, end_line, end_col),
                  Span(enclosing_start_line, enclosing_start_col, enclosing_end_line, enclosing_end_col),
                  parent_id, signature, docstring)
