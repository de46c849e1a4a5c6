"""IR documents keyed by (parser version, tier, blob): computed once per blob, shared by every snapshot."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable

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
    options = "" if config.ir_build.occurrences else ".defs-only"
    return f"ir.{_parser_tag()}.{config.defaults.semantic_tier}{options}:{blob_sha}"


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
    with IsolatedParser(config.ir_build.parse_timeout_s) as parser:
        for entry, content in git.read_blobs(repo.name, repo.kind, repo.location, missing):  # type: ignore[arg-type]
            status, document = _derive(entry, content, config, parser if not not_parsed(entry.path) else None)
            stats.add("files_parsed" if status == STATUS_PARSED else f"files_{status}")
            stats.add("parse_errors", document.parse_errors)
            stats.add("symbols", len(document.symbols))
            stats.bytes_processed += len(content)
            pending.append((keys[entry.blob_sha], entry.blob_sha, status, document))
            if len(pending) >= config.batch.store_batch_size:
                store.save_documents(pending)
                pending.clear()
    store.save_documents(pending)


def _derive(entry: ManifestEntry, content: bytes, config: IndexingConfig,
            parser: IsolatedParser | None) -> tuple[str, DocumentIR]:
    """(status, IR) of one blob; `parser` None means the path is not parsed (exclude_patterns.ir_build)."""
    language = entry.language or "unknown"
    if is_binary(content, config.discovery.binary_sniff_bytes):
        return STATUS_BINARY, DocumentIR(language=language)
    if parser is not None and language in PARSEABLE_LANGUAGES:
        outcome = parser.parse(content, language) if content else ParseOutcome(DocumentIR(language=language))
        if outcome.document is None:
            status = STATUS_PARSE_TIMEOUT if outcome.failure == "timeout" else STATUS_PARSE_CRASHED
            return status, DocumentIR(language=language, line_count=count_lines(content))
        document = outcome.document
        if not config.ir_build.occurrences:
            document.occurrences = [o for o in document.occurrences if o.roles & SymbolRole.DEFINITION]
        return STATUS_PARSED, document
    return STATUS_TEXT, DocumentIR(language=language, line_count=count_lines(content))
