"""bench/soak: partitions indexed concurrently through Dagster's queued coordinator while `codegraph serve`
answers a search load from another process; on the embedded default and on PostgreSQL.

    .venv/bin/python bench/soak.py [--storage sqlite postgres] [--repos 10] [--max-concurrent-runs 4]
                                   [--requests 600] [--concurrency 4] [--json]

Per storage, in a temp CODEGRAPH_HOME and DAGSTER_HOME:
1. `--repos` tiny git repositories (two small standard-library modules each) with branches main and dev (dev
   edits one module), registered with `codegraph repo add`: 2 × repos partitions (20 by default).
2. `codegraph serve` starts before anything is indexed.
3. `dagster dev` (webserver + daemon) starts, and one backfill of the `index_partition` job over every
   partition goes through the QueuedRunCoordinator: at most `--max-concurrent-runs` runs at once, each in
   its own process, pool `qdrant` at 1 (Qdrant local mode has one writer).
4. bench/_load_client.py, a second process, loads serve over loopback during the backfill (phase
   "indexing", paced at `--indexing-rate` requests/s), then at the same pace for 30 s on the idle server
   ("idle-paced"), then twice with `--requests` each, as fast as `--concurrency` clients get answers
   ("after-1", "after-2").
Figures: backfill wall time, partitions/min, failed runs, the most runs seen at once, and the effective
parallelism (sum of run durations ÷ wall time); per load phase requests, errors, 503s retried,
requests/s and latency percentiles, and each mode's median latency while indexing as a ratio of the
idle server's at the same pace; serve's RSS at start, after the backfill and after each phase, growth = after-2 -
after-1 (caches warm by then). PostgreSQL: fresh databases for the Dagster instance and the metadata
store (CODEGRAPH_TEST_POSTGRES names the server), dropped after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

import yaml
from _corpus import new_repo, print_figures  # bench/ is sys.path[0] when run as a script
from _dagster_dev import BACKFILL_DONE, ROOT, DagsterDev

POSTGRES_ADMIN_URL = os.environ.get("CODEGRAPH_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
FILES_PER_REPO = 2
MODULE_BYTES = (1_000, 6_000)  # standard-library modules of this size: a few functions each
SERVE_START_S = 300.0
BACKFILL_DEADLINE_S = 3600.0
IDLE_PACED_S = 30  # how long the idle server gets the paced load
MAX_REQUESTS_WHILE_INDEXING = 100_000  # the backfill's end stops that phase; this only bounds it
# Tiny repositories need no pool of parse processes: one per run keeps 4 concurrent runs off 16 processes.
PARSE_WORKERS_PER_RUN = "1"
_GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--repos", type=int, default=10, help="repositories; each has branches main and dev")
    parser.add_argument("--max-concurrent-runs", type=int, default=4)
    parser.add_argument("--requests", type=int, default=600, help="requests of each post-index load phase")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight")
    parser.add_argument("--indexing-rate", type=float, default=2.0,
                        help="requests/s of the load during the backfill (paced, so the runs keep the CPUs)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    clean = True
    for storage in args.storage:  # each storage's figures print as soon as it is done
        work = Path(tempfile.mkdtemp(prefix=f"codegraph-soak-{storage}-"))
        try:
            figures = soak(storage, args, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if not args.json:
            print(f"\n== {storage} ==")
        print_figures({storage: figures} if args.json else figures, as_json=args.json)
        sys.stdout.flush()
        clean = clean and figures["failed_runs"] == 0 and figures["load_errors"] == 0
    return 0 if clean else 1


def soak(storage: str, args: argparse.Namespace, work: Path) -> dict:
    with ExitStack() as stack:
        env = {**os.environ, "CODEGRAPH_HOME": str(work / "home"), "DAGSTER_HOME": str(work / "dagster"),
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "CODEGRAPH_DEFAULTS__PARALLEL_WORKERS": PARSE_WORKERS_PER_RUN}
        instance = _instance_config(args.max_concurrent_runs)
        if storage == "postgres":
            env.update(_postgres_env(stack.enter_context(_fresh_database("soak_dagster")),
                                     stack.enter_context(_fresh_database("soak_codegraph"))))
            instance["storage"] = yaml.safe_load((ROOT / "deploy" / "dagster.postgres.yaml").read_text())["storage"]
        Path(env["DAGSTER_HOME"]).mkdir(parents=True)
        (Path(env["DAGSTER_HOME"]) / "dagster.yaml").write_text(yaml.safe_dump(instance))
        keys = _make_and_register_repos(work, args.repos, env)

        serve = stack.enter_context(_serve(env))
        rss = {"rss_mb_start": _rss_mb(serve.pid)}
        dev = DagsterDev(env, work / "dagster-dev.log")
        stack.callback(dev.stop)
        dev.wait_until_loaded(SERVE_START_S)

        stop_file = work / "backfill-done"
        started = time.monotonic()
        backfill_id = dev.launch_backfill(keys)
        during = _start_load(serve.url, MAX_REQUESTS_WHILE_INDEXING, args.concurrency, stop_file, args.indexing_rate)
        stack.callback(_stop, during)  # interrupted or failed: the client must not outlive the soak
        backfill = dev.poll("the backfill to complete", lambda: dev.backfill(backfill_id),
                            lambda b: b["status"] in BACKFILL_DONE, BACKFILL_DEADLINE_S)
        wall = time.monotonic() - started
        stop_file.touch()
        phases = {"indexing": _finish_load(during)}
        rss["rss_mb_after_backfill"] = _rss_mb(serve.pid)
        # The same paced load on the idle server: the reference for the latencies while indexing.
        phases["idle-paced"] = _finish_load(_start_load(serve.url, int(args.indexing_rate * IDLE_PACED_S),
                                                        args.concurrency, None, args.indexing_rate))
        for phase in ("after-1", "after-2"):
            phases[phase] = _finish_load(_start_load(serve.url, args.requests, args.concurrency, None, None))
            rss[f"rss_mb_{phase}"] = _rss_mb(serve.pid)
        served = len(json.loads(_http_get(f"{serve.url}/v1/partitions"))["partitions"])
    return _figures(storage, keys, backfill, wall, served, phases, rss, args)


def _figures(storage, keys, backfill, wall, served, phases, rss, args) -> dict:
    runs = backfill["runs"]
    spans = [(r["startTime"], r["endTime"]) for r in runs if r["startTime"] and r["endTime"]]
    figures = {
        "storage": "SQLite instance + SQLite metadata" if storage == "sqlite" else "PostgreSQL instance + metadata",
        "partitions": len(keys), "max_concurrent_runs": args.max_concurrent_runs,
        "backfill_status": backfill["status"], "backfill_wall_s": round(wall, 1),
        "partitions_per_min": round(len(keys) / wall * 60, 2),
        "failed_runs": sum(r["status"] != "SUCCESS" for r in runs) + len(keys) - len(runs),
        "most_runs_at_once": _most_at_once(spans),
        "parallelism (sum of run times / wall)": round(sum(end - start for start, end in spans) / wall, 2),
        "partitions_served_after": served,
    }
    for phase, result in phases.items():
        figures[f"load {phase}"] = {k: v for k, v in result.items() if k != "first_errors"}
        if result["first_errors"]:
            figures[f"load {phase} first errors"] = result["first_errors"]
    figures["load_errors"] = sum(result["errors"] for result in phases.values())
    for kind in ("lexical", "vector", "hybrid"):
        figures[f"{kind} p50 while indexing ÷ idle (same pace)"] = round(
            phases["indexing"][f"{kind}_ms"]["p50"] / phases["idle-paced"][f"{kind}_ms"]["p50"], 2)
    figures.update(rss)
    figures["rss_growth_mb (after-2 - after-1)"] = round(rss["rss_mb_after-2"] - rss["rss_mb_after-1"], 1)
    return figures


def _instance_config(max_concurrent_runs: int) -> dict:
    """The embedded default's dagster.yaml with the soak's run limit (Qdrant local mode: pool limit 1)."""
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    config["concurrency"]["runs"]["max_concurrent_runs"] = max_concurrent_runs
    return config


def _make_and_register_repos(work: Path, count: int, env: dict[str, str]) -> list[str]:
    modules = sorted(p for p in Path(sysconfig.get_paths()["stdlib"]).glob("*.py")
                     if MODULE_BYTES[0] <= p.stat().st_size <= MODULE_BYTES[1])
    if len(modules) < count * FILES_PER_REPO:
        raise SystemExit(f"only {len(modules)} standard-library modules fit; ask for fewer --repos")
    keys = []
    for number in range(count):
        name = f"soak{number:02d}"
        repo = new_repo(work / "repos" / name)
        for module in modules[number * FILES_PER_REPO:(number + 1) * FILES_PER_REPO]:
            shutil.copyfile(module, repo / module.name)
        _commit(repo, "main")
        subprocess.run(["git", "checkout", "-q", "-b", "dev"], cwd=repo, check=True)
        first = sorted(repo.glob("*.py"))[0]
        first.write_text(first.read_text() + f"\n\ndef soak_marker_{number}():\n    return {number}\n")
        _commit(repo, "dev")
        added = subprocess.run([sys.executable, "-m", "codegraph_assets.cli.main", "repo", "add", name, str(repo),
                                "--ref", "main", "--ref", "dev"], cwd=ROOT, env=env, capture_output=True, text=True)
        if added.returncode != 0:
            raise RuntimeError(f"`codegraph repo add {name}` failed:\n{added.stdout}{added.stderr}")
        keys += [f"{name}|main", f"{name}|dev"]
    return keys


def _commit(repo: Path, message: str) -> None:
    subprocess.run(_GIT + ["add", "-A"], cwd=repo, check=True)
    subprocess.run(_GIT + ["commit", "-q", "-m", message], cwd=repo, check=True)


class _Serve:
    def __init__(self, process: subprocess.Popen, url: str) -> None:
        self.process, self.url, self.pid = process, url, process.pid


@contextmanager
def _serve(env: dict[str, str]):
    process = subprocess.Popen([sys.executable, "-m", "codegraph_assets.cli.main", "serve", "--port", "0"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=SERVE_START_S):
            raise RuntimeError("codegraph serve did not start")
        found = re.search(r"(http://\S+)", process.stdout.readline())
        if not found:
            raise RuntimeError("codegraph serve printed no address")
        yield _Serve(process, found.group(1))
    finally:
        process.terminate()
        process.wait(timeout=60)


def _start_load(url: str, requests: int, concurrency: int, stop_file: Path | None,
                rate: float | None) -> subprocess.Popen:
    command = [sys.executable, str(Path(__file__).with_name("_load_client.py")), url, "--requests", str(requests),
               "--concurrency", str(concurrency)]
    if rate is not None:
        command += ["--rate", str(rate)]
    if stop_file is not None:
        command += ["--stop-file", str(stop_file)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


def _finish_load(process: subprocess.Popen) -> dict:
    output, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the load client failed ({process.returncode}): {output}")
    return json.loads(output.strip().splitlines()[-1])


def _http_get(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most


@contextmanager
def _fresh_database(prefix: str):
    """A new database on the PostgreSQL server, dropped (its connections cut) afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _postgres_env(dagster_db, codegraph_db) -> dict[str, str]:
    return {"DAGSTER_PG_HOST": dagster_db.host, "DAGSTER_PG_USER": dagster_db.username,
            "DAGSTER_PG_PASSWORD": dagster_db.password or "", "DAGSTER_PG_DB": dagster_db.database,
            "CODEGRAPH_POSTGRES_DSN": codegraph_db.set(drivername="postgresql").render_as_string(hide_password=False)}


if __name__ == "__main__":
    raise SystemExit(main())
