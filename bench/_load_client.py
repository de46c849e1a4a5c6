"""A bounded search load on `codegraph serve`, from its own process, over loopback (run by bench/soak.py).

    python bench/_load_client.py URL --requests N --concurrency C [--rate R] [--stop-file PATH]

Cycles through the served partitions (re-read as they appear), the queries below and the modes
lexical / vector / hybrid, with a snippet request every `SNIPPET_EVERY`; with `--rate`, request i starts
no earlier than i / R seconds in (a paced load that leaves the machine to the indexing runs), else each
of the C workers sends its next request as soon as the last one is answered. A 503 (the server is briefly
busy: Retry-After) is retried, up to `MAX_RETRIES` times, and counted; any other failure is an error.
Prints one JSON object: requests, errors (and the first few), retries, seconds, requests/s, answers
without hits by mode, latency percentiles per kind of request.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

QUERIES = ("split a command line into tokens", "match file names against a pattern", "wrap text to a width",
           "convert a color between color systems", "find the insertion point in a sorted list",
           "copy an object deeply", "read configuration values", "format a number with separators",
           "parse a date from text", "compare two sequences", "escape special characters", "walk a directory")
MODES = ("lexical", "vector", "hybrid")
SNIPPET_EVERY = 10
MAX_RETRIES = 20
PARTITIONS_EVERY = 25  # requests between re-reading the served partitions
REQUEST_TIMEOUT_S = 120.0
WAIT_FOR_PARTITION_S = 600.0
PERCENTILES = (50, 95, 99)
SHOWN_ERRORS = 5


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--requests", type=int, required=True, help="at most this many requests")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rate", type=float, help="requests per second at most (default: as fast as answered)")
    parser.add_argument("--stop-file", type=Path, help="stop early once this file exists")
    args = parser.parse_args()
    print(json.dumps(LoadRun(args.url, args.stop_file, args.rate).run(args.requests, args.concurrency)))
    return 0


class LoadRun:
    def __init__(self, url: str, stop_file: Path | None, rate: float | None) -> None:
        self.url, self.stop_file, self.rate = url, stop_file, rate
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.retries = 0
        self.done = 0
        self.empty: dict[str, int] = {}  # answers without hits, by mode (a partition not in serve's copy yet)
        self.paths: dict[tuple[str, str], str] = {}  # a file of each partition, for snippet requests
        self.partitions = self._wait_for_partitions()

    def run(self, requests: int, concurrency: int) -> dict:
        self.started = started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(self._one, range(requests)))
        seconds = time.perf_counter() - started
        figures = {"requests": self.done, "paced_rate": self.rate, "errors": len(self.errors),
                   "first_errors": self.errors[:SHOWN_ERRORS],
                   "retried_503": self.retries, "seconds": round(seconds, 2),
                   "requests_per_s": round(self.done / seconds, 2), "partitions_seen": len(self.partitions),
                   "answers_without_hits": dict(sorted(self.empty.items()))}
        for kind, values in sorted(self.latencies.items()):
            cuts = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
            figures[f"{kind}_ms"] = {f"p{p}": round(cuts[p - 1] * 1000, 1) for p in PERCENTILES}
        return figures

    def _one(self, number: int) -> None:
        if self.stop_file is not None and self.stop_file.exists():
            return
        if self.rate:
            # Pacing a load, not waiting for an event: request `number` is due at started + number / rate.
            time.sleep(max(0.0, self.started + number / self.rate - time.perf_counter()))
        if number % PARTITIONS_EVERY == 0:
            self.partitions = self._served() or self.partitions
        repo, snapshot = self.partitions[number % len(self.partitions)]
        if number % SNIPPET_EVERY == SNIPPET_EVERY - 1:
            kind, path, params = "snippet", "/v1/snippet", {"path": self._a_path(repo, snapshot), "end_line": 40}
        else:
            mode = MODES[number % len(MODES)]
            kind, path, params = mode, "/v1/search", {"query": QUERIES[number % len(QUERIES)], "mode": mode}
        self._request(kind, path, {"repo": repo, "snapshot": snapshot, **params})

    def _a_path(self, repo: str, snapshot: str) -> str:
        """The top lexical hit's file, looked up once per partition (not counted as load)."""
        if (repo, snapshot) not in self.paths:
            status, body = self._get("/v1/search", {"repo": repo, "snapshot": snapshot, "query": "def",
                                                    "mode": "lexical", "limit": 1})
            self.paths[(repo, snapshot)] = body["hits"][0]["path"] if status == 200 and body["hits"] else "missing"
        return self.paths[(repo, snapshot)]

    def _request(self, kind: str, path: str, params: dict) -> None:
        for attempt in itertools.count():
            started = time.perf_counter()
            status, body = self._get(path, params)
            elapsed = time.perf_counter() - started
            if status == 503 and attempt < MAX_RETRIES:
                with self.lock:
                    self.retries += 1
                time.sleep(float(body.get("retry_after", 1)))  # the server's own Retry-After
                continue
            with self.lock:
                self.done += 1
                if status == 200:
                    self.latencies.setdefault(kind, []).append(elapsed)
                    if kind != "snippet" and not body["hits"]:
                        self.empty[kind] = self.empty.get(kind, 0) + 1
                else:
                    self.errors.append(f"{kind} {params.get('repo')}|{params.get('snapshot')}: {status} {body}")
            return

    def _get(self, path: str, params: dict) -> tuple[int, dict]:
        request = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}")
            return error.code, body | {"retry_after": error.headers.get("Retry-After", "1")}
        except OSError as error:  # refused, reset, timed out
            return 0, {"exception": repr(error)}

    def _served(self) -> list[tuple[str, str]]:
        status, body = self._get("/v1/partitions", {})
        return sorted((p["repo"], p["snapshot"]) for p in body["partitions"]) if status == 200 else []

    def _wait_for_partitions(self) -> list[tuple[str, str]]:
        """Polls the server (external state) until something is served, within WAIT_FOR_PARTITION_S."""
        deadline = time.monotonic() + WAIT_FOR_PARTITION_S
        while time.monotonic() < deadline:
            served = self._served()
            if served:
                return served
            time.sleep(1.0)
        raise SystemExit(f"nothing was served at {self.url} within {WAIT_FOR_PARTITION_S}s")


if __name__ == "__main__":
    raise SystemExit(main())
