"""bench/enrichment: what function summaries (enrichment, FULL tier) cost the lexical stage, and what the cache saves.

    .venv/bin/python bench/enrichment.py [--stdlib-package email] [--latency-ms 200] [--concurrency 1,4,8] [--json]

Commits one package of this interpreter's standard library into a temp git repository and materializes
ir + lexical through Dagster, against a local OpenAI-compatible chat server that answers every request
after --latency-ms (a stand-in for a hosted model's response time; the LLM is not what is measured).
Prints, per request concurrency (each on a fresh CODEGRAPH_HOME): the lexical stage's seconds with
enrichment off and on, summaries written, LLM requests and summaries/s; then a second run at the same
commit (LLM requests: 0 expected, its seconds), and a second repository holding the same files at other
paths (LLM requests: 0 expected).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sysconfig
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _corpus import commit_files, new_repo, print_figures  # bench/ is sys.path[0] as a script

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class SlowChatServer:
    """/v1/chat/completions answered after a fixed delay with a one-line summary; counts requests."""

    def __init__(self, latency_s: float) -> None:
        self.requests = 0
        lock = threading.Lock()
        bench = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                with lock:
                    bench.requests += 1
                time.sleep(latency_s)  # the simulated model's response time
                reply = {"id": "x", "object": "chat.completion", "created": 0, "model": body.get("model", ""),
                         "choices": [{"index": 0, "finish_reason": "stop", "message": {
                             "role": "assistant", "content": "Handles one step of the package's work."}}]}
                payload = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib-package", default="email", help="a package folder of the standard library")
    parser.add_argument("--latency-ms", type=float, default=200.0, help="the chat server's delay per request")
    parser.add_argument("--concurrency", default="1,4,8", help="comma-separated enrichment.max_concurrent_requests")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    source = Path(sysconfig.get_paths()["stdlib"]) / args.stdlib_package
    work = Path(tempfile.mkdtemp(prefix="codegraph-bench-enrichment-"))
    server = SlowChatServer(args.latency_ms / 1000)
    try:
        figures = {"package": f"stdlib {args.stdlib_package}", "latency_ms": args.latency_ms}
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            for name, value in _run(source, work / f"c{concurrency}", server, concurrency).items():
                figures[f"concurrency_{concurrency}.{name}"] = value
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print_figures(figures, args.json)
    return 0


def _run(source: Path, work: Path, server: SlowChatServer, concurrency: int) -> dict:
    os.environ["CODEGRAPH_HOME"] = str(work / "home")
    import dagster as dg

    from codegraph_assets.assets import ALL_ASSETS
    from codegraph_assets.config import load_indexing_config
    from codegraph_assets.partitions import partition_key
    from codegraph_assets.registry import register_repo
    from codegraph_assets.resource_defs import build_resource_defs
    from resources.llm import LLMResource

    files = [p for p in sorted(source.rglob("*.py")) if "__pycache__" not in p.parts]
    repos = {"pkg": ("", work / "pkg"), "moved": ("vendored/copy/", work / "moved")}
    for prefix, path in repos.values():
        new_repo(path)
        staging = work / f"staging-{path.name}" / prefix
        for file in files:
            target = staging / file.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
        commit_files(path, work / f"staging-{path.name}", sorted(p for p in (work / f"staging-{path.name}")
                                                                  .rglob("*.py")), "import")
    config = load_indexing_config()
    resources = {**build_resource_defs(config), "llm": LLMResource(base_url=server.url, model="bench-chat")}
    instance = dg.DagsterInstance.ephemeral()
    lexical_assets = [a for a in ALL_ASSETS if a.key.to_user_string() in ("ir", "lexical")]
    with dg.build_resources({"metadata": resources["metadata"]}) as r:
        for name, (_, path) in repos.items():
            register_repo(r.metadata.open(), instance, name, str(path), ["main"])

    def lexical_run(repo: str, enabled: bool) -> tuple[dict, int]:
        before = server.requests
        enrichment = {"enabled": enabled, "max_concurrent_requests": concurrency}
        run_config = {"ops": {op: {"config": {"enrichment": enrichment}} for op in ("ir", "lexical")}, **QUIET}
        result = dg.materialize(lexical_assets, partition_key=partition_key(repo, "main"), instance=instance,
                                resources=resources, run_config=run_config)
        for event in result.get_asset_materialization_events():
            materialization = event.event_specific_data.materialization
            if materialization.asset_key.to_user_string() == "lexical":
                return {k: v.value for k, v in materialization.metadata.items()}, server.requests - before
        raise RuntimeError("lexical was not materialized")

    off, _ = lexical_run("pkg", False)
    on, requests = lexical_run("pkg", True)
    again, requests_again = lexical_run("pkg", True)
    moved, requests_moved = lexical_run("moved", True)
    return {
        "files": len(files),
        "lexical_s_enrichment_off": off["duration_s"],
        "lexical_s_enrichment_on": on["duration_s"],
        "summaries_generated": on["summaries_generated"],
        "summaries_failed": on["summaries_failed"],
        "llm_requests": requests,
        "summaries_per_s": round(on["summaries_generated"] / on["duration_s"], 1),
        "rerun_same_commit_llm_requests": requests_again,
        "rerun_same_commit_lexical_s": again["duration_s"],
        "same_files_other_repo_llm_requests": requests_moved,
        "same_files_other_repo_summaries_cached": moved["summaries_cached"],
    }


if __name__ == "__main__":
    raise SystemExit(main())
