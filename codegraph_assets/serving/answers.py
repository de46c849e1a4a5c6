"""The JSON answers of the serving tools, one shape for the HTTP API and the MCP server alike.

Every answer names the partition and the commit it came from, so a client can tell when an index moved.
"""

from __future__ import annotations

from codegraph_assets.api import CodeGraph
from codegraph_assets.errors import CodegraphError


def partitions_answer(graph: CodeGraph) -> dict:
    return {"partitions": [p.to_json() for p in graph.partitions()]}


def search_answer(graph: CodeGraph, query: str, repo: str | None = None, snapshot: str | None = None,
                  mode: str = "hybrid", limit: int | None = None) -> dict:
    part = graph.partition(repo, snapshot)
    hits = graph.search(query, repo=part.repo, snapshot=part.snapshot, mode=mode, limit=limit)
    return _about(part) | {"query": query, "mode": mode, "hits": [h.to_json() for h in hits]}


def definitions_answer(graph: CodeGraph, name: str, repo: str | None = None, snapshot: str | None = None) -> dict:
    part = graph.partition(repo, snapshot)
    found = graph.definitions(name, repo=part.repo, snapshot=part.snapshot)
    return _about(part) | {"name": name, "definitions": [d.to_json() for d in found]}


def references_answer(graph: CodeGraph, symbol: str, repo: str | None = None, snapshot: str | None = None) -> dict:
    part = graph.partition(repo, snapshot)
    found = graph.references(symbol, repo=part.repo, snapshot=part.snapshot)
    return _about(part) | {"symbol": symbol, "references": [r.to_json() for r in found]}


def symbols_answer(graph: CodeGraph, path: str, repo: str | None = None, snapshot: str | None = None) -> dict:
    part = graph.partition(repo, snapshot)
    found = graph.symbols(path, repo=part.repo, snapshot=part.snapshot)
    return _about(part) | {"path": path, "symbols": [s.to_json() for s in found]}


def snippet_answer(graph: CodeGraph, path: str, repo: str | None = None, snapshot: str | None = None,
                   start_line: int | None = None, end_line: int | None = None) -> dict:
    part = graph.partition(repo, snapshot)
    found = graph.snippet(path, repo=part.repo, snapshot=part.snapshot, start_line=start_line, end_line=end_line)
    return _about(part) | {"snippet": found.to_json()}


def error_answer(error: CodegraphError) -> dict:
    """What a client gets for a failure: the code, category, input and fix, and the problem in words."""
    return {"error": error.metadata() | {"message": error.problem}}


def _about(part) -> dict:
    return {"repo": part.repo, "snapshot": part.snapshot, "commit": part.commit}
