"""Code-aware tokens: identifiers kept whole *and* split at snake_case and camelCase boundaries.

`parseHTTPResponse` indexes as `parsehttpresponse parse http response`, so both the exact
identifier and the words "http response" find it. Lexical search keeps the two apart: `words` (the
sub-words, in order, for BM25 and phrase queries) and `compound_identifiers` (whole identifiers made of
several words, for exact-identifier matches). Documents and queries go through the same functions.
"""

from __future__ import annotations

import functools
import re
from itertools import chain

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
# Boundaries inside an identifier: "HTTPResponse" → HTTP|Response, "parseHttp" → parse|Http, "v2x" → v|2|x
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
MAX_TOKEN_CHARS = 64  # longer runs are hashes or blobs, not words anyone searches for


def identifier_parts(identifier: str) -> list[str]:
    """Lowercased sub-words of one identifier (empty when it has only one)."""
    parts = [p.lower() for piece in identifier.split("_") if piece for p in _CAMEL_PART.findall(piece)]
    return parts if len(parts) > 1 else []


# Indexing splits every identifier of every file: a repository repeats a small vocabulary of them, so each
# is split once (bounded caches, least recently used dropped first), and texts are mapped through the
# caches without a Python loop per identifier.
@functools.lru_cache(maxsize=100_000)
def _sub_words(identifier: str) -> tuple[str, ...]:
    """Its sub-words lowercased, or itself lowercased when it has one; none when over MAX_TOKEN_CHARS."""
    if len(identifier) > MAX_TOKEN_CHARS:
        return ()
    return tuple(identifier_parts(identifier)) or (identifier.lower(),)


@functools.lru_cache(maxsize=100_000)
def _compound(identifier: str) -> str | None:
    """Itself lowercased when it has several sub-words, else None."""
    return identifier.lower() if len(_sub_words(identifier)) > 1 else None


def code_tokens(text: str) -> list[str]:
    """Every identifier in `text`, lowercased, followed by its sub-words."""
    tokens: list[str] = []
    for word in _IDENTIFIER.findall(text):
        compound = _compound(word)
        if compound:
            tokens.append(compound)
        tokens.extend(_sub_words(word))
    return tokens


def words(text: str) -> list[str]:
    """The sub-words of every identifier in `text`, in order, lowercased: what prose and phrases match."""
    return list(chain.from_iterable(map(_sub_words, _IDENTIFIER.findall(text))))


def compound_identifiers(text: str) -> list[str]:
    """The identifiers of `text` made of several sub-words, whole and lowercased (`parsehttpresponse`)."""
    return list(filter(None, map(_compound, _IDENTIFIER.findall(text))))


def words_and_compounds(text: str) -> tuple[list[str], list[str]]:
    """(`words`, `compound_identifiers`) of `text`, its identifiers found once: the lexical index stores both."""
    identifiers = _IDENTIFIER.findall(text)
    return list(chain.from_iterable(map(_sub_words, identifiers))), list(filter(None, map(_compound, identifiers)))
