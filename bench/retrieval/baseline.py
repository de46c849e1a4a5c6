"""The reference: plain BM25 over function-sized units, computed in the same run.

Tantivy with its default tokenizer (split on non-alphanumerics, lowercase; no stemming, no identifier
splitting beyond `_`), one document per function (decorators to last line, methods and nested functions
included), one field, the query's tokens OR-ed: what a reader would build in ten lines.
"""

from __future__ import annotations

import tantivy

from bench.retrieval.dataset import FunctionSpan


class PlainBM25:
    def __init__(self, functions: list[FunctionSpan]) -> None:
        builder = tantivy.SchemaBuilder()
        builder.add_unsigned_field("ordinal", stored=True)
        builder.add_text_field("text", tokenizer_name="default")
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema)  # in memory
        writer = self.index.writer(heap_size=50_000_000, num_threads=1)
        for ordinal, function in enumerate(functions):
            document = tantivy.Document()
            document.add_unsigned("ordinal", ordinal)
            document.add_text("text", function.source)
            writer.add_document(document)
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.functions = functions
        self.analyzer = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
                         .filter(tantivy.Filter.remove_long(40)).filter(tantivy.Filter.lowercase()).build())

    def search(self, text: str, limit: int) -> list[tuple[str, int, int]]:
        terms = list(dict.fromkeys(self.analyzer.analyze(text)))
        if not terms:
            return []
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "text", term)) for term in terms])
        searcher = self.index.searcher()
        hits = []
        for _, address in searcher.search(query, limit).hits:
            function = self.functions[searcher.doc(address)["ordinal"][0]]
            hits.append((function.path, function.start_line, function.end_line))
        return hits
