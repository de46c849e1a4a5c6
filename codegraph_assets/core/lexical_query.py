"""The lexical query language: free words, "quoted phrases" and path:/lang:/sym: filters.

    retry upload path:src/net lang:py -path:tests "failed upload" sym:parseHTTPResponse

Free words rank (BM25 over fields); a phrase must occur, its words adjacent; filters only select.
`path:` takes a substring of the path, or a glob when it holds `*` or `?`, case-insensitive; `lang:` a
language name or a file extension (`py`, `ts`); `sym:` the name of a definition inside the hit. A
filter prefixed with `-` excludes instead. Parsed here, plain Python; the index turns it into queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from codegraph_assets.core.ir_model import document_symbol_id
from codegraph_assets.core.languages import LANGUAGE_BY_EXTENSION, LANGUAGE_BY_FILENAME, language_for_path
from codegraph_assets.core.tokenizing import compound_identifiers, words
from codegraph_assets.errors import CodegraphError, ErrorCode

FILTER_KEYS = ("path", "lang", "sym")
_KNOWN_LANGUAGES = frozenset(LANGUAGE_BY_EXTENSION.values()) | frozenset(LANGUAGE_BY_FILENAME.values())
# A filter, a quoted phrase, or a bare run of non-space characters.
_SYMBOL_NAME = re.compile(r"[\w$]+")
_PIECE = re.compile(r'(-?)(path|lang|sym):("[^"]*"|\S*)|"([^"]*)("?)|(\S+)')


@dataclass(frozen=True)
class LexicalQuery:
    text: str  # as typed
    words: tuple[str, ...] = ()  # sub-words of the free text, lowercased, in order
    identifiers: tuple[str, ...] = ()  # compound identifiers of the free text (exact-identifier matches)
    phrases: tuple[tuple[str, ...], ...] = ()  # each a run of sub-words that must appear in this order
    path_patterns: tuple[str, ...] = ()  # regular expressions over the whole path (case-insensitive)
    languages: tuple[str, ...] = ()  # any of them
    symbols: tuple[str, ...] = ()  # lowercased definition names, all required
    excluded_paths: tuple[str, ...] = ()
    excluded_languages: tuple[str, ...] = ()
    excluded_symbols: tuple[str, ...] = ()

    @property
    def ranks(self) -> bool:
        """Whether anything in it scores documents (otherwise every document passing the filters matches)."""
        return bool(self.words or self.identifiers or self.phrases)

    @property
    def empty(self) -> bool:
        return not (self.ranks or self.path_patterns or self.languages or self.symbols)

    @property
    def filters(self) -> bool:
        return bool(self.path_patterns or self.languages or self.symbols or self.excluded_paths
                    or self.excluded_languages or self.excluded_symbols)

    def admits(self, path: str, language: str | None, symbol: str | None, text: str) -> bool:
        """Whether a hit found another way (a vector hit) passes the filters and contains the phrases.
        `symbol` is its repository-wide descriptor: sym: matches any name in it."""
        names = set(_SYMBOL_NAME.findall(document_symbol_id(path, symbol).lower())) if symbol else set()
        return (_any_path(self.path_patterns, path, default=True) and not _any_path(self.excluded_paths, path)
                and (not self.languages or language in self.languages)
                and language not in self.excluded_languages
                and all(name in names for name in self.symbols) and not names & set(self.excluded_symbols)
                and all(_contains(words(text), phrase) for phrase in self.phrases))

    def ranking_text(self) -> str:
        """The free text and phrases without filters: what a vector search should embed."""
        return " ".join(value.strip('"') for key, value, _ in _pieces(self.text) if key is None)


def parse_query(text: str) -> LexicalQuery:
    """Split a query into free words, phrases and filters; a malformed filter is a clear INVALID_PAYLOAD."""
    free: list[str] = []
    phrases: list[tuple[str, ...]] = []
    filters: dict[tuple[str, bool], list[str]] = {}
    for key, value, excluded in _pieces(text):
        if key is None:
            if value.startswith('"'):
                phrase = tuple(words(value))
                if phrase:
                    phrases.append(phrase)
            else:
                free.append(value)
            continue
        filters.setdefault((key, excluded), []).append(_filter_value(key, value, text))
    free_text = " ".join(free)
    return LexicalQuery(
        text=text,
        words=tuple(words(free_text)),
        identifiers=tuple(dict.fromkeys(compound_identifiers(free_text))),
        phrases=tuple(phrases),
        path_patterns=tuple(filters.get(("path", False), ())),
        languages=tuple(filters.get(("lang", False), ())),
        symbols=tuple(filters.get(("sym", False), ())),
        excluded_paths=tuple(filters.get(("path", True), ())),
        excluded_languages=tuple(filters.get(("lang", True), ())),
        excluded_symbols=tuple(filters.get(("sym", True), ())),
    )


def _any_path(patterns: tuple[str, ...], path: str, *, default: bool = False) -> bool:
    return any(re.fullmatch(pattern, path) for pattern in patterns) if patterns else default


def _contains(haystack: list[str], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(tuple(haystack[i:i + size]) == phrase for i in range(len(haystack) - size + 1))


def _pieces(text: str):
    """(filter key or None, value, excluded) per piece; phrases keep their quotes."""
    for match in _PIECE.finditer(text):
        negation, key, value, phrase, closing, bare = match.groups()
        if key is not None:
            yield key, value.strip('"'), bool(negation)
        elif phrase is not None:
            if not closing:
                raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"the query {text!r} opens a quote it never closes",
                                     input=text, fix='close the phrase with a second " (or remove the quote)')
            yield None, f'"{phrase}"', False
        else:
            yield None, bare, False


def _filter_value(key: str, value: str, text: str) -> str:
    if not value:
        raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"the filter {key}: in {text!r} has no value", input=text,
                             fix=f"write {key}:VALUE without a space, e.g. "
                             + {"path": "path:src/api", "lang": "lang:python", "sym": "sym:parse_config"}[key])
    if key == "path":
        return _path_pattern(value)
    if key == "sym":
        return value.lower()
    language = value.lower() if value.lower() in _KNOWN_LANGUAGES else language_for_path(f"file.{value.lower()}")
    if language is None:
        raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"lang:{value} in {text!r} names no language codegraph knows",
                             input=value, fix="use a language name or a file extension, one of: "
                             + ", ".join(sorted(_KNOWN_LANGUAGES)))
    return language


def _path_pattern(value: str) -> str:
    """A case-insensitive regular expression over whole paths: a glob as written, a plain value anywhere."""
    if "*" in value or "?" in value:  # Tantivy matches whole terms: no anchors needed
        return "(?i)" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value)
    return f"(?i).*{re.escape(value)}.*"
