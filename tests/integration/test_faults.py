"""Faults of the systems a run depends on, injected for real while a run is in flight.

Each test indexes a first commit, injects the fault into a run of a second one, and shows: the classified
outcome (category, retried or not), that searches still serve the first commit meanwhile, and that once
the fault is gone the partition completes with the asset checks green (one Qdrant point per chunk, one
Tantivy document per file: nothing duplicated, nothing lost).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest
from conftest import POSTGRES_ADMIN_URL, fresh_postgres_database
from indexing import Indexed, Indexer
from sqlalchemy import create_engine, text
from test_openai_compatible_adapters import FakeOpenAIServer, RecordedRequest, ScriptedReply

from codegraph_assets.assets import ALL_ASSETS, ALL_CHECKS
from codegraph_assets.config import load_indexing_config
from codegraph_assets.partitions import partition_key
from resources.embeddings import EmbeddingResource
from resources.file_lock import exclusive_file_lock
from resources.metadata_store.store import _GC_LOCK_KEY

FIRST = {"billing/invoice.py": "def total_due(invoice):\n    return sum(line.amount for line in invoice.lines)\n"}
SECOND = {"billing/refund.py": "def refund_payment(payment, reason):\n    return payment.reverse(reason)\n"}
NO_WAIT_RETRIES = {"retry": {"max_retries": 2, "base_delay_s": 0.0}}


def poll_until(condition: Callable[[], object], timeout_s: float = 120.0, interval_s: float = 0.02):
    """Poll a state with a deadline (the faults below have no event to wait on); returns its first truthy value."""
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, "the awaited state never came"
        time.sleep(interval_s)
    return value


def index(indexer: Indexer, repo: str, **kwargs) -> Indexed:
    """Materialize the four assets and their checks for repo|main."""
    return Indexed(dg.materialize([*ALL_ASSETS, *ALL_CHECKS], partition_key=partition_key(repo, "main"),
                                  instance=indexer.instance, resources=indexer.resources, **kwargs))


def assert_complete(indexed: Indexed) -> None:
    assert indexed.result.success
    evaluations = indexed.result.get_asset_check_evaluations()
    assert len(evaluations) == len(ALL_CHECKS) and all(e.passed for e in evaluations), evaluations
    vector = indexed.metadata("vector")
    assert vector["points_total"] == vector["chunks_total"]


def events_of(indexed: Indexed, kind: str, step: str | None = None) -> list[dg.DagsterEvent]:
    return [e for e in indexed.result.all_events if e.event_type_value == kind and (step is None or e.step_key == step)]


def failure_message(indexed: Indexed, step: str) -> str:
    [failure] = events_of(indexed, "STEP_FAILURE", step)
    return failure.event_specific_data.error.message


def serves_only_the_first_commit(indexer: Indexer, repo: str) -> bool:
    first = [h.path for h in indexer.search("total due invoice lines", repo, "main", "lexical")]
    second = [h.path for h in indexer.search("refund payment reason", repo, "main", "lexical")]
    return first[:1] == ["billing/invoice.py"] and "billing/refund.py" not in second


@pytest.fixture
def first_indexed(codegraph_home, make_repo):
    """Build an Indexer (call it with the environment set) on a repo whose first commit is indexed and served;
    the repo then has a second commit, not yet indexed."""
    def _build(name: str, config=None, resource_overrides=None) -> Indexer:
        repo = make_repo(FIRST, name=name)
        indexer = Indexer(config, resource_overrides)
        indexer.register(name, str(repo.path), ["main"])
        assert_complete(index(indexer, name))
        repo.commit(SECOND, "second")
        return indexer

    return _build


# -- PostgreSQL connections dropped (a database restart or failover) ---------------------------------------------


@pytest.fixture
def postgres_store(codegraph_home, monkeypatch) -> Iterator[str]:
    """The metadata store on a fresh PostgreSQL database; yields its URL."""
    with fresh_postgres_database("codegraph_faults") as url:
        monkeypatch.setenv("CODEGRAPH_POSTGRES_DSN", url)
        yield url


def terminate_backends(database_url: str, only_waiting_on_advisory_lock: bool = False) -> int:
    """pg_terminate_backend every connection of the database but the caller's (what a restart does to them)."""
    waiting = "AND wait_event_type = 'Lock' AND wait_event = 'advisory'" if only_waiting_on_advisory_lock else ""
    database = database_url.rsplit("/", 1)[1]
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = :db AND pid <> pg_backend_pid() {waiting}"), {"db": database}).all())
    finally:
        admin.dispose()


