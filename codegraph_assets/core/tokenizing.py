"""Code-aware tokens: identifiers kept whole *and* split at snake_case and camelCase boundaries.

`parseHTTPResponse` indexes as `parsehttpresponse parse http response`, so both the exact
identifier and the words "http response" find it. Lexical search keeps the two apart: `words` (the
sub-words, in order, for BM25 and phrase queries) and `compound_identifiers` (whole identifiers made of
several words, for exact-identifier matches). Documents and queries go through the same functions.
"""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
# Boundaries inside an identifier: "HTTPResponse" → HTTP|Response, "parseHttp" → parse|Http, "v2x" → v|2|x
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
MAX_TOKEN_CHARS = 64  # longer runs are hashes or blobs, not words anyone searches for


def identifier_parts(identifier: str) -> list[str]:
    """Lowercased sub-words of one identifier (empty when it has only one)."""
    parts = [p.lower() for piece in identifier.split("_") if piece for p in _CAMEL_PART.findall(piece)]
    return parts if len(parts) > 1 else []


def _identifiers(text: str):
    for match in _IDENTIFIER.finditer(text):
        word = match.group()
        if len(word) <= MAX_TOKEN_CHARS:
            yield word


def code_tokens(text: str) -> list[str]:
    """Every identifier in `text`, lowercased, followed by its sub-words."""
    tokens: list[str] = []
    for word in _identifiers(text):
        tokens.append(word.lower())
        tokens.extend(identifier_parts(word))
    return tokens


def code_token_text(text: str) -> str:
    return " ".join(code_tokens(text))


def words(text: str) -> list[str]:
    """The sub-words of every identifier in `text`, in order, lowercased: what prose and phrases match."""
    out: list[str] = []
    for word in _identifiers(text):
        out.extend(identifier_parts(word) or [word.lower()])
    return out


def compound_identifiers(text: str) -> list[str]:
    """The identifiers of `text` made of several sub-words, whole and lowercased (`parsehttpresponse`)."""
    return [word.lower() for word in _identifiers(text) if identifier_parts(word)]
