"""The Model Context Protocol server: the HTTP API's answers as tools for coding agents.

Tools: `search`, `definitions`, `references`, `symbols`, `snippet` and `partitions`, each answering the
same JSON as its /v1 endpoint (structured content). A failure is a tool error (`is_error`) whose text is
the same `{"error": {...}}` object (also as structured content), so an agent reads the code, the input
and the fix. Served over stdio
by `codegraph mcp` and over streamable HTTP at /mcp by `codegraph serve`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from mcp.server import MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations

from codegraph_assets.api import CodeGraph
from codegraph_assets.errors import CodegraphError
from codegraph_assets.serving import answers

_INSTRUCTIONS = (
    "Search and navigate indexed git repositories. Every tool reads one partition (repo + snapshot, a branch or "
    "tag) as of its last complete index; leave repo/snapshot out when only one is served, or call `partitions`. "
    "Lines are 1-based and inclusive; symbols are SCIP ids such as `pkg/mod.py/Class#method().`."
)
_READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)


def build_mcp_server(graph: CodeGraph) -> MCPServer:
    # WARNING: the SDK logs every session start at INFO, noise in a server meant to run for days.
    server = MCPServer("codegraph", instructions=_INSTRUCTIONS, log_level="WARNING")

    @server.tool(annotations=_READ_ONLY)
    def search(query: str, repo: str | None = None, snapshot: str | None = None,
               mode: Literal["hybrid", "lexical", "vector"] = "hybrid", limit: int | None = None) -> dict[str, Any]:
        """Find code by meaning or by words: natural language ("where do we retry failed uploads") or identifiers.
        Returns hits with path, start_line, end_line, score, the enclosing symbol, a snippet and, where the index
        was built with enrichment, a one-line summary of the function."""
        return _answer(lambda: answers.search_answer(graph, query, repo, snapshot, mode, limit))

    @server.tool(annotations=_READ_ONLY)
    def definitions(name: str, repo: str | None = None, snapshot: str | None = None) -> dict[str, Any]:
        """Where a symbol is defined. `name`: a SCIP id, a descriptor (`Class#method().`), a dotted name
        (`pkg.mod.Class.method`) or a bare name."""
        return _answer(lambda: answers.definitions_answer(graph, name, repo, snapshot))

    @server.tool(annotations=_READ_ONLY)
    def references(symbol: str, repo: str | None = None, snapshot: str | None = None) -> dict[str, Any]:
        """Every place that refers to a symbol (named as for `definitions`), definitions excluded."""
        return _answer(lambda: answers.references_answer(graph, symbol, repo, snapshot))

    @server.tool(annotations=_READ_ONLY)
    def symbols(path: str, repo: str | None = None, snapshot: str | None = None) -> dict[str, Any]:
        """The definitions of one file (path relative to the repository root), in source order."""
        return _answer(lambda: answers.symbols_answer(graph, path, repo, snapshot))

    @server.tool(annotations=_READ_ONLY)
    def snippet(path: str, repo: str | None = None, snapshot: str | None = None, start_line: int | None = None,
                end_line: int | None = None) -> dict[str, Any]:
        """Lines start_line..end_line of a file (1-based, inclusive; default the whole file, up to a cap)."""
        return _answer(lambda: answers.snippet_answer(graph, path, repo, snapshot, start_line, end_line))

    @server.tool(annotations=_READ_ONLY)
    def partitions() -> dict[str, Any]:
        """The served partitions: repo, snapshot and the commit each one's index is at."""
        return _answer(lambda: answers.partitions_answer(graph))

    return server


def _answer(compute: Callable[[], dict]) -> dict | CallToolResult:
    try:
        return compute()
    except CodegraphError as error:
        # A result of our own rather than ToolError, whose text the SDK prefixes: the text stays pure JSON.
        answer = answers.error_answer(error)
        return CallToolResult(content=[TextContent(type="text", text=json.dumps(answer))],
                              structured_content=answer, is_error=True)
