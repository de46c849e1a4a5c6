"""`import codegraph`: the Python API (search, definitions, references, symbols, snippets); codegraph_assets/api.py."""

from codegraph_assets.api import (
    CodeGraph,
    Partition,
    SearchHit,
    Snippet,
    SymbolLocation,
    default_graph,
    definitions,
    partitions,
    references,
    search,
    snippet,
    symbols,
)
from codegraph_assets.errors import CodegraphError, ErrorCategory, ErrorCode

__all__ = ["CodeGraph", "CodegraphError", "ErrorCategory", "ErrorCode", "Partition", "SearchHit", "Snippet",
           "SymbolLocation", "default_graph", "definitions", "partitions", "references", "search", "snippet",
           "symbols"]
