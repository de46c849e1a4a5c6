"""bench/latency.py: query latency per search mode on an index of >= 20,000 chunks.

    .venv/bin/python bench/latency.py [--work DIR] [--package NAME==VER] [--corpus-lines N] [--queries N]
                                      [--backend onnx-int8|onnx|torch] [--build-only] [--json]

Builds (once; a rerun with the same --work and corpus only measures) an index of the Python files of a
PyPI sdist (default django 5.2.8: all of `django/`, then `tests/` in path order up to --corpus-lines lines),
with every function docstring removed (bench/retrieval/dataset.py), through Dagster exactly as `codegraph
index` does, in an isolated CODEGRAPH_HOME under --work. The index is embedded with --backend (default
onnx-int8: about twice as fast as torch on CPU); queries embed with the same backend and model, since the
backend is part of the model id. The queries are the first sentences of the removed docstrings (a fixed,
seeded sample of --queries).

Then it measures p50/p95 per mode (lexical, vector, hybrid) over the query set, each after one warm-up
query: (a) through the Python API in this process (`CodeGraph.search`), (b) through `codegraph serve` in
a child process, over loopback HTTP from this process (one keep-alive connection, GET /v1/search).
The index size (files, lexical units, chunks = Qdrant points) is printed with the figures. For comparison,
--qdrant-search-queries vector queries go through Qdrant's own local-mode search, as a one-shot reader
(`codegraph search`) answers them; the API and the server search vectors from memory.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from the repository root

from bench._corpus import commit_files, download, new_repo  # noqa: E402
from bench.retrieval.dataset import build_dataset  # noqa: E402
from bench.retrieval.metrics import percentile  # noqa: E402

MODES = ("lexical", "vector", "hybrid")
MIN_CHUNKS = 20_000
LIMIT = 10
SEED = 6
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
DEFAULT_WORK = Path(tempfile.gettempdir()) / "codegraph-latency"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default=str(DEFAULT_WORK), help=f"index cache (default {DEFAULT_WORK})")
    parser.add_argument("--package", default="django==5.2.8", help="NAME==VERSION of a PyPI sdist")
    parser.add_argument("--corpus-lines", type=int, default=240_000,
                        help="Python lines to index: the package folder, then tests/ up to this many")
    parser.add_argument("--queries", type=int, default=100, help="queries per mode (a seeded sample)")
    parser.add_argument("--backend", default="onnx-int8", choices=("torch", "onnx", "onnx-int8"))
    parser.add_argument("--build-only", action="store_true", help="build (or check) the index and stop")
    parser.add_argument("--skip-serve", action="store_true", help="measure the Python API only")
    parser.add_argument("--qdrant-search-queries", type=int, default=10,
                        help="for comparison, vector queries answered by Qdrant's own local-mode search (0: none)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(args.work)
    name, _, version = args.package.partition("==")
    if not version:
        parser.error(f"--package {args.package!r}: give NAME==VERSION, e.g. django==5.2.8")
    os.environ["CODEGRAPH_HOME"] = str(work / "home")
    os.environ["CODEGRAPH_EMBEDDING__BACKEND"] = args.backend
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    built = build(work, name, version, args.corpus_lines)
    if built["chunks"] < MIN_CHUNKS:
        print(f"the index has {built['chunks']} chunks, fewer than {MIN_CHUNKS}: raise --corpus-lines",
              file=sys.stderr)
        return 1
    if args.build_only:
        print(json.dumps({k: v for k, v in built.items() if k != "queries"}, indent=2))
        return 0
    queries = random.Random(SEED).sample(built["queries"], min(args.queries, len(built["queries"])))
    report = {"index": {k: v for k, v in built.items() if k != "queries"}, "backend": args.backend,
              "queries": len(queries), "limit": LIMIT, "cpu_count": os.cpu_count(),
              "load_average_at_start": os.getloadavg()[0], "python_api": measure_api(name, queries)}
    if not args.skip_serve:
        report["serve_http"] = measure_serve(name, queries)
    if args.qdrant_search_queries:
        report["qdrant_local_search"] = measure_qdrant_search(name, queries[:args.qdrant_search_queries])
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


def build(work: Path, name: str, version: str, corpus_lines: int) -> dict:
    """The index of the corpus, built once: `built.json` records what it holds and the query set."""
    spec = {"package": f"{name}=={version}", "corpus_lines": corpus_lines,
            "backend": os.environ["CODEGRAPH_EMBEDDING__BACKEND"]}
    marker = work / "built.json"
    if marker.is_file():
        built = json.loads(marker.read_text())
        if built["spec"] == spec:
            return built
    import dagster as dg  # after CODEGRAPH_HOME: resource defaults are read at import

    from codegraph_assets.assets import ALL_ASSETS
    from codegraph_assets.config import load_indexing_config
    from codegraph_assets.partitions import partition_key
    from codegraph_assets.registry import register_repo
    from codegraph_assets.resource_defs import build_resource_defs

    selected = _select_corpus(work, name, version, corpus_lines)
    shutil.rmtree(work / "copy", ignore_errors=True)
    dataset = build_dataset(selected, work / "copy")
    shutil.rmtree(work / "repo", ignore_errors=True)
    repo = new_repo(work / "repo")
    commit_files(repo, dataset.root, [p for p in dataset.root.rglob("*") if p.is_file()], f"{name} {version}")
    resources = build_resource_defs(load_indexing_config())
    instance = dg.DagsterInstance.ephemeral()
    with dg.build_resources({"metadata": resources["metadata"]}) as r:
        register_repo(r.metadata.open(), instance, name, str(repo), ["main"])
    began = time.perf_counter()
    result = dg.materialize(ALL_ASSETS, partition_key=partition_key(name, "main"), instance=instance,
                            resources=resources, run_config=QUIET)
    stages = {e.event_specific_data.materialization.asset_key.to_user_string():
              {k: v.value for k, v in e.event_specific_data.materialization.metadata.items()}
              for e in result.get_asset_materialization_events()}
    built = {"spec": spec, "index_s": round(time.perf_counter() - began, 1),
             "files": stages.get("ir", {}).get("files_total"),
             "lexical_units": stages.get("lexical", {}).get("units_total"),
             "chunks": stages.get("vector", {}).get("chunks_total") or 0,
             "chunks_per_s": stages.get("vector", {}).get("chunks_per_s"),
             "queries": [q.text for q in dataset.queries]}
    marker.write_text(json.dumps(built))
    return built


def _select_corpus(work: Path, name: str, version: str, corpus_lines: int) -> Path:
    """The sdist's Python files: its package folder whole, then tests/ in path order up to `corpus_lines`."""
    sdists = work / "sdists"
    found = sorted((sdists / version).glob("*.tar.gz")) if (sdists / version).is_dir() else []
    sdist = found[0] if found else download(name, version, sdists)
    unpacked = work / "unpacked"
    shutil.rmtree(unpacked, ignore_errors=True)
    shutil.unpack_archive(sdist, unpacked, filter="data")
    (top,) = unpacked.iterdir()
    package = top / name.lower().replace("-", "_")
    if not package.is_dir():
        raise SystemExit(f"{name}=={version}: the sdist has no {package.name}/ folder; pick a package whose "
                         "sdist holds its sources under its own name")
    files = sorted(package.rglob("*.py"))
    lines = sum(_lines(f) for f in files)
    for extra in sorted((top / "tests").rglob("*.py")) if (top / "tests").is_dir() else []:
        if lines >= corpus_lines:
            break
        files.append(extra)
        lines += _lines(extra)
    corpus = work / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    for source in files:
        target = corpus / source.relative_to(top)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return corpus


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")


