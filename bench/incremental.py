"""bench/incremental: what re-indexing costs, on a real project at two consecutive releases.

    .venv/bin/python bench/incremental.py [--package attrs --old 25.3.0 --new 25.4.0] [--json]

Downloads both sdists from PyPI, commits them into a temp git repository as two commits, and indexes
through Dagster exactly as `codegraph index` does (all four assets, the packaged local model), in an
isolated CODEGRAPH_HOME. Prints, against the cold run measured in the same process:
  - cold index time (the model is loaded before timing, and its load time shown apart);
  - no-change re-index time as a ratio of cold;
  - next-release re-index: chunks re-embedded vs chunks whose text changed, and time as a ratio of cold.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _corpus import commit_release, download, print_figures  # bench/ is sys.path[0] when run as a script


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", default="attrs")
    parser.add_argument("--old", default="25.3.0")
    parser.add_argument("--new", default="25.4.0")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="codegraph-bench-"))
    try:
        return _run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, work: Path) -> int:
    os.environ["CODEGRAPH_HOME"] = str(work / "home")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import dagster as dg  # after CODEGRAPH_HOME: resource defaults are read at import

    from codegraph_assets.assets import ALL_ASSETS
    from codegraph_assets.config import load_indexing_config
    from codegraph_assets.partitions import partition_key
    from codegraph_assets.registry import register_repo
    from codegraph_assets.resource_defs import build_resource_defs
    from codegraph_assets.stages.chunk_stage import chunk_set_keys

    config = load_indexing_config()
    resources = build_resource_defs(config)
    set_key = chunk_set_keys(config, resources["embeddings"])
    instance = dg.DagsterInstance.ephemeral()
    sdists = work / "sdists"
    old_sdist, new_sdist = download(args.package, args.old, sdists), download(args.package, args.new, sdists)
    repo = work / args.package
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    commit_release(repo, old_sdist, args.old)

    started = time.perf_counter()
    resources["embeddings"].embed(["warm up"])  # load the model once, outside the timings
    model_load_s = time.perf_counter() - started
    with dg.build_resources({"metadata": resources["metadata"]}) as r:
        store = r.metadata.open()
        register_repo(store, instance, args.package, str(repo), ["main"])

    def index() -> tuple[float, dict]:
        began = time.perf_counter()
        result = dg.materialize(ALL_ASSETS, partition_key=partition_key(args.package, "main"), instance=instance,
                                resources=resources,
                                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
        seconds = time.perf_counter() - began
        metadata = {e.event_specific_data.materialization.asset_key.to_user_string():
                    {k: v.value for k, v in e.event_specific_data.materialization.metadata.items()}
                    for e in result.get_asset_materialization_events()}
        return seconds, metadata

    def chunk_hashes() -> set[str]:
        head = store.published(args.package, "main", "vector")
        entries = [e for e in store.load_manifest(head.manifest_id) if e.indexed]
        keys = {e.blob_sha: set_key(e.blob_sha) for e in entries}
        return {c.chunk.chunk_hash for c in store.snapshot_chunks(entries, keys)}

    cold_s, cold = index()
    old_hashes = chunk_hashes()
    unchanged_s, unchanged = index()
    commit_release(repo, new_sdist, args.new)
    next_s, following = index()
    changed_texts = len(chunk_hashes() - old_hashes)

    figures = {
        "project": f"{args.package} {args.old} -> {args.new}",
        "files_indexed": cold["ir"]["files_indexed"],
        "chunks": cold["vector"]["chunks_total"],
        "model_load_s": round(model_load_s, 2),
        "cold_s": round(cold_s, 2),
        "cold_chunks_embedded": cold["vector"]["chunks_embedded"],
        "no_change_s": round(unchanged_s, 3),
        "no_change_ratio": round(unchanged_s / cold_s, 4),
        "no_change_files_parsed": unchanged["ir"]["files_parsed"],
        "no_change_chunks_embedded": unchanged["vector"]["chunks_embedded"],
        "next_release_s": round(next_s, 2),
        "next_release_ratio": round(next_s / cold_s, 3),
        "next_release_chunks_embedded": following["vector"]["chunks_embedded"],
        "next_release_chunks_with_new_text": changed_texts,
        "next_release_files_parsed": following["ir"]["files_parsed"] + following["lexical"]["files_parsed"],
    }
    print_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
