"""TantivyResource: one on-disk Tantivy index per (repo, snapshot), updated in a single commit.

Separate directories per partition mean partitions never contend for Tantivy's writer lock; within a
partition a Tantivy commit is atomic, so searches see the old files or the new ones, never a mix.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import tantivy

from codegraph_assets.config import codegraph_home
from codegraph_assets.core.tokenizing import code_token_text, code_tokens
from codegraph_assets.errors import CodegraphError, ErrorCode

SCHEMA_VERSION = "1"  # bump when fields or tokenization change; a new version starts a fresh directory
_SYMBOL_BOOST = 3.0
_PATH_BOOST = 1.5


@dataclass(frozen=True, slots=True)
class LexicalDocument:
    path: str
    blob_sha: str
    language: str | None
    content: str
    symbol_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LexicalMatch:
    path: str
    blob_sha: str
    language: str | None
    content: str
    score: float


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("path", stored=True, tokenizer_name="raw")  # exact: deletes by term
    builder.add_text_field("path_tokens", tokenizer_name="whitespace")
    builder.add_text_field("blob", stored=True, tokenizer_name="raw")
    builder.add_text_field("language", stored=True, tokenizer_name="raw")
    builder.add_text_field("content", stored=True, tokenizer_name="default")
    builder.add_text_field("content_tokens", tokenizer_name="whitespace")  # code_tokens, pre-split
    builder.add_text_field("symbols", tokenizer_name="whitespace")
    return builder.build()


class TantivyResource(dg.ConfigurableResource):
    """Tantivy indexes under `index_dir` (default $CODEGRAPH_HOME/lexical)."""

    index_dir: str = ""
    writer_heap_bytes: int = 64_000_000
    min_free_disk_bytes: int = 64_000_000  # a failed write with less free space than this is DISK_FULL

    def partition_dir(self, repo: str, snapshot: str) -> Path:
        root = Path(self.index_dir) if self.index_dir else codegraph_home() / "lexical"
        digest = hashlib.sha256(f"{repo}\0{snapshot}".encode()).hexdigest()[:12]
        return root / f"v{SCHEMA_VERSION}" / f"{_safe(repo)}" / f"{_safe(snapshot)}-{digest}"

    def apply(self, repo: str, snapshot: str, remove_paths: Iterable[str],
              add: Iterable[LexicalDocument], *, rebuild: bool = False) -> int:
        """Delete `remove_paths`, add documents, commit once. Returns the number of documents added."""
        index = self._open(repo, snapshot, create=True)
        try:
            writer = index.writer(heap_size=self.writer_heap_bytes, num_threads=1)
        except ValueError as exc:
            raise CodegraphError(
                ErrorCode.INDEX_LOCKED, f"the Tantivy index of {repo}|{snapshot} is being written by another run",
                input=str(self.partition_dir(repo, snapshot)), fix="retry when the other run has finished",
            ) from exc
        added = 0
        try:
            if rebuild:
                writer.delete_all_documents()
            for path in remove_paths:
                writer.delete_documents_by_term("path", path)
            for doc in add:
                writer.add_document(tantivy.Document(
                    path=doc.path, path_tokens=code_token_text(doc.path), blob=doc.blob_sha,
                    language=doc.language or "", content=doc.content, content_tokens=code_token_text(doc.content),
                    symbols=code_token_text(" ".join(doc.symbol_names)),
                ))
                added += 1
            writer.commit()
            writer.wait_merging_threads()
        except (OSError, ValueError) as exc:
            # Nothing was committed: Tantivy drops the writer's pending documents. It reports I/O failures
            # as a dead writer thread without the errno, so the free space tells a full disk from a broken index.
            directory = self.partition_dir(repo, snapshot)
            if shutil.disk_usage(directory).free < self.min_free_disk_bytes:
                raise CodegraphError(
                    ErrorCode.DISK_FULL, f"the disk holding the Tantivy index of {repo}|{snapshot} ({directory}) is full",
                    input=str(directory), fix="free disk space under the index directory and re-run",
                ) from exc
            raise CodegraphError(
                ErrorCode.LEXICAL_INDEX_ERROR, f"writing the Tantivy index of {repo}|{snapshot} failed: {exc}",
                input=str(directory), fix="re-run; if it fails again, delete the directory to rebuild the index",
            ) from exc
        return added

    def remove_other_partitions(self, keep: set[tuple[str, str]]) -> int:
        """Delete the index directories of partitions not in `keep`, and those of older schema versions.

        Only directories this resource lays out (`v<N>/<repo>/<snapshot>-<digest>` holding Tantivy's
        meta.json, never through a symlink) are touched, whatever else shares the root.
        """
        root = self.partition_dir("x", "x").parents[2]
        wanted = {self.partition_dir(repo, snapshot) for repo, snapshot in keep}
        removed = 0
        versions = [v for v in root.iterdir() if re.fullmatch(r"v\d+", v.name) and not v.is_symlink()] \
            if root.is_dir() else []
        for directory in sorted(d for v in versions for d in v.glob("*/*")):
            if (directory not in wanted and not directory.is_symlink() and not directory.parent.is_symlink()
                    and (directory / "meta.json").is_file()):
                shutil.rmtree(directory)
                removed += 1
        return removed

    def document_count(self, repo: str, snapshot: str) -> int:
        index = self._open(repo, snapshot, create=False)
        return 0 if index is None else index.searcher().num_docs

    def search(self, repo: str, snapshot: str, query: str, limit: int) -> list[LexicalMatch]:
        """BM25 over code tokens of content, symbol names (boosted) and path."""
        index = self._open(repo, snapshot, create=False)
        tokens = list(dict.fromkeys(code_tokens(query)))
        if index is None or not tokens:
            return []
        schema = index.schema
        should = []
        for token in tokens:
            should.append((tantivy.Occur.Should, tantivy.Query.term_query(schema, "content_tokens", token)))
            should.append((tantivy.Occur.Should, tantivy.Query.boost_query(
                tantivy.Query.term_query(schema, "symbols", token), _SYMBOL_BOOST)))
            should.append((tantivy.Occur.Should, tantivy.Query.boost_query(
                tantivy.Query.term_query(schema, "path_tokens", token), _PATH_BOOST)))
        searcher = index.searcher()
        result = searcher.search(tantivy.Query.boolean_query(should), limit)
        matches = []
        for score, address in result.hits:
            doc = searcher.doc(address)
            matches.append(LexicalMatch(doc["path"][0], doc["blob"][0], doc["language"][0] or None,
                                        doc["content"][0], float(score)))
        return matches

    def _open(self, repo: str, snapshot: str, *, create: bool) -> tantivy.Index | None:
        directory = self.partition_dir(repo, snapshot)
        if not directory.exists():
            if not create:
                return None
            directory.mkdir(parents=True, exist_ok=True)
        try:
            return tantivy.Index(_schema(), path=str(directory), reuse=True)
        except ValueError as exc:
            if "schema does not match" in str(exc):
                raise CodegraphError(
                    ErrorCode.LEXICAL_INDEX_ERROR, f"the Tantivy index at {directory} was built with another schema",
                    input=str(directory), fix="delete the directory (it is rebuilt), or bump SCHEMA_VERSION "
                    "when changing fields",
                ) from exc
            raise CodegraphError(
                ErrorCode.INDEX_CORRUPTED, f"the Tantivy index at {directory} cannot be opened: {exc}",
                input=str(directory), fix="delete the directory and re-materialize the lexical asset",
            ) from exc


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:80]
