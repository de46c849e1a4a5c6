"""A real `dagster dev` (webserver + daemon) driven through GraphQL, on SQLite and on PostgreSQL storage.

One partition is materialized with a plain run and a backfill of the `index_partition` job covers
three more, two of them pairs whose ref the repository does not have. Every run goes through the
daemon's queue (QueuedRunCoordinator) and the instance's pools, as in production.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster_graphql import DagsterGraphQLClient

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ["ir", "lexical", "chunk", "vector"]
LOCATION = {"repositoryLocationName": "codegraph", "repositoryName": "__repository__"}
# The single run takes the default executor, a process per step, as the UI launches it; the backfill's
# runs execute in their run process, which keeps the test short on 2 CPUs. Pools bind both alike.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
DEADLINE_S = 300  # generous for 2 shared CPUs; a healthy run of the whole test takes a fraction of it

LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on PartitionKeysNotFoundError { message }
    ... on PartitionSetNotFoundError { message }
  }
}"""
RUN_FIELDS = "id status startTime endTime tags { key value } stepStats { stepKey status startTime endTime }"
BACKFILL = f"""
query($id: String!) {{
  partitionBackfillOrError(backfillId: $id) {{
    __typename
    ... on PartitionBackfill {{ status numPartitions runs {{ {RUN_FIELDS} }} }}
    ... on PythonError {{ message }}
  }}
}}"""
RUN = f"""
query($id: ID!) {{
  runOrError(runId: $id) {{ __typename ... on Run {{ {RUN_FIELDS} }} ... on PythonError {{ message }} }}
}}"""
MATERIALIZATIONS = """
query($path: [String!]!, $partitions: [String!]) {
  assetOrError(assetKey: {path: $path}) {
    __typename
    ... on Asset { assetMaterializations(partitions: $partitions) { partition runId tags { key value } } }
  }
}"""
LOCATION_STATUS = """
{ workspaceOrError { __typename ... on Workspace {
    locationEntries { name loadStatus locationOrLoadError { __typename } } } } }"""
SKIP_LOGS = """
query($id: ID!) {
  logsForRun(runId: $id) {
    __typename ... on EventConnection { events { __typename ... on MessageEvent { message } } }
  }
}"""

RUN_DONE = {"SUCCESS", "FAILURE", "CANCELED"}
BACKFILL_DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


@dataclass(frozen=True)
class Storage:
    """The instance config written to DAGSTER_HOME and what it promises about concurrency."""

    config: dict
    one_run_per_repo: bool


@pytest.fixture
def dagster_database() -> Iterator[str]:
    """A database of its own on the real PostgreSQL: the session's shared one holds other tests' partitions."""
    from conftest import fresh_postgres_database

    with fresh_postgres_database("codegraph_dagster") as url:
        yield url


