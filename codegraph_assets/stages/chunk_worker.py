"""Chunks blobs in child processes (`worker_pool`), in parallel: cutting along the outline and counting
model tokens is Python, which one process runs on one core. The parent reads blobs and IR and stores chunk
sets while the children chunk; each child gets the chunking settings and token budget once.

Starting a child costs about half a second (imports, the tokenizer), so a run with few files to chunk (a
push that changed some) chunks in its own process (`worker_pool.PARALLEL_FROM_FILES`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from typing import TypeVar

from codegraph_assets.config import ChunkingConfig
from codegraph_assets.core.chunking import ChunkRecord, chunk_document
from codegraph_assets.core.ir_model import DocumentIR, Symbol
from codegraph_assets.core.token_budget import TokenBudget
from codegraph_assets.errors import ErrorCode
from codegraph_assets.stages.worker_pool import FunctionPool, serve

Tag = TypeVar("Tag")

# What a child needs of a document to chunk it: (language, line count, symbols, syntax outline).
_DocumentParts = tuple[str, int, list[Symbol], bytes]


class Chunker:
    """chunk_document over a stream of files, results in file order: in this process, or in `workers`
    children when given more than one. Use as a context manager (children are stopped on exit)."""

    def __init__(self, chunking: ChunkingConfig, budget: TokenBudget, workers: int = 1) -> None:
        self._pool = FunctionPool(__name__, _chunker_for, (chunking, budget), workers, ErrorCode.CHUNK_BUILD_ERROR)

    def chunk_stream(self, items: Iterable[tuple[Tag, bytes, DocumentIR | None, str | None]],
                     ) -> Iterator[tuple[Tag, list[ChunkRecord] | None]]:
        """(tag, chunks) of every (tag, content, IR or None, language); chunks None: the child chunking that
        file died (killed, out of memory), for the caller to report."""
        requests = ((tag, (content, _parts(document), language)) for tag, content, document, language in items)
        for tag, rows in self._pool.stream(requests):
            yield tag, None if rows is None else [_record(row) for row in rows]

    @property
    def processes_started(self) -> int:
        return self._pool.processes_started

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> Chunker:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _parts(document: DocumentIR | None) -> _DocumentParts | None:
    """The document as plain data: pickled whole it would pack its graph for the trip."""
    if document is None:
        return None
    return document.language, document.line_count, document.symbols, document.outline


# A chunk on its way back: plain tuples pickle several times faster than dataclasses, and a chunk's text is
# the end of its embedded text, so it travels once: (start, end, symbol, kind, embed text, text's offset, hash).
_ChunkRow = tuple[int, int, str | None, str, str, int, str]


def _row(chunk: ChunkRecord) -> _ChunkRow:
    return (chunk.start_line, chunk.end_line, chunk.symbol_id, chunk.kind, chunk.embed_text,
            len(chunk.embed_text) - len(chunk.text), chunk.chunk_hash)


def _record(row: _ChunkRow) -> ChunkRecord:
    start_line, end_line, symbol_id, kind, embed_text, text_at, chunk_hash = row
    return ChunkRecord(start_line, end_line, symbol_id, kind, embed_text[text_at:], embed_text, chunk_hash)


def _chunker_for(setup: tuple[ChunkingConfig, TokenBudget]):
    chunking, budget = setup

    def chunk(content: bytes, parts: _DocumentParts | None, language: str | None) -> list[_ChunkRow]:
        document = None
        if parts is not None:
            document_language, line_count, symbols, outline = parts
            document = DocumentIR(document_language, symbols=symbols, line_count=line_count, outline=outline)
        return [_row(chunk) for chunk in chunk_document(content, document, language, chunking, budget)]

    return chunk


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])), _chunker_for)
