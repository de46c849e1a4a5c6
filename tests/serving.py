"""Helpers for serving tests: a tiny indexed CODEGRAPH_HOME and a real `codegraph serve` process on loopback."""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import GitRepo
from indexing import Indexer

ROOT = Path(__file__).resolve().parents[1]
START_DEADLINE_S = 180.0  # loading the model on a busy 2-core machine
STOP_DEADLINE_S = 60.0

UPLOADS = '''import time


class Uploader:
    """Sends files to the storage service."""

    def retry_failed_uploads(self, attempts: int = 3) -> int:
        """Retry every upload that failed, backing off between attempts."""
        for attempt in range(attempts):
            time.sleep(2 ** attempt)
        return attempts


def parse_http_response(raw: bytes) -> dict:
    """Decode a raw HTTP response into headers and body."""
    head, _, body = raw.partition(b"\\r\\n\\r\\n")
    return {"head": head, "body": body}
'''
CLI = '''from pkg.uploads import Uploader, parse_http_response


def main() -> None:
    uploader = Uploader()
    uploader.retry_failed_uploads(5)
    print(parse_http_response(b"HTTP/1.1 200 OK\\r\\n\\r\\nhello"))
'''
CHECKSUM = '''import hashlib


def sha256_of_file(path: str) -> str:
    """Compute the SHA-256 digest of a file in streaming blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(65536), b""):
            digest.update(block)
    return digest.hexdigest()
'''
DEMO_FILES = {"pkg/uploads.py": UPLOADS, "pkg/cli.py": CLI}
RETRY_LINE = 7  # pkg/uploads.py: `def retry_failed_uploads`
PARSE_LINE = 14  # pkg/uploads.py: `def parse_http_response`


def covers(hits, path: str, line: int) -> bool:
    """Whether a hit (SearchHit or its JSON) holds `line` of `path`: what a search must find, ranking aside."""
    as_json = [h if isinstance(h, dict) else h.to_json() for h in hits]
    return any(h["path"] == path and h["start_line"] <= line <= h["end_line"] for h in as_json)


@contextmanager
def home_environment(root: Path) -> Iterator[dict[str, str]]:
    """CODEGRAPH_HOME and DAGSTER_HOME under `root` for this process, and the environment for children."""
    env = {"CODEGRAPH_HOME": str(root / "home"), "DAGSTER_HOME": str(root / "dagster"),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield {**os.environ, **env}


def index_demo(root: Path, name: str = "demo") -> tuple[Indexer, GitRepo]:
    """The demo repository committed and all four assets materialized (CODEGRAPH_HOME must be set)."""
    repo = GitRepo(root / name)
    repo.commit(DEMO_FILES, "initial")
    indexer = Indexer()
    indexer.register(name, str(repo.path), ["main"])
    assert indexer.materialize(name, "main").result.success
    return indexer, repo


class ServeProcess:
    """`codegraph serve --port 0` in a child process; `url` once it has printed its address."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "codegraph_assets.cli.main", "serve", "--port", "0", *args], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output: list[str] = []
        self.url = self._wait_for_address()

    def _wait_for_address(self) -> str:
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline and selector.select(timeout=deadline - time.monotonic()):
            line = self.process.stdout.readline()
            if not line:
                break  # exited
            self.output.append(line)
            found = re.search(r"codegraph serve: (http://\S+)", line)
            if found:
                return found.group(1)
        self.stop()
        raise AssertionError("codegraph serve never printed its address:\n" + "".join(self.output[-40:]))

    def get(self, endpoint: str, /, **params) -> tuple[int, dict, dict]:
        """(status, JSON body, headers by lowercase name) of a GET with `params` in the query string."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        return self._send(urllib.request.Request(f"{self.url}{endpoint}?{query}"))

    def post(self, endpoint: str, body: bytes | dict) -> tuple[int, dict, dict]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self._send(urllib.request.Request(f"{self.url}{endpoint}", data=data, method="POST",
                                                 headers={"Content-Type": "application/json"}))

    @staticmethod
    def _send(request: urllib.request.Request) -> tuple[int, dict, dict]:
        try:
            with urllib.request.urlopen(request, timeout=STOP_DEADLINE_S) as response:
                return response.status, json.loads(response.read()), _lowercase(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()), _lowercase(error.headers)

    def stop(self) -> str:
        """SIGTERM, then wait for a clean exit; returns everything the server printed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.append(self.process.stdout.read())
        self.process.stdout.close()
        return "".join(self.output)


def _lowercase(headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