def measure_api(repo: str, queries: list[str]) -> dict:
    from codegraph_assets.api import CodeGraph

    began = time.perf_counter()
    with CodeGraph() as graph:
        open_s = time.perf_counter() - began
        timings = {}
        for mode in MODES:
            first = time.perf_counter()
            graph.search("warm up the caches", repo=repo, snapshot="main", mode=mode, limit=LIMIT)
            first_ms = (time.perf_counter() - first) * 1000
            samples = []
            for query in queries:
                start = time.perf_counter()
                graph.search(query, repo=repo, snapshot="main", mode=mode, limit=LIMIT)
                samples.append((time.perf_counter() - start) * 1000)
            timings[mode] = _summary(samples) | {"first_query_ms": round(first_ms, 1)}
    return {"open_s": round(open_s, 1), "modes": timings}


def measure_qdrant_search(repo: str, queries: list[str]) -> dict:
    """Vector mode as a one-shot reader (`codegraph search`) answers it: Qdrant's local search per query."""
    import dagster as dg

    from codegraph_assets.config import load_indexing_config
    from codegraph_assets.resource_defs import build_resource_defs
    from codegraph_assets.search import CodeSearch

    config = load_indexing_config()
    with dg.build_resources(build_resource_defs(config)) as r:
        search = CodeSearch(r.metadata.open(), r.tantivy, r.qdrant, r.embeddings, config)
        search.search("warm up the caches", repo=repo, snapshot="main", mode="vector", limit=LIMIT)
        samples = []
        for query in queries:
            start = time.perf_counter()
            search.search(query, repo=repo, snapshot="main", mode="vector", limit=LIMIT)
            samples.append((time.perf_counter() - start) * 1000)
    return {"modes": {"vector": _summary(samples) | {"first_query_ms": None}}, "queries": len(queries)}