def _postgres_storage(monkeypatch: pytest.MonkeyPatch, dsn: str) -> Storage:
    """deploy/dagster.postgres.yaml, its DAGSTER_PG_* variables pointing at `dsn`."""
    from sqlalchemy.engine import make_url

    url = make_url(dsn)
    for name, value in {"DAGSTER_PG_HOST": url.host, "DAGSTER_PG_USER": url.username,
                        "DAGSTER_PG_PASSWORD": url.password or "", "DAGSTER_PG_DB": url.database}.items():
        monkeypatch.setenv(name, value)
    config = yaml.safe_load((ROOT / "deploy" / "dagster.postgres.yaml").read_text())
    # The production file assumes a Qdrant server; this test runs Qdrant local mode, which one client at
    # a time may open, so the pools get the embedded default's limit.
    config["concurrency"]["pools"]["default_limit"] = 1
    return Storage(config, one_run_per_repo=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage(request, monkeypatch) -> Storage:
    if request.param == "sqlite":
        return Storage(yaml.safe_load((ROOT / "dagster.yaml").read_text()), one_run_per_repo=False)
    return _postgres_storage(monkeypatch, request.getfixturevalue("dagster_database"))


@pytest.fixture
def repo_heads(make_repo, codegraph_home, storage):
    """Repos alpha and beta registered with refs main and ghost (neither has a `ghost`); their head commits."""
    from codegraph_assets.config import load_indexing_config
    from codegraph_assets.registry import register_repo
    from codegraph_assets.resource_defs import build_resource_defs

    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(storage.config))
    repos = {
        "alpha": make_repo({"ledger.py": 'def post_entry(book, entry):\n    """Append to the ledger."""\n'
                                        "    book.append(entry)\n"}, name="alpha"),
        "beta": make_repo({"greet.ts": "export function greetUser(name: string): string {\n"
                                       "  return `hello ${name}`;\n}\n"}, name="beta"),
    }
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        concurrency = instance.get_concurrency_config()
        assert concurrency.pool_config.default_pool_limit == 1  # covers pool "qdrant" of the vector asset
        per_repo = [limit for limit in concurrency.run_queue_config.tag_concurrency_limits
                    if limit["key"] == "dagster/partition/repo"]
        assert bool(per_repo) == storage.one_run_per_repo
        per_partition = [limit for limit in concurrency.run_queue_config.tag_concurrency_limits
                         if limit["key"] == "dagster/partition"]
        # Either way two runs of one partition never overlap: they would race for its Tantivy directory.
        assert per_repo or per_partition == [{"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True},
                                              "limit": 1}]
        with dg.build_resources(build_resource_defs(load_indexing_config())) as resources:
            for name, repo in repos.items():
                register_repo(resources.metadata.open(), instance, name, str(repo.path), ["main", "ghost"])
    return {name: repo.git("rev-parse", "HEAD") for name, repo in repos.items()}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DagsterDev:
    """`dagster dev` in the repo root on the DAGSTER_HOME of the test, its output in a log file."""

    def __init__(self, log: Path) -> None:
        self.port = _free_port()
        self.log = log
        self._out = log.open("w")
        dagster = str(Path(sys.executable).parent / "dagster")
        self.process = subprocess.Popen(
            [dagster, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(self.port)], cwd=ROOT,
            env={**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"},
            stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)
        self.client = DagsterGraphQLClient("127.0.0.1", port_number=self.port)

    def tail(self) -> str:
        return "".join(self.log.read_text().splitlines(keepends=True)[-60:])

    def poll(self, what: str, fetch, done, deadline_s: float = DEADLINE_S):
        """Fetch a status until `done(status)`; fail with the last status and the server's log at the deadline."""
        deadline = time.monotonic() + deadline_s
        status = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"`dagster dev` exited while waiting for {what}:\n{self.tail()}")
            status = fetch()
            if done(status):
                return status
            time.sleep(0.5)  # polling interval of a status check bounded by the deadline
        raise AssertionError(f"{what} not reached within {deadline_s}s; last status {status!r}\n{self.tail()}")

    def query(self, document: str, variables: dict | None = None) -> dict:
        return self.client._execute(document, variables or {})

    def wait_until_serving(self) -> None:
        def answering():
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) != 0:
                    return None
            entries = self.query(LOCATION_STATUS)["workspaceOrError"]["locationEntries"]
            return [(e["name"], e["loadStatus"], e["locationOrLoadError"]["__typename"]) for e in entries
                    if e["locationOrLoadError"]]

        self.poll("the code location to load", answering,
                  lambda entries: entries == [("codegraph", "LOADED", "RepositoryLocation")])

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # dagster dev shuts its webserver, daemon and code servers down
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._out.close()


@pytest.fixture
def dagster_dev(repo_heads, tmp_path):
    server = DagsterDev(tmp_path / "dagster-dev.log")
    try:
        server.wait_until_serving()
        yield server
    finally:
        server.stop()


def _partition_tags(repo: str, snapshot: str) -> dict[str, str]:
    """The tags Dagster puts on a run of one multi-partition key (the backfill's runs carry the same)."""
    return {"dagster/partition": f"{repo}|{snapshot}", "dagster/partition/repo": repo,
            "dagster/partition/snapshot": snapshot}


def _tags(run: dict) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in run["tags"]}