def test_postgres_connections_dropped_between_stages_are_reopened_and_the_run_completes(
        postgres_store, first_indexed):
    indexer = first_indexed("dropped")
    dropped: list[int] = []

    @dg.success_hook
    def drop_connections_after_ir(context: dg.HookContext):
        if context.op.name == "ir":
            dropped.append(terminate_backends(postgres_store))

    job = dg.define_asset_job("index_with_a_restart", selection=[*ALL_ASSETS], hooks={drop_connections_after_ir})
    definitions = dg.Definitions(assets=ALL_ASSETS, asset_checks=ALL_CHECKS, jobs=[job], resources=indexer.resources)
    result = definitions.resolve_job_def(job.name).execute_in_process(
        partition_key=partition_key("dropped", "main"), instance=indexer.instance)

    assert dropped and dropped[0] > 0  # the run's pooled connections were cut after ir
    assert result.success
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]  # pre-ping reconnects
    assert_complete(index(indexer, "dropped"))
    assert not serves_only_the_first_commit(indexer, "dropped")


def test_a_postgres_connection_dropped_mid_stage_is_transient_and_the_retried_step_completes_the_run(
        postgres_store, first_indexed):
    indexer = first_indexed("dropped")
    admin = create_engine(postgres_store)
    terminated: list[int] = []
    with admin.connect() as holder:
        # Hold the lock garbage collection takes: the stage's next content write waits on it, mid-stage,
        # inside its transaction; that connection is then cut.
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _GC_LOCK_KEY})

        def cut_the_waiting_writer() -> None:
            terminated.append(poll_until(lambda: terminate_backends(postgres_store, only_waiting_on_advisory_lock=True)))
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _GC_LOCK_KEY})
            holder.commit()

        cutter = threading.Thread(target=cut_the_waiting_writer)
        cutter.start()
        retried_run = index(indexer, "dropped", raise_on_error=False, run_config={
            "ops": {stage: {"config": NO_WAIT_RETRIES} for stage in ("ir", "lexical", "chunk", "vector")}})
        cutter.join()
    admin.dispose()

    assert terminated == [1]
    [retry] = events_of(retried_run, "STEP_UP_FOR_RETRY")  # the cut step only, once: the pool reconnected
    message = retry.event_specific_data.error.cause.message  # the error behind Dagster's RetryRequested
    assert "TRANSIENT DB_CONNECTION_LOST: metadata store postgresql+psycopg://postgres@127.0.0.1" in message
    assert "terminating connection due to administrator command" in message
    assert_complete(retried_run)  # the transaction rolled back, the retry redid it: nothing lost or doubled
    assert not serves_only_the_first_commit(indexer, "dropped")


# -- SQLite busy -----------------------------------------------------------------------------------------------


def test_a_sqlite_write_transaction_held_elsewhere_is_transient_db_locked_and_retried(first_indexed):
    config = load_indexing_config()
    config = config.model_copy(update={"timeouts": config.timeouts.model_copy(update={"db_busy": 0.2})})
    indexer = first_indexed("busy", config)
    holder = sqlite3.connect(config.metadata_db_path())
    holder.execute("BEGIN EXCLUSIVE")  # another process's long write transaction
    try:
        failed = index(indexer, "busy", raise_on_error=False,
                       run_config={"ops": {"ir": {"config": NO_WAIT_RETRIES}, "lexical": {"config": NO_WAIT_RETRIES}}})
        assert len(events_of(failed, "STEP_UP_FOR_RETRY", "ir")) == 2
        assert "TRANSIENT DB_LOCKED: metadata store is busy" in failure_message(failed, "ir")
        assert serves_only_the_first_commit(indexer, "busy")  # WAL: readers go on while the writer waits
    finally:
        holder.rollback()
        holder.close()
    assert_complete(index(indexer, "busy"))
    assert not serves_only_the_first_commit(indexer, "busy")


# -- Qdrant local store held by another process ------------------------------------------------------------------


