"""IR documents keyed by (parser version, tier, blob): computed once per blob, shared by every snapshot."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.ir_model import DocumentIR, SymbolRole
from codegraph_assets.core.ir_parser import count_lines
from codegraph_assets.core.languages import PARSEABLE_LANGUAGES, parser_version
from codegraph_assets.core.source import ManifestEntry, ir_excluded, is_binary
from codegraph_assets.stages.parse_worker import IsolatedParser, ParseOutcome
from codegraph_assets.stages.stats import StageStats
from resources.git import GitResource
from resources.metadata_store import MetadataStore, RepoRecord

STATUS_PARSED = "parsed"
STATUS_TEXT = "text"  # no grammar: lexical and line chunks only
STATUS_BINARY = "binary"
# The grammar ran past ir_build.parse_timeout_s or crashed on this blob: indexed and chunked as text.
STATUS_PARSE_TIMEOUT = "parse_timeout"
STATUS_PARSE_CRASHED = "parse_crashed"
TEXT_ONLY_STATUSES = (STATUS_TEXT, STATUS_PARSE_TIMEOUT, STATUS_PARSE_CRASHED)


@functools.cache
def _parser_tag() -> str:
    """A short digest of the parser and grammar versions; the full string is too long for a key column."""
    return hashlib.sha256(parser_version().encode()).hexdigest()[:16]


def doc_key(blob_sha: str, config: IndexingConfig) -> str:
    """IR identity: parser/grammar versions, semantic tier and blob (tables.ir_documents.doc_key)."""
    return doc_key_prefix(config) + blob_sha


def doc_key_prefix(config: IndexingConfig) -> str:
    """Every doc key of one configuration starts with this; readers join manifests to documents by it."""
    options = "" if config.ir_build.occurrences else ".defs-only"
    return f"ir.{_parser_tag()}.{config.defaults.semantic_tier}{options}:"


def unique_blobs(entries: Iterable[ManifestEntry]) -> list[ManifestEntry]:
    """One entry per blob: identical files at several paths are processed once."""
    seen: dict[str, ManifestEntry] = {}
    for entry in entries:
        seen.setdefault(entry.blob_sha, entry)
    return list(seen.values())


def ensure_documents(repo: RepoRecord, entries: list[ManifestEntry], store: MetadataStore, git: GitResource,
                     config: IndexingConfig, stats: StageStats) -> None:
    """Parse and store every blob of `entries` whose IR document is not stored yet."""
    for counter in ("files_parsed", "files_cached", "parse_errors", "symbols"):
        stats.counts.setdefault(counter, 0)  # present even when zero, so the UI plots a continuous series
    keys = {e.blob_sha: doc_key(e.blob_sha, config) for e in entries}
    present = store.present_doc_keys(keys.values())
    missing = [e for e in unique_blobs(entries) if keys[e.blob_sha] not in present]
    stats.add("files_cached", len(entries) - len(missing))
    pending: list[tuple[str, str, str, DocumentIR]] = []
    not_parsed = ir_excluded(config)
    unparsed: list[tuple[ManifestEntry, int, str, DocumentIR]] = []  # derived without a parser, not yet recorded

    def record(entry: ManifestEntry, size: int, status: str, document: DocumentIR) -> None:
        stats.add("files_parsed" if status == STATUS_PARSED else f"files_{status}")
        stats.add("parse_errors", document.parse_errors)
        stats.add("symbols", len(document.symbols))
        stats.bytes_processed += size
        pending.append((keys[entry.blob_sha], entry.blob_sha, status, document))
        if len(pending) >= config.batch.store_batch_size:
            store.save_documents(pending)
            pending.clear()

    def parse_requests() -> Iterator[tuple[tuple[ManifestEntry, bytes], bytes, str]]:
        """Blobs streamed from git: those a grammar parses go to the parser pool, the rest are derived here."""
        for entry, content in git.read_blobs(repo.name, repo.kind, repo.location, missing):  # type: ignore[arg-type]
            derived = _derive_without_parser(entry, content, config, parse=not not_parsed(entry.path))
            if derived is None:
                yield (entry, content), content, entry.language
            else:
                unparsed.append((entry, len(content), *derived))

    with IsolatedParser(config.ir_build.parse_timeout_s, config.defaults.parallel_workers,
                        config.defaults.semantic_tier) as parser:
        for (entry, content), outcome in parser.parse_stream(parse_requests()):
            record(entry, len(content), *_from_outcome(outcome, entry, content, config))
            while unparsed:
                record(*unparsed.pop())
        stats.counts["parse_processes"] = parser.processes_started
    while unparsed:
        record(*unparsed.pop())
    store.save_documents(pending)


def _derive_without_parser(entry: ManifestEntry, content: bytes, config: IndexingConfig,
                           *, parse: bool) -> tuple[str, DocumentIR] | None:
    """(status, IR) of a blob no grammar parses: binary, not parsed (exclude_patterns.ir_build), no grammar
    for its language, or empty; None for a blob to parse."""
    language = entry.language or "unknown"
    if is_binary(content, config.discovery.binary_sniff_bytes):
        return STATUS_BINARY, DocumentIR(language=language)
    if parse and language in PARSEABLE_LANGUAGES:
        return (STATUS_PARSED, DocumentIR(language=language)) if not content else None
    return STATUS_TEXT, DocumentIR(language=language, line_count=count_lines(content))


def _from_outcome(outcome: ParseOutcome, entry: ManifestEntry, content: bytes,
                  config: IndexingConfig) -> tuple[str, DocumentIR]:
    """(status, IR) of a parsed blob; one the grammar hung on or crashed with is text-only."""
    if outcome.document is None:
        status = STATUS_PARSE_TIMEOUT if outcome.failure == "timeout" else STATUS_PARSE_CRASHED
        return status, DocumentIR(language=entry.language or "unknown", line_count=count_lines(content))
    document = outcome.document
    if not config.ir_build.occurrences:
        document.occurrences = [o for o in document.occurrences if o.roles & SymbolRole.DEFINITION]
    return STATUS_PARSED, document