def _asset_steps(run: dict) -> dict[str, str]:
    """Status of each asset's step (asset checks have steps of their own)."""
    return {step["stepKey"]: step["status"] for step in run["stepStats"] if step["stepKey"] in ASSETS}


def _assert_no_overlap(intervals: list[tuple[float, float]], what: str) -> None:
    ordered = sorted(intervals)
    for (_, end), (start, _) in zip(ordered, ordered[1:]):
        assert start >= end, f"{what} overlapped: {ordered}"


@pytest.mark.system
def test_a_run_and_a_backfill_over_missing_refs_all_succeed_through_the_daemon(dagster_dev, repo_heads, storage):
    single_run_id = dagster_dev.client.submit_job_execution(
        "index_partition", repository_location_name="codegraph", repository_name="__repository__",
        tags=_partition_tags("beta", "main"))
    launched = dagster_dev.query(LAUNCH_BACKFILL, {"params": {
        "selector": {"partitionSetName": "index_partition_partition_set", "repositorySelector": LOCATION},
        "partitionNames": ["alpha|main", "alpha|ghost", "beta|ghost"],
        "runConfigData": IN_PROCESS,
    }})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched

    single = dagster_dev.poll("the single-partition run to finish",
                              lambda: dagster_dev.query(RUN, {"id": single_run_id})["runOrError"],
                              lambda run: run["status"] in RUN_DONE)
    backfill = dagster_dev.poll(
        "the backfill to complete",
        lambda: dagster_dev.query(BACKFILL, {"id": launched["backfillId"]})["partitionBackfillOrError"],
        lambda b: b["status"] in BACKFILL_DONE)

    runs = {_tags(run)["dagster/partition"]: run for run in [single, *backfill["runs"]]}
    assert {key: run["status"] for key, run in runs.items()} == dict.fromkeys(
        ["beta|main", "alpha|main", "alpha|ghost", "beta|ghost"], "SUCCESS")
    assert backfill["status"] == "COMPLETED_SUCCESS"

    # A missing ref is skipped: ir and lexical say so and produce nothing, chunk and vector never run.
    for key in ("alpha|ghost", "beta|ghost"):
        assert _asset_steps(runs[key]) == {"ir": "SUCCESS", "lexical": "SUCCESS",
                                           "chunk": "SKIPPED", "vector": "SKIPPED"}
        events = dagster_dev.query(SKIP_LOGS, {"id": runs[key]["id"]})["logsForRun"]["events"]
        repo, ref = key.split("|")
        assert sum(f"skipped {key}: repository {repo!r} has no branch or tag {ref!r}" in e.get("message", "")
                   for e in events) == 2
    for key in ("alpha|main", "beta|main"):
        assert _asset_steps(runs[key]) == dict.fromkeys(ASSETS, "SUCCESS")

    # Existing pairs are materialized once, by their run, at their commit; skipped pairs not at all.
    for asset in ASSETS:
        found = dagster_dev.query(MATERIALIZATIONS, {"path": [asset], "partitions": list(runs)})["assetOrError"]
        assert sorted(m["partition"] for m in found["assetMaterializations"]) == ["alpha|main", "beta|main"], asset
        for materialization in found["assetMaterializations"]:
            key = materialization["partition"]
            assert materialization["runId"] == runs[key]["id"]
            assert _tags(materialization)["dagster/data_version"] == repo_heads[key.split("|")[0]]

    # Pool "qdrant" (limit 1): the vector steps of concurrent runs never held Qdrant local mode together.
    _assert_no_overlap([(s["startTime"], s["endTime"]) for run in runs.values() for s in run["stepStats"]
                        if s["stepKey"] == "vector" and s["status"] == "SUCCESS"], "vector steps")
    if storage.one_run_per_repo:  # tag limit on dagster/partition/repo, as deploy/dagster.postgres.yaml sets
        for repo in ("alpha", "beta"):
            _assert_no_overlap([(r["startTime"], r["endTime"]) for key, r in runs.items()
                                if key.startswith(f"{repo}|")], f"runs of {repo}")
