"""`codegraph serve`'s ASGI app: the HTTP JSON API under /v1 and, beside it, the MCP server (streamable HTTP).

Every endpoint takes its parameters from the query string (GET) or a JSON object (POST) and answers JSON.
Failures are JSON too: `{"error": {"error_code", "error_category", "input", "fix", "message"}}` with 400
for bad input, 404 for a partition or file that is not served, 503 (and Retry-After) for TRANSIENT ones,
500 otherwise. Answers run in worker threads, so a slow query never holds up the event loop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from mcp.server import MCPServer
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from codegraph_assets.api import CodeGraph
from codegraph_assets.config import ServeConfig
from codegraph_assets.errors import CodegraphError, ErrorCategory, ErrorCode, classify_unexpected
from codegraph_assets.serving import answers

log = logging.getLogger(__name__)

INTERNAL_ERROR = "INTERNAL_ERROR"  # a bug, not a classified failure: the details stay in the server log


@dataclass(frozen=True)
class Endpoint:
    path: str
    answer: Callable[..., dict]
    required: tuple[str, ...]
    params: dict[str, type]  # every accepted parameter and its type
    summary: str


_PARTITION = {"repo": str, "snapshot": str}
ENDPOINTS = (
    Endpoint("/v1/search", answers.search_answer, ("query",),
             {"query": str, **_PARTITION, "mode": str, "limit": int}, "lexical, vector or hybrid code search"),
    Endpoint("/v1/definitions", answers.definitions_answer, ("name",), {"name": str, **_PARTITION},
             "where a symbol (SCIP id, descriptor, dotted or bare name) is defined"),
    Endpoint("/v1/references", answers.references_answer, ("symbol",), {"symbol": str, **_PARTITION},
             "every occurrence referring to a symbol"),
    Endpoint("/v1/symbols", answers.symbols_answer, ("path",), {"path": str, **_PARTITION},
             "the definitions of one file"),
    Endpoint("/v1/snippet", answers.snippet_answer, ("path",),
             {"path": str, **_PARTITION, "start_line": int, "end_line": int}, "lines of one file"),
)


def build_app(graph: CodeGraph, config: ServeConfig, mcp_server: MCPServer | None = None) -> Starlette:
    """The API over `graph`; with `mcp_server`, its streamable-HTTP endpoint at `config.mcp_path` too."""
    routes: list[BaseRoute] = [
        Route("/", lambda request: JSONResponse(_index(config, mcp_server is not None)), methods=["GET"]),
        Route("/healthz", lambda request: JSONResponse({"status": "ok"}), methods=["GET"]),
        Route("/v1/partitions", _handler(graph, config, Endpoint(
            "/v1/partitions", answers.partitions_answer, (), {}, "served partitions")), methods=["GET"]),
    ]
    routes += [Route(e.path, _handler(graph, config, e), methods=["GET", "POST"]) for e in ENDPOINTS]
    lifespan = None
    if mcp_server is not None:
        mcp_app = mcp_server.streamable_http_app(streamable_http_path=config.mcp_path, host=config.host)
        routes += list(mcp_app.routes)
        lifespan = lambda app: mcp_server.session_manager.run()  # noqa: E731 (Starlette wants a callable)
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        CodegraphError: lambda request, exc: _error_response(exc, config),
        HTTPException: _http_error,
        Exception: _unexpected_error,
    })


def status_of(error: CodegraphError) -> int:
    if error.code is ErrorCode.INVALID_PAYLOAD:
        return 400
    if error.code is ErrorCode.PATH_NOT_FOUND:
        return 404
    return 503 if error.category is ErrorCategory.TRANSIENT else 500


def _handler(graph: CodeGraph, config: ServeConfig, endpoint: Endpoint):
    async def handle(request: Request) -> JSONResponse:
        params = await _params(request, endpoint, config)
        return JSONResponse(await run_in_threadpool(endpoint.answer, graph, **params))

    return handle


async def _params(request: Request, endpoint: Endpoint, config: ServeConfig) -> dict:
    """The endpoint's parameters, typed: unknown, missing or mistyped ones are INVALID_PAYLOAD naming them."""
    if request.method == "POST":
        raw = await _json_body(request, config.max_request_bytes)
    else:
        raw = dict(request.query_params)
    unknown = sorted(set(raw) - set(endpoint.params))
    if unknown:
        raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"{endpoint.path} takes no parameter {unknown[0]!r}",
                             input=unknown[0], fix="use: " + ", ".join(endpoint.params))
    missing = [name for name in endpoint.required if raw.get(name) in (None, "")]
    if missing:
        raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"{endpoint.path} needs {missing[0]!r}", input=missing[0],
                             fix=f"pass {missing[0]}=… in the query string or the JSON body")
    return {name: _typed(name, value, endpoint.params[name]) for name, value in raw.items() if value is not None}


async def _json_body(request: Request, max_bytes: int) -> dict:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"the request body is over {max_bytes} bytes",
                                 input="body", fix="send a smaller JSON object (serve.max_request_bytes)")
    try:
        value = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"the request body is not JSON: {exc}", input="body",
                             fix='send a JSON object, e.g. {"query": "retry failed uploads"}') from exc
    if not isinstance(value, dict):
        raise CodegraphError(ErrorCode.INVALID_PAYLOAD, "the request body is not a JSON object", input="body",
                             fix='send a JSON object, e.g. {"query": "retry failed uploads"}')
    return value


def _typed(name: str, value, kind: type):
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
    elif isinstance(value, kind):
        return value
    expected = "whole number" if kind is int else "string"
    raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"{name} {value!r} is not a {expected}", input=name,
                         fix=f"give {name} as a {expected}")


def _error_response(error: CodegraphError, config: ServeConfig) -> JSONResponse:
    status = status_of(error)
    headers = {"Retry-After": str(config.retry_after_s)} if status == 503 else None
    return JSONResponse(answers.error_answer(error), status_code=status, headers=headers)


def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Unknown paths and methods answer in the API's error shape too."""
    error = CodegraphError(ErrorCode.INVALID_PAYLOAD, f"{request.method} {request.url.path}: {exc.detail}",
                           input=request.url.path, fix="GET / lists the endpoints")
    return JSONResponse(answers.error_answer(error), status_code=exc.status_code)


def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    classified = classify_unexpected(exc, f"answer {request.url.path}")
    if classified is not None:
        return JSONResponse(answers.error_answer(classified), status_code=status_of(classified))
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": {"error_code": INTERNAL_ERROR, "error_category": ErrorCategory.INFRASTRUCTURE.value,
                                   "input": request.url.path, "fix": "see the server log; report it as a bug",
                                   "message": f"internal error: {exc.__class__.__name__}"}}, status_code=500)


def _index(config: ServeConfig, with_mcp: bool) -> dict:
    endpoints = [{"path": "/v1/partitions", "params": [], "summary": "served partitions"}]
    endpoints += [{"path": e.path, "params": list(e.params), "required": list(e.required), "summary": e.summary}
                  for e in ENDPOINTS]
    return {"service": "codegraph", "endpoints": endpoints, "mcp": config.mcp_path if with_mcp else None}