def measure_serve(repo: str, queries: list[str]) -> dict:
    began = time.perf_counter()
    cli = Path(sys.executable).with_name("codegraph")  # the console script installed beside this Python
    log = tempfile.TemporaryFile("w+")  # the server's stderr: shown if it fails to start
    server = subprocess.Popen([str(cli), "serve", "--port", "0", "--no-mcp"], stdout=subprocess.PIPE, stderr=log,
                              text=True, cwd=Path(__file__).resolve().parents[1])
    try:
        banner = server.stdout.readline()  # printed once the stores and the model are loaded
        if "http://" not in banner:
            log.seek(0)
            raise SystemExit(f"codegraph serve did not start (exit {server.wait()}): {banner!r}\n{log.read()[-3000:]}")
        address = urllib.parse.urlsplit(banner.split()[2])
        open_s = time.perf_counter() - began
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
        timings = {}
        for mode in MODES:
            first_ms = _request(connection, repo, "warm up the caches", mode)
            samples = [_request(connection, repo, query, mode) for query in queries]
            timings[mode] = _summary(samples) | {"first_query_ms": round(first_ms, 1)}
        connection.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    return {"open_s": round(open_s, 1), "modes": timings}


def _request(connection: http.client.HTTPConnection, repo: str, query: str, mode: str) -> float:
    path = "/v1/search?" + urllib.parse.urlencode({"query": query, "repo": repo, "snapshot": "main",
                                                   "mode": mode, "limit": LIMIT})
    start = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 200:
        raise SystemExit(f"GET {path} answered {response.status}: {body[:300]!r}")
    return elapsed


def _summary(samples: list[float]) -> dict:
    return {"p50_ms": round(percentile(samples, 0.5), 1), "p95_ms": round(percentile(samples, 0.95), 1),
            "max_ms": round(max(samples), 1)}


def render(report: dict) -> str:
    index = report["index"]
    out = [f"{index['spec']['package']}: {index['files']} files, {index['lexical_units']} lexical units, "
           f"{index['chunks']} chunks (Qdrant points); embedded with the {report['backend']} backend "
           f"(queries embed with it too); {report['queries']} queries per mode, limit {report['limit']}; "
           f"{report['cpu_count']} CPUs, load average {report['load_average_at_start']:.1f} at start",
           f"  {'path':<19} {'mode':<8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'first ms':>9}"]
    for path in ("python_api", "serve_http", "qdrant_local_search"):
        for mode, t in report.get(path, {}).get("modes", {}).items():
            first = "" if t["first_query_ms"] is None else t["first_query_ms"]
            out.append(f"  {path:<19} {mode:<8} {t['p50_ms']:>8} {t['p95_ms']:>8} {t['max_ms']:>8} {first:>9}")
    if "qdrant_local_search" in report:
        out.append(f"  qdrant_local_search: {report['qdrant_local_search']['queries']} queries through Qdrant's own "
                   "local-mode search (a one-shot `codegraph search`), for comparison")
    for path in ("python_api", "serve_http"):
        if path in report:
            out.append(f"  {path} open: {report[path]['open_s']} s (stores, model, Qdrant copy)")
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
