"""Cuts files into lexical units and splits their code words in child processes (`worker_pool`), in
parallel: both are Python, which one process runs on one core. The parent reads blobs and symbols, asks
for enrichment summaries and feeds the Tantivy writer, which takes the units' fields as plain values.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from multiprocessing.connection import Connection

from codegraph_assets.core.ir_model import Symbol
from codegraph_assets.core.lexical_units import LexicalUnit, lexical_units
from codegraph_assets.stages.worker_pool import serve
from resources.tantivy_schema import LexicalDocument, UnitFields, file_units


def units_for(setup: tuple[int, int]):
    """The function a child (or the stage's own process) applies to each file; `setup` holds the config's
    (lexical.unit_window_lines, lexical.max_unit_lines)."""
    window_lines, max_unit_lines = setup

    def file_fields(path: str, blob_sha: str, language: str | None, content: bytes, symbols: list[Symbol] | None,
                    summaries: dict[str, str]) -> list[UnitFields]:
        """The fields of the file's units; `symbols` None for a text-only file (cut into line windows)."""
        units = lexical_units(content.decode("utf-8", "replace"), symbols, window_lines=window_lines,
                              max_unit_lines=max_unit_lines)
        return file_units(LexicalDocument(path, blob_sha, language, tuple(with_summaries(units, summaries))))

    return file_fields


def with_summaries(units: list[LexicalUnit], summary_of: dict[str, str]) -> list[LexicalUnit]:
    """Units of summarized functions with the summary among their docs (searched with the docstrings)."""
    if not summary_of:
        return units
    return [replace(u, docs=(*u.docs, summary_of[u.symbol_id])) if u.symbol_id in summary_of else u for u in units]


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])), units_for)
