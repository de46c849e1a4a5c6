"""A real `dagster dev` (webserver + daemon) for benches, driven through GraphQL: launch backfills, poll runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from dagster_graphql import DagsterGraphQLClient

ROOT = Path(__file__).resolve().parents[1]
POLL_INTERVAL_S = 1.0  # between status queries; every wait is bounded by its deadline
LOCATION = {"repositoryLocationName": "codegraph", "repositoryName": "__repository__"}
# Backfill runs execute their steps in the run process: one process per run, as the system tests do.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}

LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on PartitionKeysNotFoundError { message }
    ... on PartitionSetNotFoundError { message }
  }
}"""
BACKFILL = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status numPartitions runs { id status startTime endTime tags { key value } } }
    ... on PythonError { message }
  }
}"""
LOCATION_STATUS = """
{ workspaceOrError { __typename ... on Workspace {
    locationEntries { name loadStatus locationOrLoadError { __typename } } } } }"""
BACKFILL_DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


class DagsterDev:
    """`dagster dev -w workspace.yaml` on the DAGSTER_HOME of `env`, its output in `log`."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log = log
        self._out = log.open("w")
        dagster = str(Path(sys.executable).parent / "dagster")
        self.process = subprocess.Popen(
            [dagster, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(self.port)], cwd=ROOT,
            env={**env, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}, stdout=self._out,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.client = DagsterGraphQLClient("127.0.0.1", port_number=self.port)

    def query(self, document: str, variables: dict | None = None) -> dict:
        return self.client._execute(document, variables or {})

    def poll(self, what: str, fetch, done, deadline_s: float):
        deadline = time.monotonic() + deadline_s
        status = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"`dagster dev` exited while waiting for {what}; see {self.log}")
            try:
                status = fetch()
            except Exception:  # the webserver is not up yet
                status = None
            if status is not None and done(status):
                return status
            time.sleep(POLL_INTERVAL_S)
        raise RuntimeError(f"{what} not reached within {deadline_s}s (last: {status!r}); see {self.log}")

    def wait_until_loaded(self, deadline_s: float) -> None:
        def entries():
            found = self.query(LOCATION_STATUS)["workspaceOrError"]["locationEntries"]
            return [(e["name"], e["loadStatus"]) for e in found]

        self.poll("the code location to load", entries, lambda e: e == [("codegraph", "LOADED")], deadline_s)

    def launch_backfill(self, partition_keys: list[str]) -> str:
        launched = self.query(LAUNCH_BACKFILL, {"params": {
            "selector": {"partitionSetName": "index_partition_partition_set", "repositorySelector": LOCATION},
            "partitionNames": partition_keys, "runConfigData": IN_PROCESS}})["launchPartitionBackfill"]
        if launched["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(f"backfill refused: {launched}")
        return launched["backfillId"]

    def backfill(self, backfill_id: str) -> dict:
        return self.query(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # dagster dev stops its webserver, daemon and code servers
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._out.close()
