"""The MCP server answered by the MCP SDK's own client: `codegraph mcp` over stdio, `codegraph serve` over HTTP."""

from __future__ import annotations

import json
import sys

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from serving import RETRY_LINE, ROOT, ServeProcess, covers, home_environment, index_demo

TOOLS = {"search", "definitions", "references", "symbols", "snippet", "partitions"}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mcp")
    with home_environment(root) as env:
        _, repo = index_demo(root)
        yield env, repo


def _stdio(env: dict[str, str]) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "codegraph_assets.cli.main", "mcp"], env=env,
                                 cwd=ROOT)


def test_codegraph_mcp_over_stdio_lists_and_answers_every_tool(indexed):
    env, repo = indexed

    async def session() -> dict:
        async with Client(_stdio(env)) as client:
            listed = {tool.name: tool for tool in (await client.list_tools()).tools}
            answers = {
                "search": await client.call_tool("search", {"query": "retry failed uploads", "limit": 3}),
                "definitions": await client.call_tool("definitions", {"name": "Uploader"}),
                "references": await client.call_tool("references", {"symbol": "parse_http_response"}),
                "symbols": await client.call_tool("symbols", {"path": "pkg/uploads.py"}),
                "snippet": await client.call_tool("snippet", {"path": "pkg/cli.py", "start_line": 4, "end_line": 4}),
                "partitions": await client.call_tool("partitions", {}),
            }
            return {"listed": listed, "answers": answers}

    result = anyio.run(session)
    assert set(result["listed"]) == TOOLS
    assert all(tool.annotations.read_only_hint for tool in result["listed"].values())
    answers = {name: answer.structured_content for name, answer in result["answers"].items()}
    assert not any(answer.is_error for answer in result["answers"].values())
    assert answers["search"]["commit"] == repo.git("rev-parse", "HEAD")
    assert covers(answers["search"]["hits"], "pkg/uploads.py", RETRY_LINE)
    assert answers["definitions"]["definitions"][0]["path"] == "pkg/uploads.py"
    assert ("pkg/cli.py", 7) in {(r["path"], r["start_line"]) for r in answers["references"]["references"]}
    assert [s["name"] for s in answers["symbols"]["symbols"]] == [
        "Uploader", "retry_failed_uploads", "parse_http_response"]
    assert answers["snippet"]["snippet"]["text"] == "def main() -> None:"
    assert [p["repo"] for p in answers["partitions"]["partitions"]] == ["demo"]


def test_a_failing_tool_call_is_a_tool_error_carrying_the_code_the_input_and_the_fix(indexed):
    env, _ = indexed

    async def session():
        async with Client(_stdio(env)) as client:
            return await client.call_tool("search", {"query": "upload", "repo": "nope", "snapshot": "main"})

    answer = anyio.run(session)
    assert answer.is_error
    error = json.loads(answer.content[0].text)["error"]
    assert answer.structured_content == {"error": error}
    assert (error["error_code"], error["input"]) == ("PATH_NOT_FOUND", "nope|main") and error["fix"]


def test_codegraph_serve_answers_mcp_over_streamable_http_like_its_json_api(indexed):
    env, _ = indexed
    server = ServeProcess(env)
    try:
        _, by_http, _ = server.get("/v1/search", query="http response", mode="lexical", limit=2)

        async def session():
            async with Client(f"{server.url}/mcp") as client:
                return await client.call_tool("search", {"query": "http response", "mode": "lexical", "limit": 2})

        answer = anyio.run(session)
    finally:
        server.stop()
    assert not answer.is_error and answer.structured_content == by_http
