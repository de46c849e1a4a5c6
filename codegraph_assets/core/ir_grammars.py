"""Tree-sitter languages, parsers and compiled queries, built once per process (parsers once per thread)."""

from __future__ import annotations

import functools
import importlib
import threading
from dataclasses import dataclass

from tree_sitter import Language, Parser, Query

from codegraph_assets.core.ir_queries import QUERY_SOURCES
from codegraph_assets.core.ir_reference_queries import REFERENCE_QUERY_SOURCES
from codegraph_assets.core.languages import GRAMMARS


@dataclass(frozen=True, slots=True)
class Grammar:
    """A language with its compiled extraction query (definitions, imports and calls together)."""

    name: str
    language: Language
    query: Query


@functools.cache
def grammar_for(name: str) -> Grammar:
    """The compiled grammar for a language in PARSEABLE_LANGUAGES (KeyError otherwise)."""
    source = GRAMMARS[name]
    language = Language(getattr(importlib.import_module(source.module), source.function)())
    return Grammar(name=name, language=language, query=Query(language, QUERY_SOURCES[name]))


@functools.cache
def reference_query_for(name: str) -> Query | None:
    """The compiled scopes-and-references query of a language (EXTENDED tier), None where it has none."""
    source = REFERENCE_QUERY_SOURCES.get(name)
    return None if source is None else Query(grammar_for(name).language, source)


# A Parser holds mutable state, so threads must not share one; languages and queries are shareable.
_thread_parsers = threading.local()


def parser_for(grammar: Grammar) -> Parser:
    """This thread's parser for a grammar."""
    parsers: dict[str, Parser] | None = getattr(_thread_parsers, "by_language", None)
    if parsers is None:
        parsers = _thread_parsers.by_language = {}
    parser = parsers.get(grammar.name)
    if parser is None:
        parser = parsers[grammar.name] = Parser(grammar.language)
    return parser
