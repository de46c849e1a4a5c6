"""The Tantivy side of lexical search: schema, analyzers, unit documents, and queries with BM25 over fields.

One Tantivy document per lexical unit (a function, a method, the rest of a class or module; see
core/lexical_units.py). Ranked fields, all of pre-split code words (core/tokenizing.py) stemmed by one
English analyzer, so "parses"/"parsing" meet "parse": `words` (everything, with positions for phrase
queries), `names` (definitions starting in the unit), `signature`, `doc` (docstrings and comments) and
`path_words`; `identifiers` holds whole compound identifiers unstemmed, for exact-identifier queries.
`path`, `language` and `def_names` are exact terms for filters; `file_head` marks each file's first unit
so that files can be listed and counted.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import tantivy

from codegraph_assets.config import LexicalConfig
from codegraph_assets.core.lexical_query import LexicalQuery
from codegraph_assets.core.lexical_units import LexicalUnit
from codegraph_assets.core.tokenizing import words, words_and_compounds

WORDS_ANALYZER = "code_words"
_HEAD = "1"
_RANKED = ("words", "names", "signature", "doc", "path_words")


@dataclass(frozen=True, slots=True)
class LexicalDocument:
    """One indexed file: its path, blob and units (empty content still has one unit)."""

    path: str
    blob_sha: str
    language: str | None
    units: tuple[LexicalUnit, ...]


@dataclass(frozen=True, slots=True)
class LexicalMatch:
    path: str
    blob_sha: str
    language: str | None
    start_line: int
    end_line: int
    symbol_id: str | None  # document-relative
    kind: str
    text: str  # the unit's lines
    score: float


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("path", stored=True, tokenizer_name="raw")  # exact: deletes by term, path: filters
    builder.add_text_field("blob", stored=True, tokenizer_name="raw")
    builder.add_text_field("language", stored=True, tokenizer_name="raw")
    builder.add_text_field("file_head", tokenizer_name="raw")
    builder.add_unsigned_field("start_line", stored=True)
    builder.add_unsigned_field("end_line", stored=True)
    builder.add_text_field("symbol", stored=True, tokenizer_name="raw")
    builder.add_text_field("kind", stored=True, tokenizer_name="raw")
    builder.add_bytes_field("text", stored=True, indexed=False)
    builder.add_text_field("words", tokenizer_name=WORDS_ANALYZER, index_option="position")
    for name in _RANKED[1:]:
        builder.add_text_field(name, tokenizer_name=WORDS_ANALYZER, index_option="freq")
    builder.add_text_field("identifiers", tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("def_names", tokenizer_name="raw")  # lowercased names, one value each
    return builder.build()


@functools.cache
def words_analyzer() -> tantivy.TextAnalyzer:
    """Whitespace-split, lowercased, English-stemmed: documents are pre-split words, so this only stems."""
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
            .filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.stemmer("english")).build())


def register_analyzers(index: tantivy.Index) -> None:
    """Analyzers are not stored in the index: every opened index needs them before reading or writing."""
    index.register_tokenizer(WORDS_ANALYZER, words_analyzer())


# One unit as the index stores it, in plain values: (the text fields as (field, text) pairs, its lowercased
# definition names, first line, last line, its text as bytes). Computed by `file_units` (in the lexical
# stage's worker processes, where the words are split) and made a tantivy.Document by `unit_document` in the
# process that writes the index.
UnitFields = tuple[tuple[tuple[str, str], ...], tuple[str, ...], int, int, bytes]


def file_units(doc: LexicalDocument) -> list[UnitFields]:
    """The fields of every unit of one file, in order (the first one marks the file: `file_head`)."""
    path_words = " ".join(words(doc.path))
    out = []
    for unit in doc.units:
        name_words, name_identifiers = words_and_compounds(" ".join(unit.names))
        text_words, text_identifiers = words_and_compounds(unit.text)
        texts = (("path", doc.path), ("blob", doc.blob_sha), ("language", doc.language or ""),
                 ("symbol", unit.symbol_id or ""), ("kind", unit.kind), ("words", " ".join(text_words)),
                 ("names", " ".join(name_words + name_identifiers)),
                 ("signature", " ".join(words(" ".join(unit.signatures)))),
                 ("doc", " ".join(words(" ".join(unit.docs)))), ("path_words", path_words),
                 ("identifiers", " ".join(text_identifiers)))
        definitions = tuple(dict.fromkeys(name.lower() for name in unit.names))
        out.append((texts, definitions, unit.start_line, unit.end_line, unit.text.encode("utf-8", "surrogatepass")))
    return out


def unit_document(fields: UnitFields, *, file_head: bool) -> tantivy.Document:
    texts, definitions, start_line, end_line, text = fields
    document = tantivy.Document()
    for name, value in texts:
        document.add_text(name, value)
    for name in definitions:
        document.add_text("def_names", name)
    if file_head:
        document.add_text("file_head", _HEAD)
    document.add_unsigned("start_line", start_line)
    document.add_unsigned("end_line", end_line)
    document.add_bytes("text", text)
    return document


def file_heads_query(schema: tantivy.Schema) -> tantivy.Query:
    """Matches one document per indexed file."""
    return tantivy.Query.term_query(schema, "file_head", _HEAD)


def match_of(doc: tantivy.Document, score: float) -> LexicalMatch:
    values = doc.to_dict()
    return LexicalMatch(values["path"][0], values["blob"][0], values["language"][0] or None,
                        int(values["start_line"][0]), int(values["end_line"][0]), values["symbol"][0] or None,
                        values["kind"][0], bytes(values["text"][0]).decode("utf-8", "surrogatepass"), float(score))


def build_query(schema: tantivy.Schema, query: LexicalQuery, ranking: LexicalConfig) -> tantivy.Query:
    """BM25 over the ranked fields per query word (the best field counts most), phrases required, filters
    as zero-score constraints."""
    boosts = {"words": 1.0, "names": ranking.names_boost, "signature": ranking.signature_boost,
              "doc": ranking.doc_boost, "path_words": ranking.path_boost}
    clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
    for stem in dict.fromkeys(_stem(w) for w in query.words):
        per_field = [tantivy.Query.boost_query(tantivy.Query.term_query(schema, field, stem), boost)
                     for field, boost in boosts.items()]
        clauses.append((tantivy.Occur.Should, tantivy.Query.disjunction_max_query(per_field, ranking.field_tie_breaker)))
    for identifier in query.identifiers:
        clauses.append((tantivy.Occur.Should, tantivy.Query.boost_query(
            tantivy.Query.term_query(schema, "identifiers", identifier), ranking.identifier_boost)))
    for phrase in query.phrases:
        stems = [_stem(w) for w in phrase]
        clause = (tantivy.Query.term_query(schema, "words", stems[0]) if len(stems) == 1 else
                  tantivy.Query.phrase_query(schema, "words", stems, ranking.phrase_slop))
        clauses.append((tantivy.Occur.Must, clause))
    clauses += _filters(schema, query)
    if not query.ranks:
        clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(tantivy.Query.all_query(), 0.0)))
    return tantivy.Query.boolean_query(clauses)


def _filters(schema: tantivy.Schema, query: LexicalQuery) -> list[tuple[tantivy.Occur, tantivy.Query]]:
    def any_of(field: str, values: tuple[str, ...], regex: bool = False) -> tantivy.Query:
        make = tantivy.Query.regex_query if regex else tantivy.Query.term_query
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, make(schema, field, v)) for v in values])

    out = []
    for field, wanted, unwanted, regex in (("path", query.path_patterns, query.excluded_paths, True),
                                           ("language", query.languages, query.excluded_languages, False)):
        if wanted:
            out.append((tantivy.Occur.Must, tantivy.Query.const_score_query(any_of(field, wanted, regex), 0.0)))
        if unwanted:
            out.append((tantivy.Occur.MustNot, any_of(field, unwanted, regex)))
    for name in query.symbols:  # every named definition is required
        out.append((tantivy.Occur.Must, tantivy.Query.const_score_query(
            tantivy.Query.term_query(schema, "def_names", name), 0.0)))
    if query.excluded_symbols:
        out.append((tantivy.Occur.MustNot, any_of("def_names", query.excluded_symbols)))
    return out


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    stems = words_analyzer().analyze(word)
    return stems[0] if stems else word