@contextmanager
def qdrant_client_in_another_process(path: str) -> Iterator[None]:
    """A process (a search, a stray script) with the local store open, until the context exits."""
    code = ("import sys\nfrom qdrant_client import QdrantClient\nclient = QdrantClient(path=sys.argv[1])\n"
            "print('open', flush=True)\nsys.stdin.read()\nclient.close()\n")
    holder = subprocess.Popen([sys.executable, "-c", code, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def test_a_qdrant_local_store_open_in_another_process_is_transient_index_locked_and_retried(first_indexed):
    indexer = first_indexed("vectors")
    with qdrant_client_in_another_process(indexer.resources["qdrant"].location):
        failed = index(indexer, "vectors", raise_on_error=False,
                       run_config={"ops": {"vector": {"config": NO_WAIT_RETRIES}}})
        assert len(events_of(failed, "STEP_UP_FOR_RETRY", "vector")) == 2
        assert "TRANSIENT INDEX_LOCKED: the Qdrant local store" in failure_message(failed, "vector")
    assert serves_only_the_first_commit(indexer, "vectors")  # ir, lexical, chunk done; vector never published
    assert_complete(index(indexer, "vectors"))
    assert not serves_only_the_first_commit(indexer, "vectors")


def blocked_flock_waiters() -> int:
    """Processes blocked in flock() right now (`->` lines of /proc/locks)."""
    return sum(1 for line in Path("/proc/locks").read_text().splitlines() if "->" in line and "FLOCK" in line)


def test_a_vector_step_waits_for_the_qdrant_writer_lock_instead_of_failing(first_indexed):
    indexer = first_indexed("waits")
    qdrant = indexer.resources["qdrant"]
    lock = Path(qdrant.location).with_name(f"{Path(qdrant.location).name}.writer.lock")
    outcome: list[Indexed] = []
    with exclusive_file_lock(lock):  # another run's vector step is writing
        before = blocked_flock_waiters()
        run = threading.Thread(target=lambda: outcome.append(index(indexer, "waits", raise_on_error=False)))
        run.start()
        poll_until(lambda: blocked_flock_waiters() > before)  # the vector step now waits on the lock
        assert serves_only_the_first_commit(indexer, "waits")
    run.join()
    [waited] = outcome
    assert not events_of(waited, "STEP_UP_FOR_RETRY")
    assert_complete(waited)


# -- the embedding endpoint misbehaving, then recovering -----------------------------------------------------------


class FlakyEndpoint(FakeOpenAIServer):
    """The OpenAI-compatible fake, which can also hold replies until released (a request that times out)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.hang_request_numbers: set[int] = set()  # 1-based, counting every request the server got
        self.received = 0

    def _next_reply(self, request: RecordedRequest) -> ScriptedReply:
        with self._lock:
            self.received += 1
            hang = self.received in self.hang_request_numbers
        if hang:
            self.release.wait()
        return super()._next_reply(request)


@pytest.fixture
def flaky_endpoint():
    endpoint = FlakyEndpoint()
    endpoint.start()
    yield endpoint
    endpoint.release.set()
    endpoint.stop()


def test_an_embedding_endpoint_answering_429_500_and_timing_out_then_recovering_completes_the_run(
        flaky_endpoint, first_indexed):
    embeddings = EmbeddingResource(provider="openai", model="test-embed", base_url=flaky_endpoint.url,
                                   dimensions=16, timeout_s=0.5, max_retries=5, retry_base_delay_s=0.01)
    indexer = first_indexed("flaky", resource_overrides={"embeddings": embeddings})
    received_before = flaky_endpoint.received
    flaky_endpoint.reply_next("/v1/embeddings", 429, headers={"retry-after-ms": "10"})
    flaky_endpoint.reply_next("/v1/embeddings", 500)
    flaky_endpoint.hang_request_numbers = {received_before + 3}  # the third: no reply in timeout_s

    indexed = index(indexer, "flaky")

    assert not events_of(indexed, "STEP_UP_FOR_RETRY")  # the adapter's own retries absorbed all three
    assert flaky_endpoint.received - received_before == 4  # 429, 500, no reply within timeout_s, then 200
    assert indexed.metadata("vector")["chunks_embedded"] > 0
    assert_complete(indexed)
    assert not serves_only_the_first_commit(indexer, "flaky")
