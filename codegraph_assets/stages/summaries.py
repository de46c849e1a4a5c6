"""Function summaries for the lexical stage (enrichment, FULL tier): cached by content, asked of the LLM
with bounded concurrency, and never allowed to fail a run.

A request that fails (after the LLM resource's own retries) leaves its function without a summary: it
is counted (`summaries_failed`), not cached, and asked again by a later run. After a failure that every
further request would repeat (bad key, unknown model, an endpoint that is down or not OpenAI-compatible)
the run stops asking; the functions it did not ask are counted as `summaries_deferred`, like those over
`enrichment.max_summaries_per_run`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.enrichment import (
    SYSTEM_PROMPT,
    SummaryRequest,
    clean_summary,
    enrichment_tag,
    functions_needing_summary,
)
from codegraph_assets.core.ir_model import Symbol
from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.stages.stats import StageStats
from resources.llm import LLMResource
from resources.metadata_store import MetadataStore

log = logging.getLogger(__name__)

# Failures that say nothing about the one function asked: every later request would fail the same way.
_ENDPOINT_FAILURES = frozenset({ErrorCode.INVALID_MODEL, ErrorCode.NETWORK_ERROR, ErrorCode.RATE_LIMITED})
_COUNTERS = ("summaries_cached", "summaries_generated", "summaries_failed", "summaries_deferred")


def active_enrichment(config: IndexingConfig, llm: LLMResource | None) -> str | None:
    """The enrichment tag this run indexes under, or None when enrichment is off (the default, or a tier
    below FULL). Enabled without an LLM endpoint is a configuration error, not a silent no-op."""
    if not config.enrichment.effective(config.defaults.semantic_tier):
        return None
    if llm is None or not llm.enabled:
        raise CodegraphError(
            ErrorCode.INVALID_PAYLOAD,
            "enrichment.enabled is true (semantic tier FULL) but the LLM resource has no base_url, so no "
            "function summaries can be written.",
            input="enrichment.enabled / CODEGRAPH_LLM_BASE_URL",
            fix="Set CODEGRAPH_LLM_BASE_URL (and CODEGRAPH_LLM_MODEL, CODEGRAPH_LLM_API_KEY) to an "
            "OpenAI-compatible endpoint, or set CODEGRAPH_ENRICHMENT__ENABLED=false.",
        )
    return enrichment_tag(llm.model)


@dataclass(frozen=True, slots=True)
class FileToSummarize:
    doc_key: str
    language: str
    content: str
    symbols: Sequence[Symbol]


@dataclass
class Summarizer:
    """Summaries for the files of one lexical run, batch by batch, within the run's request budget."""

    llm: LLMResource
    store: MetadataStore
    config: IndexingConfig
    tag: str
    stats: StageStats
    _budget: int = 0
    _stopped_by: CodegraphError | None = None
    _first_failure: CodegraphError | str | None = None
    _failures_by_code: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._budget = self.config.enrichment.max_summaries_per_run
        for counter in _COUNTERS:
            self.stats.counts.setdefault(counter, 0)

    def summarize(self, files: Sequence[FileToSummarize]) -> tuple[dict[str, dict[str, str]], set[str]]:
        """(doc_key → symbol id → summary, doc_keys with a function still lacking one) for these files."""
        requests = {f.doc_key: functions_needing_summary(
            f.content, list(f.symbols), language=f.language, model=self.llm.model,
            max_function_chars=self.config.enrichment.max_function_chars) for f in files}
        wanted = {r.summary_key: r for rs in requests.values() for r in rs}
        known = self.store.cached_summaries(wanted)
        self.stats.add("summaries_cached", len(known))
        new = self._generate([r for key, r in wanted.items() if key not in known])
        self.store.save_summaries(new)
        known.update(new)
        self.store.save_symbol_summaries(self.tag, [(doc_key, r.symbol_id, r.summary_key)
                                                    for doc_key, rs in requests.items()
                                                    for r in rs if r.summary_key in known])
        by_file = {doc_key: {r.symbol_id: known[r.summary_key] for r in rs if r.summary_key in known}
                   for doc_key, rs in requests.items()}
        incomplete = {doc_key for doc_key, rs in requests.items() if any(r.summary_key not in known for r in rs)}
        return by_file, incomplete

    def report(self) -> None:
        """One warning for the run when summaries failed, naming the endpoint and model, never the key."""
        failed = self.stats.counts.get("summaries_failed", 0)
        if self._failures_by_code:
            self.stats.breakdowns["summaries_failed_by_code"] = dict(self._failures_by_code)
        if not failed:
            return
        cause = str(self._first_failure).replace("\n", "; ")  # one log line: "...; Fix: ..."
        log.warning("enrichment: %d function summaries failed at %s (model '%s')%s; those functions are indexed "
                    "without a summary and asked again next run. First failure: %s",
                    failed, self.llm.endpoint_display(), self.llm.model,
                    "; stopped asking this endpoint for the rest of the run" if self._stopped_by else "", cause)

    def _generate(self, missing: list[SummaryRequest]) -> dict[str, str]:
        allowed = [] if self._stopped_by else missing[:self._budget]
        self._budget -= len(allowed)
        self.stats.add("summaries_deferred", len(missing) - len(allowed))
        if not allowed:
            return {}
        workers = min(self.config.enrichment.max_concurrent_requests, len(allowed))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="summaries") as pool:
            replies = list(pool.map(self._ask, allowed))
        return {r.summary_key: text for r, text in zip(allowed, replies) if text is not None}

    def _ask(self, request: SummaryRequest) -> str | None:
        if self._stopped_by is not None:
            self._count("summaries_deferred")
            return None
        try:
            reply = self.llm.complete(request.prompt, system=SYSTEM_PROMPT)
        except CodegraphError as error:
            self._failed(error.code.value, error, stop=error.code in _ENDPOINT_FAILURES)
            return None
        summary = clean_summary(reply, self.config.enrichment.max_summary_chars)
        if summary is None:
            self._failed("EMPTY_REPLY", f"the model's reply for function {request.symbol_id!r} held no text",
                         stop=False)
            return None
        self._count("summaries_generated")
        return summary

    def _count(self, counter: str) -> None:
        with self._lock:  # requests finish on pool threads; StageStats.add is a read-modify-write
            self.stats.add(counter)

    def _failed(self, code: str, cause: CodegraphError | str, *, stop: bool) -> None:
        with self._lock:
            self.stats.add("summaries_failed")
            self._failures_by_code[code] = self._failures_by_code.get(code, 0) + 1
            self._first_failure = self._first_failure or cause
            if stop and self._stopped_by is None and isinstance(cause, CodegraphError):
                self._stopped_by = cause
