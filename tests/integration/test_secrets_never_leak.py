"""The embedding API key and the database password reach their servers and nothing else a run leaves.

A real indexing run through Dagster, with embeddings from a local OpenAI-compatible server that demands
`Authorization: Bearer <key>` and the metadata store on PostgreSQL behind a DSN with a password (the test
server trusts every client, so any password connects). Then every trace of the run is searched for both:
event log entries, run tags and config, materialization metadata, every file of the Dagster instance
(compute logs, run storage, job snapshots) and of CODEGRAPH_HOME, Python log records, the process's
output, and every row of every table of the metadata store.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dagster as dg
import pytest
from conftest import fresh_postgres_database
from indexing import Indexer
from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.engine import make_url
from test_openai_compatible_adapters import FakeOpenAIServer, RecordedRequest, ScriptedReply

from codegraph_assets.errors import ErrorCategory, ErrorCode

FILES = {"billing/invoice.py": "def total_due(invoice):\n    return sum(line.amount for line in invoice.lines)\n",
         "README.md": "# billing\n\nInvoices and their totals.\n"}


class KeyCheckingServer(FakeOpenAIServer):
    """Answers only requests that carry the expected bearer key; a refusal quotes the key it was sent,
    as OpenAI's own 401 does."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def _next_reply(self, request: RecordedRequest) -> ScriptedReply:
        presented = request.headers.get("authorization", "")
        if presented != f"Bearer {self.key}":
            with self._lock:
                self.requests.append(request)
            return ScriptedReply(401, body=refusal(presented))
        return super()._next_reply(request)


def refusal(presented: str) -> dict:
    return {"error": {"message": f"Incorrect API key provided: {presented}", "type": "invalid_request_error",
                      "code": "invalid_api_key"}}


@pytest.fixture
def secrets_in_env(codegraph_home, monkeypatch):
    """A random API key and database password, wired the way production wires them: environment only."""
    key, password = f"sk-{secrets.token_hex(16)}", f"pw{secrets.token_hex(12)}"
    server = KeyCheckingServer(key)
    server.start()
    with fresh_postgres_database("codegraph_secrets") as admin_url:
        dsn = make_url(admin_url).set(drivername="postgresql", password=password)
        monkeypatch.setenv("CODEGRAPH_POSTGRES_DSN", dsn.render_as_string(hide_password=False))
        monkeypatch.setenv("CODEGRAPH_EMBEDDING_PROVIDER", "openai")
        monkeypatch.setenv("CODEGRAPH_EMBEDDING_MODEL", "test-embed")
        monkeypatch.setenv("CODEGRAPH_EMBEDDING_BASE_URL", server.url)
        monkeypatch.setenv("CODEGRAPH_EMBEDDING_API_KEY", key)
        monkeypatch.setenv("CODEGRAPH_EMBEDDING_DIMENSIONS", "16")
        try:
            yield server, (key, password), admin_url
        finally:
            server.stop()


def indexer_on_disk(tmp_path: Path) -> Indexer:
    """An Indexer whose Dagster instance keeps everything on disk, so its files can be searched."""
    indexer = Indexer()
    (tmp_path / "instance").mkdir()
    indexer.instance = dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "instance"))
    return indexer


def traces_of_runs(indexer: Indexer) -> list[str]:
    """Every record the Dagster instance holds about every run, as text."""
    texts = []
    for run in indexer.instance.get_runs():
        texts += [repr(run.tags), repr(run.run_config), dg.serialize_value(run)]
        for entry in indexer.instance.all_logs(run.run_id):
            texts += [entry.user_message, entry.message, dg.serialize_value(entry)]
    return texts


def files_under(*roots: Path) -> list[tuple[Path, bytes]]:
    return [(path, path.read_bytes()) for root in roots for path in root.rglob("*") if path.is_file()]


def metadata_store_rows(admin_url: str) -> list[str]:
    engine = create_engine(admin_url)
    try:
        schema = MetaData()
        schema.reflect(engine)
        with engine.connect() as conn:
            return [repr(tuple(row)) for table in schema.sorted_tables for row in conn.execute(select(table))]
    finally:
        engine.dispose()


def assert_nowhere(secret_values: tuple[str, ...], texts: list[str], files: list[tuple[Path, bytes]]) -> None:
    for secret in secret_values:
        assert not [text for text in texts if secret in text]
        assert not [path for path, content in files if secret.encode() in content]


def billing_indexer(make_repo, tmp_path: Path) -> Indexer:
    """A registered repository of FILES, indexed into an instance kept on disk under tmp_path."""
    indexer = indexer_on_disk(tmp_path)
    indexer.register("billing", str(make_repo(FILES).path), ["main"])
    return indexer


def test_an_indexing_run_leaves_the_api_key_and_the_database_password_nowhere(
        secrets_in_env, codegraph_home, make_repo, tmp_path, caplog, capfd):
    server, secret_values, admin_url = secrets_in_env
    key, _ = secret_values
    indexer = billing_indexer(make_repo, tmp_path)

    indexed = indexer.materialize("billing", "main")

    assert indexed.metadata("vector")["chunks_embedded"] > 0
    assert {r.headers["authorization"] for r in server.requests_to("/v1/embeddings")} == {f"Bearer {key}"}
    texts = traces_of_runs(indexer) + metadata_store_rows(admin_url)
    texts += [repr(m) for m in map(indexed.metadata, ("ir", "lexical", "chunk", "vector"))]
    texts += [r.getMessage() for r in caplog.records] + list(capfd.readouterr())
    assert any("billing/invoice.py" in text for text in texts)  # the search did look at real content
    assert_nowhere(secret_values, texts, files_under(tmp_path / "instance", codegraph_home))


def test_a_refused_api_key_is_permanent_invalid_model_naming_the_endpoint_but_not_the_key(
        secrets_in_env, codegraph_home, make_repo, tmp_path, caplog, capfd):
    server, secret_values, admin_url = secrets_in_env
    key, _ = secret_values
    indexer = billing_indexer(make_repo, tmp_path)
    server.reply_next("/v1/embeddings", 401, body=refusal(f"Bearer {key}"))  # the server echoes the key back

    failed = indexer.materialize("billing", "main", raise_on_error=False)

    events = failed.result.all_events
    assert not [e for e in events if e.event_type_value == "STEP_UP_FOR_RETRY"]  # a wrong key stays wrong
    assert len(server.requests_to("/v1/embeddings")) == 1
    failure = next(e for e in events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "vector"
    message = failure.event_specific_data.error.message
    assert f"{ErrorCategory.PERMANENT.value} {ErrorCode.INVALID_MODEL.value}" in message
    assert "HTTP 401" in message and server.url in message
    assert failure.event_specific_data.user_failure_data.metadata["error_code"].value == "INVALID_MODEL"
    texts = traces_of_runs(indexer) + metadata_store_rows(admin_url)
    texts += [r.getMessage() for r in caplog.records] + list(capfd.readouterr())
    assert any("HTTP 401" in text for text in texts)
    assert_nowhere(secret_values, texts, files_under(tmp_path / "instance", codegraph_home))
