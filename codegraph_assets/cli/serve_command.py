"""`codegraph serve` (the HTTP JSON API, plus MCP over streamable HTTP) and `codegraph mcp` (MCP over stdio)."""

from __future__ import annotations

import contextlib
import socket
import sys

from pydantic import ValidationError

from codegraph_assets.config import ServeConfig, load_indexing_config
from codegraph_assets.errors import CodegraphError, ErrorCode

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def register(commands) -> None:
    serve = commands.add_parser(
        "serve", help="answer search, definitions, references and snippets over HTTP (JSON) and MCP; read-only")
    serve.add_argument("--host", help="address to listen on (default: serve.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: serve.port, 8765; 0 = any free port)")
    serve.add_argument("--no-mcp", action="store_true", help="leave out the MCP endpoint (serve.mcp_path, /mcp)")
    serve.set_defaults(handler=run_serve)
    mcp = commands.add_parser("mcp", help="the Model Context Protocol server over stdio, for coding agents")
    mcp.set_defaults(handler=run_mcp)


def run_serve(args) -> int:
    # Imported here: the MCP SDK alone takes over a second to import, which no other command should pay.
    import uvicorn

    from codegraph_assets.api import CodeGraph
    from codegraph_assets.serving.http_app import build_app
    from codegraph_assets.serving.mcp_tools import build_mcp_server

    config = load_indexing_config()
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    try:
        serve = ServeConfig.model_validate(config.serve.model_dump() | overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0])
        raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"--{field} {overrides.get(field)!r}: {first['msg']}",
                             input=f"--{field}", fix="give a host name or address, and a port from 0 to 65535") from exc
    with CodeGraph(config) as graph:  # the model and the stores load here, once, before the port opens
        mcp_server = None if args.no_mcp or not serve.mcp_path else build_mcp_server(graph)
        app = build_app(graph, serve, mcp_server)
        family = socket.getaddrinfo(serve.host, serve.port, type=socket.SOCK_STREAM)[0][0]
        listener = socket.create_server((serve.host, serve.port), family=family)
        host, port = listener.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        if serve.host not in _LOOPBACK:
            print(f"codegraph serve: listening on {serve.host}, beyond this machine; the API has no authentication",
                  file=sys.stderr)
        mcp = f"; MCP at http://{shown}:{port}{serve.mcp_path}" if mcp_server else ""
        print(f"codegraph serve: http://{shown}:{port} ({len(graph.partitions())} partitions served{mcp})",
              flush=True)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=serve.access_log))
        server.run(sockets=[listener])
    return 0


def run_mcp(args) -> int:
    from codegraph_assets.api import CodeGraph
    from codegraph_assets.serving.mcp_tools import build_mcp_server

    # stdout carries the protocol: whatever loading the stores and the model prints goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        graph = CodeGraph(load_indexing_config())
    with graph:
        build_mcp_server(graph).run("stdio")
    return 0
