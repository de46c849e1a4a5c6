"""bench/retrieval: CodeSearchNet-style search quality and latency on real PyPI projects.

    .venv/bin/python -m bench.retrieval [--package NAME==VER ...] [--max-queries N] [--work DIR] [--json]

For each project: download its sdist, remove every function docstring (dataset.py), commit the copy
into a git repository and index it through Dagster exactly as `codegraph index` does (all four assets,
the packaged model, an isolated CODEGRAPH_HOME). Each remaining target function's docstring first
sentence is a query; through the Python API (`CodeSearch`) in each mode, lexical, vector and hybrid,
it prints function-level Recall@5, Recall@10 and MRR@10 (metrics.py), beside a plain BM25 over
function-sized units computed in the same run (baseline.py), hybrid MRR@10 ÷ that BM25's, and the
query latency p50/p95 per mode (the model loaded and one query answered first). Latency depends on the
index size, printed with it; pass a large project with --package for the figure at scale.
`--work DIR` keeps sdists and the index: a second run re-indexes only what changed (say, the ranking
config through CODEGRAPH_SEARCH__* / CODEGRAPH_LEXICAL__* variables costs nothing to re-index).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench._corpus import commit_files, download, new_repo
from bench.retrieval.baseline import PlainBM25
from bench.retrieval.dataset import Dataset, build_dataset
from bench.retrieval.metrics import Quality, first_rank, percentile

DEFAULT_PACKAGES = ("toolz==1.2.0", "more-itertools==11.2.1", "boltons==26.2.0")
MODES = ("lexical", "vector", "hybrid")
CUTOFF = 10
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", action="append", help="NAME==VERSION of a PyPI sdist (repeatable; default: "
                        + ", ".join(DEFAULT_PACKAGES) + ")")
    parser.add_argument("--max-queries", type=int, default=0, help="per project, the first N targets (0: all)")
    parser.add_argument("--work", help="keep downloads and indexes here and reuse them (default: a temp dir)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="codegraph-retrieval-"))
    try:
        report = run([p.partition("==")[::2] for p in args.package or DEFAULT_PACKAGES], work, args.max_queries)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


def run(packages: list[tuple[str, str]], work: Path, max_queries: int) -> dict:
    os.environ["CODEGRAPH_HOME"] = str(work / "home")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import dagster as dg  # after CODEGRAPH_HOME: resource defaults are read at import

    from codegraph_assets.assets import ALL_ASSETS
    from codegraph_assets.config import load_indexing_config
    from codegraph_assets.partitions import partition_key
    from codegraph_assets.registry import register_repo
    from codegraph_assets.resource_defs import build_resource_defs
    from codegraph_assets.search import CodeSearch

    config = load_indexing_config()
    resources = build_resource_defs(config)
    instance = dg.DagsterInstance.ephemeral()
    report: dict = {"config": {"search": config.search.model_dump(), "lexical": config.lexical.model_dump(),
                               "chunking": config.chunking.model_dump()}, "projects": {}}
    for name, version in packages:
        dataset = _prepare(name, version, work)
        shutil.rmtree(work / "repos" / name, ignore_errors=True)
        repo = new_repo(work / "repos" / name)
        commit_files(repo, dataset.root, [p for p in dataset.root.rglob("*") if p.is_file()], f"{name} {version}")
        with dg.build_resources({"metadata": resources["metadata"]}) as r:
            register_repo(r.metadata.open(), instance, name, str(repo), ["main"])
        began = time.perf_counter()
        result = dg.materialize(ALL_ASSETS, partition_key=partition_key(name, "main"), instance=instance,
                                resources=resources, run_config=QUIET)
        index_s = time.perf_counter() - began
        stages = {e.event_specific_data.materialization.asset_key.to_user_string():
                  {k: v.value for k, v in e.event_specific_data.materialization.metadata.items()}
                  for e in result.get_asset_materialization_events()}
        queries = dataset.queries[:max_queries] if max_queries else dataset.queries
        with dg.build_resources(resources) as r:
            search = CodeSearch(r.metadata.open(), r.tantivy, r.qdrant, r.embeddings, config)
            report["projects"][f"{name}=={version}"] = _evaluate(search, name, dataset, queries, stages, index_s)
    return report


def _prepare(name: str, version: str, work: Path) -> Dataset:
    sdists = work / "sdists" / name
    found = sorted((sdists / version).glob("*.tar.gz")) + sorted((sdists / version).glob("*.zip")) \
        if (sdists / version).is_dir() else []
    sdist = found[0] if found else download(name, version, sdists)
    unpacked = work / "unpacked" / name
    shutil.rmtree(unpacked, ignore_errors=True)
    shutil.unpack_archive(sdist, unpacked, filter="data")
    (top,) = unpacked.iterdir()
    copy = work / "copies" / name
    shutil.rmtree(copy, ignore_errors=True)
    return build_dataset(top, copy)


def _evaluate(search, repo: str, dataset: Dataset, queries, stages: dict, index_s: float) -> dict:
    baseline = PlainBM25(dataset.functions)
    search.search("warm up the model and the caches", repo=repo, snapshot="main", mode="hybrid", limit=CUTOFF)
    ranks: dict[str, list[int | None]] = {mode: [] for mode in ("bm25", *MODES)}
    latency: dict[str, list[float]] = {mode: [] for mode in MODES}
    for query in queries:
        ranks["bm25"].append(first_rank(baseline.search(query.text, CUTOFF), query.target))
        for mode in MODES:
            began = time.perf_counter()
            hits = search.search(query.text, repo=repo, snapshot="main", mode=mode, limit=CUTOFF)
            latency[mode].append((time.perf_counter() - began) * 1000)
            ranks[mode].append(first_rank([(h.path, h.start_line, h.end_line) for h in hits], query.target))
    quality = {mode: Quality.of(r).__dict__ for mode, r in ranks.items()}
    bm25_mrr = quality["bm25"]["mrr_at_10"]
    return {
        "queries": len(queries), "functions": len(dataset.functions),
        "docstrings_removed": dataset.docstrings_removed,
        "files": stages.get("ir", {}).get("files_total"), "lexical_units": stages.get("lexical", {}).get("units_total"),
        "chunks": stages.get("vector", {}).get("chunks_total"), "index_s": round(index_s, 1),
        "quality": quality,
        "hybrid_mrr_over_bm25": round(quality["hybrid"]["mrr_at_10"] / bm25_mrr, 2) if bm25_mrr else None,
        "latency_ms": {mode: {"p50": round(percentile(v, 0.5), 1), "p95": round(percentile(v, 0.95), 1)}
                       for mode, v in latency.items() if v},
    }


def render(report: dict) -> str:
    out = []
    for project, figures in report["projects"].items():
        out.append(f"{project}: {figures['queries']} queries, {figures['functions']} functions, {figures['files']} "
                   f"files, {figures['lexical_units']} lexical units, {figures['chunks']} chunks "
                   f"(indexed in {figures['index_s']} s)")
        out.append(f"  {'mode':<8} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} {'p50 ms':>7} {'p95 ms':>7}")
        for mode, quality in figures["quality"].items():
            timing = figures["latency_ms"].get(mode, {})
            out.append(f"  {mode:<8} {quality['recall_at_5']:>6.3f} {quality['recall_at_10']:>6.3f} "
                       f"{quality['mrr_at_10']:>7.3f} {timing.get('p50', ''):>7} {timing.get('p95', ''):>7}")
        out.append(f"  hybrid MRR@10 / BM25 MRR@10 = {figures['hybrid_mrr_over_bm25']}")
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
