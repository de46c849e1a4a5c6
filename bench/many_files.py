"""bench/many_files: a repository of very many tiny files through ir and lexical (no vectors).

    .venv/bin/python bench/many_files.py [--files 100000] [--json]

Writes one commit of N distinct tiny Python files (1,000 per directory) with `git fast-import` into a
temp repository, then runs the job API's IRBuildHandler and LexicalIndexHandler on it in an isolated
CODEGRAPH_HOME, cold and again at the same commit. Prints wall time, files/s and peak RSS (this process
and, apart, its children: git and the parser process).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_repository(path: Path, files: int) -> None:
    """One commit of `files` tiny files, streamed into git fast-import (seconds, not minutes, for 100k)."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    stream = [b"commit refs/heads/main\ncommitter b <b@example.com> 0 +0000\ndata 5\nmany\n"]
    for i in range(files):
        content = f"def function_{i}(value):\n    return value + {i}\n".encode()
        stream.append(b"M 100644 inline pkg%03d/module_%06d.py\ndata %d\n%s\n" % (i // 1000, i, len(content), content))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(stream), check=True)


def peak_rss_mb(who: int) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="codegraph-many-") as scratch:
        os.environ["CODEGRAPH_HOME"] = str(Path(scratch) / "home")
        from codegraph_assets.jobs.handlers import IRBuildHandler, LexicalIndexHandler

        repo = Path(scratch) / "many"
        started = time.perf_counter()
        write_repository(repo, args.files)
        figures: dict[str, object] = {"files": args.files, "write_repo_s": round(time.perf_counter() - started, 1)}
        payload = {"repo_path": str(repo), "repo_id": "many", "snapshot_id": "main"}
        for run in ("cold", "same_commit"):
            for name, handler in (("ir", IRBuildHandler()), ("lexical", LexicalIndexHandler())):
                started = time.perf_counter()
                result = asyncio.run(handler.execute(payload))
                elapsed = time.perf_counter() - started
                if not result.success:
                    sys.exit(f"{name} failed: {result.error}")
                figures[f"{run}_{name}_s"] = round(elapsed, 1)
                figures[f"{run}_{name}_files_per_s"] = round(args.files / elapsed)
        figures["peak_rss_mb"] = peak_rss_mb(resource.RUSAGE_SELF)
        figures["peak_rss_children_mb"] = peak_rss_mb(resource.RUSAGE_CHILDREN)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
