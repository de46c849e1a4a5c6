"""The metadata store's enrichment half: LLM summaries by content key, the functions they belong to, and
the enrichment state of lexical indexes. Mixed into `MetadataStore`, whose engine and helpers it uses."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, delete, select

from resources.metadata_store import tables as t


@dataclass(frozen=True, slots=True)
class LexicalEnrichment:
    """How one manifest's lexical index was enriched (see tables.lexical_enrichment)."""

    enrichment: str
    pending_paths: tuple[str, ...]


class SummaryQueries:
    """Summary reads and writes of `MetadataStore` (see the module doc)."""

    def cached_summaries(self, summary_keys: Iterable[str]) -> dict[str, str]:
        s = t.summaries
        result: dict[str, str] = {}
        with self._errors("read cached summaries"), self.engine.connect() as conn:
            for batch in _batches(sorted(set(summary_keys)), self.batch_size):
                for r in conn.execute(select(s.c.summary_key, s.c.summary).where(s.c.summary_key.in_(batch))):
                    result[r.summary_key] = r.summary
        return result

    def save_summaries(self, summaries: dict[str, str]) -> None:
        """Store summaries by key; one that another run stored first is kept (same key, same request)."""
        from resources.metadata_store.store import _hold_gc_lock

        rows = [{"summary_key": key, "summary": text} for key, text in summaries.items()]
        with self._errors("save summaries"), self.engine.begin() as conn:
            _hold_gc_lock(conn, exclusive=False)
            self._insert_ignore(conn, t.summaries, rows)

    def save_symbol_summaries(self, enrichment: str, rows: Iterable[tuple[str, str, str]]) -> None:
        """Record (doc_key, symbol_id, summary_key) under an enrichment tag."""
        from resources.metadata_store.store import _hold_gc_lock

        values = [{"enrichment": enrichment, "doc_key": d, "symbol_id": s, "summary_key": k} for d, s, k in rows]
        with self._errors("save function summaries"), self.engine.begin() as conn:
            _hold_gc_lock(conn, exclusive=False)
            self._insert_ignore(conn, t.symbol_summaries, values)

    def symbol_summaries(self, enrichment: str, doc_keys: Iterable[str]) -> dict[tuple[str, str], str]:
        """(doc_key, symbol_id) → summary text, for the functions of these documents that have one."""
        ss, s = t.symbol_summaries, t.summaries
        result: dict[tuple[str, str], str] = {}
        with self._errors("read function summaries"), self.engine.connect() as conn:
            for batch in _batches(sorted(set(doc_keys)), self.batch_size):
                rows = conn.execute(select(ss.c.doc_key, ss.c.symbol_id, s.c.summary)
                                    .join(s, s.c.summary_key == ss.c.summary_key)
                                    .where(ss.c.enrichment == enrichment, ss.c.doc_key.in_(batch)))
                for r in rows:
                    result[(r.doc_key, r.symbol_id)] = r.summary
        return result

    def save_summarized_chunks(self, chunk_of: dict[str, str]) -> None:
        """Record embed key → chunk hash for chunks embedded with summaries (garbage collection follows it)."""
        from resources.metadata_store.store import _hold_gc_lock

        rows = [{"embed_key": key, "chunk_hash": chunk} for key, chunk in chunk_of.items()]
        with self._errors("save summarized chunks"), self.engine.begin() as conn:
            _hold_gc_lock(conn, exclusive=False)
            self._insert_ignore(conn, t.summarized_chunks, rows)

    def lexical_enrichment(self, repo: str, snapshot: str, manifest_id: str) -> LexicalEnrichment | None:
        le = t.lexical_enrichment
        with self._errors(f"read the lexical enrichment of {repo}|{snapshot}"), self.engine.connect() as conn:
            row = conn.execute(select(le.c.enrichment, le.c.pending_paths).where(and_(
                le.c.repo == repo, le.c.snapshot == snapshot, le.c.manifest_id == manifest_id))).first()
        return None if row is None else LexicalEnrichment(row.enrichment, tuple(json.loads(row.pending_paths)))

    def record_lexical_enrichment(self, repo: str, snapshot: str, manifest_id: str,
                                  state: LexicalEnrichment | None) -> None:
        """Replace what is recorded about a manifest's lexical index (None: built without enrichment)."""
        le = t.lexical_enrichment
        with self._errors(f"record the lexical enrichment of {repo}|{snapshot}"), self.engine.begin() as conn:
            conn.execute(delete(le).where(and_(le.c.repo == repo, le.c.snapshot == snapshot,
                                               le.c.manifest_id == manifest_id)))
            if state is not None:
                conn.execute(le.insert().values(repo=repo, snapshot=snapshot, manifest_id=manifest_id,
                                                enrichment=state.enrichment,
                                                pending_paths=json.dumps(sorted(state.pending_paths))))

    def retain_lexical_enrichment(self, repo: str, snapshot: str, keep: set[str]) -> None:
        """Forget the state of the partition's lexical indexes that are no longer kept on disk."""
        le = t.lexical_enrichment
        with self._errors(f"prune the lexical enrichment of {repo}|{snapshot}"), self.engine.begin() as conn:
            conn.execute(delete(le).where(and_(le.c.repo == repo, le.c.snapshot == snapshot,
                                               le.c.manifest_id.not_in(sorted(keep)))))


def _batches(rows: list, size: int):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]
