"""Enrichment (FULL tier): one-line LLM summaries of functions that have no docstring.

Plain Python: which definitions need a summary, the prompt, how a reply becomes one bounded line, and
the keys that make a summary content-addressed. A summary is keyed by the prompt version, the LLM model
and the function's own source text, so the same function anywhere (another path, snapshot or
repository) costs one request ever; changing the prompt or the model asks again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from codegraph_assets.core.ir_model import Symbol
from codegraph_assets.core.ir_symbols import CALLABLE_KINDS
from codegraph_assets.core.text_lines import split_lines

# Part of every summary key and of the index identity: bump it when the prompt or the cleaning changes.
PROMPT_VERSION = "summary.v1"

SYSTEM_PROMPT = (
    "You summarize source code for a code search engine. Reply with one plain sentence of at most 20 words "
    "that says what the function does and why one would call it. No code, no markdown, no preamble."
)

_USER_PROMPT = "Language: {language}\nSummarize this function in one sentence:\n\n{source}"

# Preambles models add despite the instructions ("Summary: ...", "This function ...") are kept only when
# they carry meaning: "Summary:"-style labels are dropped, the sentence itself is not rewritten.
_LABEL = re.compile(r"^(?:\*\*)?(?:one[- ]line )?summary(?:\*\*)?\s*[:\-–]\s*", re.IGNORECASE)
_DECORATION = " \t`*_>#\"'"


@dataclass(frozen=True, slots=True)
class SummaryRequest:
    """One function of one file that needs a summary."""

    symbol_id: str  # document-relative
    summary_key: str
    prompt: str


def enrichment_tag(model: str) -> str:
    """What an enriched index depends on: prompt version and model. Lexical indexes and embeddings built
    under another tag (or without enrichment) are not reused."""
    return f"{PROMPT_VERSION}:{model}"


def summary_key(model: str, language: str, function_text: str) -> str:
    """The cache key of a function's summary: sha256 over prompt version, model, language and source."""
    digest = hashlib.sha256()
    for part in (PROMPT_VERSION, model, language, function_text):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def functions_needing_summary(content: str, symbols: list[Symbol], *, language: str, model: str,
                              max_function_chars: int) -> list[SummaryRequest]:
    """The file's functions and methods without a docstring, in definition order, each with its key and
    prompt. The key covers the whole function; the prompt sends at most `max_function_chars` of it."""
    lines = split_lines(content)
    requests = []
    for symbol in symbols:
        if symbol.kind not in CALLABLE_KINDS or symbol.docstring.strip():
            continue
        text = "\n".join(lines[symbol.enclosing.start_line - 1:symbol.enclosing.end_line])
        if not text.strip():
            continue
        requests.append(SummaryRequest(symbol.symbol_id, summary_key(model, language, text),
                                       summary_prompt(language, text, max_function_chars)))
    return requests


def summary_prompt(language: str, function_text: str, max_function_chars: int) -> str:
    """The user message for one function; a long function is cut (its start says most about it)."""
    source = function_text if len(function_text) <= max_function_chars else function_text[:max_function_chars]
    return _USER_PROMPT.format(language=language or "unknown", source=source)


def clean_summary(reply: str, max_chars: int) -> str | None:
    """The reply as one line of at most `max_chars` characters, or None when it holds no text."""
    for line in reply.splitlines():
        line = _LABEL.sub("", line.strip(_DECORATION)).strip(_DECORATION)
        if line:
            break
    else:
        return None
    line = " ".join(line.split())
    if len(line) <= max_chars:
        return line
    cut = line[:max_chars - 1]
    # End at a word boundary when there is one in the second half; "…" says the line was cut.
    space = cut.rfind(" ")
    return (cut[:space] if space > max_chars // 2 else cut).rstrip(" ,;:") + "…"


def summaries_in_lines(summarized: Sequence[tuple[int, int, str]], start_line: int, end_line: int) -> list[str]:
    """The summaries of the functions (start line, end line, summary) whose lines meet start..end: a chunk
    that is part of a function, or that holds several small ones, reads each of their summaries."""
    return [summary for first, last, summary in summarized if first <= end_line and start_line <= last]


def summaries_within(summaries: Sequence[str], line_tokens: Callable[[list[str]], list[int]],
                     max_tokens: int) -> list[str]:
    """The leading summaries whose lines (as `summarized_embed_text` writes them) fit in `max_tokens`: chunks
    are cut to leave that much of the model's window free, so the chunk's own text is never pushed out."""
    lines = [f"Summary: {summary}\n" for summary in summaries]
    kept, used = [], 0
    for summary, tokens in zip(summaries, line_tokens(lines) if lines else []):
        if used + tokens > max_tokens:
            break
        kept.append(summary)
        used += tokens
    return kept


def summarized_embed_text(embed_text: str, summaries: Sequence[str]) -> str:
    """What the embedding model reads for a chunk of summarized functions: the summaries, then the chunk.
    First, because chunks fill the model's input length and a local model silently truncates the end."""
    return "".join(f"Summary: {summary}\n" for summary in summaries) + embed_text


def summarized_embed_key(chunk_hash: str, summaries: Sequence[str]) -> str:
    """The embedding cache key of a chunk with summaries: never the plain chunk's key, so a chunk embedded
    with and without its summaries are two cached vectors."""
    text = "\0".join((PROMPT_VERSION, chunk_hash, *summaries))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
