"""Plain `dagster dev` in the repo root finds the code location through [tool.dagster] and serves it."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUERY = "{ assetNodes { assetKey { path } isPartitioned partitionDefinition { dimensionTypes { name } } } }"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_line(process: subprocess.Popen, marker: str, deadline_s: float) -> list[str]:
    """Read the server's output until it announces `marker` (the event we synchronise on)."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    lines: list[str] = []
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if not selector.select(timeout=deadline - time.monotonic()):
            break
        line = process.stdout.readline()
        if not line:
            break  # the process exited
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"`dagster dev` never printed {marker!r}:\n{''.join(lines[-40:])}")


def _wait_until_answering(process: subprocess.Popen, port: int, deadline_s: float) -> None:
    """The webserver announces itself before it binds: wait for the port to accept, pacing on its output."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None:
            raise AssertionError("`dagster dev` exited before serving")
        if selector.select(timeout=0.5):  # wakes early when the server prints something
            process.stdout.readline()
    raise AssertionError(f"nothing listened on port {port} within {deadline_s}s")


def test_dagster_dev_serves_the_four_partitioned_assets(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "CODEGRAPH_HOME": str(tmp_path / "cg")}
    (tmp_path / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    dagster = str(Path(sys.executable).parent / "dagster")
    process = subprocess.Popen([dagster, "dev", "-h", "127.0.0.1", "-p", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        _wait_for_line(process, "Serving dagster-webserver", deadline_s=240)
        _wait_until_answering(process, port, deadline_s=120)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": QUERY}).encode(),
                                         headers={"Content-Type": "application/json"})
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never via a proxy
        with direct.open(request, timeout=120) as response:
            nodes = json.load(response)["data"]["assetNodes"]
        assert {n["assetKey"]["path"][0] for n in nodes} == {"ir", "lexical", "chunk", "vector"}
        for node in nodes:
            assert node["isPartitioned"]
            assert [d["name"] for d in node["partitionDefinition"]["dimensionTypes"]] == ["repo", "snapshot"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
