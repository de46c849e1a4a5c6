"""Enrichment (FULL tier) end to end: function summaries from a local OpenAI-compatible chat server.

The server speaks the OpenAI wire format and is reached through the real `openai` client (it also serves
the embeddings, so the text each chunk embeds can be read off its requests); everything else is real:
git repositories, the metadata store, Tantivy and Qdrant local mode.
"""

from __future__ import annotations

import logging
import re

import pytest
from indexing import Indexer
from test_openai_compatible_adapters import API_KEY, FakeOpenAIServer, chat_model, remote_embedder

from codegraph_assets.config import IndexingConfig
from resources.llm import LLMResource
from resources.metadata_store import MetadataStoreResource

CHAT = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"

# Words that appear in the summaries only, never in the code: a hit on them proves the summary is indexed.
SUMMARIES = {
    "rotate_keys": "Replaces every credential in the vault with a freshly minted secret.",
    "settle": "Totals the outstanding balances across bookkeeping ledgers.",
    "reconcile": "Matches every bank statement line against the general journal entries.",
}
LEDGER = '''def rotate_keys(vault):
    return [key.rotate() for key in vault.keys]


def documented(x):
    """Already says what it does."""
    return x
'''
BOOKS = "def settle(ledgers):\n    return sum(ledger.total for ledger in ledgers)\n"
ENRICHED = {"ops": {op: {"config": {"enrichment": {"enabled": True}}} for op in ("ir", "lexical", "chunk", "vector")}}


def _summary_for(request: dict) -> str:
    prompt = request["messages"][-1]["content"]
    name = re.search(r"def (\w+)", prompt).group(1)
    return f"Summary: {SUMMARIES[name]}\nIgnored second line."


@pytest.fixture
def server():
    fake = FakeOpenAIServer()
    fake.chat_reply = _summary_for
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def indexer(codegraph_home, server) -> Indexer:
    return Indexer(IndexingConfig(), {"llm": chat_model(server), "embeddings": remote_embedder(server)})


def _index(indexer: Indexer, repo: str, run_config: dict | None = ENRICHED, **kwargs):
    return indexer.materialize(repo, "main", run_config=run_config or {}, **kwargs)


def _embedded_texts(server: FakeOpenAIServer) -> list[str]:
    return [text for r in server.requests_to(EMBEDDINGS) for text in r.body["input"]]


def _lexical_paths(indexer: Indexer, query: str, repo: str) -> list[tuple[str, int]]:
    return [(h.path, h.start_line) for h in indexer.search(query, repo, "main", "lexical")]


@pytest.fixture
def ledger(indexer, make_repo):
    repo = make_repo({"vault/ledger.py": LEDGER})
    indexer.register("ledger", str(repo.path), ["main"])
    return repo


def test_a_function_without_docstring_gets_a_summary_that_lexical_search_finds(indexer, server, ledger):
    indexed = _index(indexer, "ledger")
    lexical = indexed.metadata("lexical")
    assert lexical["summaries_generated"] == 1 and lexical["summaries_failed"] == 0
    assert len(server.requests_to(CHAT)) == 1  # `documented` has a docstring: not asked
    hits = indexer.search("freshly minted credential", "ledger", "main", "lexical")
    assert (hits[0].path, hits[0].start_line) == ("vault/ledger.py", 1)
    assert "def rotate_keys" in hits[0].snippet and "minted" not in hits[0].snippet  # the snippet stays the source


def test_the_summary_is_embedded_with_the_chunks_of_its_function(indexer, server, ledger):
    indexed = _index(indexer, "ledger")
    assert indexed.metadata("vector")["chunks_summarized"] >= 1
    summarized = [t for t in _embedded_texts(server) if "def rotate_keys" in t]
    assert summarized and all(t.startswith(f"Summary: {SUMMARIES['rotate_keys']}\n") for t in summarized)
    assert len(summarized[0].split("Summary:")) == 2  # `documented` has its docstring: no summary of its own


def test_chunks_leave_room_in_the_window_for_the_summary_so_no_code_is_cut(indexer, server, make_repo):
    # Long enough for several full chunks: without the reserve, summary + chunk would overflow the window.
    body = "".join(f"    total_{i} = statement.lines[{i}].amount - journal.entries[{i}].amount\n" for i in range(60))
    repo = make_repo({"books/reconcile.py": f"def reconcile(statement, journal):\n{body}    return True\n"})
    indexer.register("books", str(repo.path), ["main"])
    indexed = _index(indexer, "books")
    assert indexed.metadata("vector")["chunks_summarized"] >= 2
    texts = [t for t in _embedded_texts(server) if "total_" in t]
    window_chars = 256 * IndexingConfig().chunking.chars_per_token  # the estimated window of a remote model
    assert len(texts) >= 2 and all(len(t) <= window_chars for t in texts)
    assert all(t.startswith(f"Summary: {SUMMARIES['reconcile']}\n") for t in texts)
    assert max(len(t) for t in texts) > window_chars * 0.6  # the chunks are full ones, not tiny pieces


def test_a_second_run_and_another_repository_with_the_same_function_make_no_llm_request(indexer, server, ledger,
                                                                                        make_repo):
    _index(indexer, "ledger")
    asked = len(server.requests_to(CHAT))
    again = _index(indexer, "ledger")
    assert len(server.requests_to(CHAT)) == asked
    assert again.metadata("vector")["chunks_embedded"] == 0
    copy = make_repo({"elsewhere/keys.py": "import os\n\n\n" + LEDGER}, name="copy")
    indexer.register("copy", str(copy.path), ["main"])
    other = _index(indexer, "copy")
    assert len(server.requests_to(CHAT)) == asked
    assert other.metadata("lexical")["summaries_cached"] == 1
    assert ("elsewhere/keys.py", 4) in _lexical_paths(indexer, "freshly minted credential", "copy")


def test_server_errors_are_retried_and_then_summarized(indexer, server, ledger):
    server.reply_next(CHAT, 500)
    server.reply_next(CHAT, 503)
    indexed = _index(indexer, "ledger")
    assert indexed.metadata("lexical")["summaries_generated"] == 1
    assert indexed.metadata("lexical")["summaries_failed"] == 0
    assert len(server.requests_to(CHAT)) == 3


def test_a_refused_key_indexes_without_summary_warns_once_and_the_next_run_fills_it_in(indexer, server, make_repo,
                                                                                        caplog):
    repo = make_repo({"vault/ledger.py": LEDGER, "books.py": BOOKS})
    indexer.register("ledger", str(repo.path), ["main"])
    server.reply_always(CHAT, 401)
    with caplog.at_level(logging.WARNING, logger="codegraph_assets.stages.summaries"):
        indexed = _index(indexer, "ledger")
    assert indexed.result.success
    lexical = indexed.metadata("lexical")
    # A 401 stops the run from asking; a function not asked yet waits for the next run.
    assert lexical["summaries_failed"] + lexical["summaries_deferred"] == 2 and lexical["summaries_generated"] == 0
    assert lexical["summaries_failed_by_code"] == {"INVALID_MODEL": lexical["summaries_failed"]}
    assert len(server.requests_to(CHAT)) == lexical["summaries_failed"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "codegraph_assets.stages.summaries"]
    assert len(warnings) == 1 and server.url in warnings[0] and "HTTP 401" in warnings[0]
    assert API_KEY not in caplog.text
    assert _lexical_paths(indexer, "freshly minted credential", "ledger") == []

    server.reply_normally(CHAT)
    again = _index(indexer, "ledger")  # same commit: the files that lacked summaries are indexed again
    assert again.metadata("lexical")["summaries_generated"] == 2
    assert _lexical_paths(indexer, "freshly minted credential", "ledger")[0] == ("vault/ledger.py", 1)
    assert _lexical_paths(indexer, "bookkeeping balances", "ledger")[0] == ("books.py", 1)


@pytest.mark.parametrize("body", [{"unexpected": "shape"}, {"choices": [{"index": 0, "message": {
    "role": "assistant", "content": "  \n"}, "finish_reason": "stop"}]}], ids=["not-a-completion", "empty-text"])
def test_a_malformed_or_empty_reply_is_no_summary_and_a_counted_failure(indexer, server, ledger, body):
    server.reply_always(CHAT, 200, body=body)
    indexed = _index(indexer, "ledger")
    assert indexed.result.success
    assert indexed.metadata("lexical")["summaries_failed"] == 1
    assert indexed.metadata("lexical")["summaries_generated"] == 0
    assert not [t for t in _embedded_texts(server) if "Summary:" in t]


def test_functions_over_the_per_run_cap_are_summarized_by_the_next_run(indexer, server, make_repo):
    repo = make_repo({"vault/ledger.py": LEDGER, "books.py": BOOKS})
    indexer.register("ledger", str(repo.path), ["main"])
    capped = {"ops": {op: {"config": {"enrichment": {"enabled": True, "max_summaries_per_run": 1}}}
                      for op in ("ir", "lexical", "chunk", "vector")}}
    first = _index(indexer, "ledger", run_config=capped).metadata("lexical")
    assert (first["summaries_generated"], first["summaries_deferred"]) == (1, 1)
    second = _index(indexer, "ledger", run_config=capped)  # same commit: only the file still waiting is re-indexed
    lexical = second.metadata("lexical")
    assert (lexical["summaries_generated"], lexical["summaries_deferred"], lexical["documents_added"]) == (1, 0, 1)
    assert len(server.requests_to(CHAT)) == 2
    assert _lexical_paths(indexer, "freshly minted credential", "ledger")[0] == ("vault/ledger.py", 1)
    assert _lexical_paths(indexer, "bookkeeping balances", "ledger")[0] == ("books.py", 1)
    assert second.metadata("vector")["chunks_summarized"] == 2
    third = _index(indexer, "ledger", run_config=capped).metadata("lexical")
    assert third["documents_added"] == 0 and len(server.requests_to(CHAT)) == 2


def test_a_run_with_summaries_still_to_ask_for_leaves_no_up_to_date_stamp(indexer, server, make_repo):
    """`codegraph index` would otherwise answer "up to date" and never ask for the deferred summaries."""
    import dagster as dg

    from codegraph_assets.cli.up_to_date import stamp_after_run
    from resources.git import parse_location

    repo = make_repo({"vault/ledger.py": LEDGER, "books.py": BOOKS})
    indexer.register("ledger", str(repo.path), ["main"])
    capped = {"ops": {op: {"config": {"enrichment": {"enabled": True, "max_summaries_per_run": 1}}}
                      for op in ("ir", "lexical", "chunk", "vector")}}
    config = IndexingConfig.model_validate({"enrichment": {"enabled": True, "max_summaries_per_run": 1}})

    def stamp():
        with dg.build_resources(indexer.resources) as r:
            return stamp_after_run(r.metadata.open(), config, "ledger", parse_location(str(repo.path)), "main",
                                   repo.git("rev-parse", "HEAD"), r.tantivy.manifest_dir, "fingerprint")

    assert _index(indexer, "ledger", run_config=capped).metadata("lexical")["summaries_deferred"] == 1
    assert stamp() is None
    assert _index(indexer, "ledger", run_config=capped).metadata("lexical")["summaries_deferred"] == 0
    assert stamp() is not None


@pytest.mark.postgres
def test_summaries_with_the_postgres_metadata_store(codegraph_home, server, make_repo, postgres_database):
    store = MetadataStoreResource(backend="postgres", postgres_dsn=postgres_database)
    indexer = Indexer(IndexingConfig(), {"llm": chat_model(server), "embeddings": remote_embedder(server),
                                         "metadata": store})
    try:
        repo = make_repo({"vault/ledger.py": LEDGER})
        indexer.register("pg-ledger", str(repo.path), ["main"])
        assert _index(indexer, "pg-ledger").metadata("lexical")["summaries_generated"] == 1
        assert _lexical_paths(indexer, "freshly minted credential", "pg-ledger")[0] == ("vault/ledger.py", 1)
        assert _index(indexer, "pg-ledger").result.success and len(server.requests_to(CHAT)) == 1
    finally:
        from resources.metadata_store.tables import metadata

        metadata.drop_all(store.open().engine)  # the session database is shared: leave it empty
        with store.open().engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        store.close()


def test_enrichment_is_off_by_default(indexer, server, ledger):
    indexed = _index(indexer, "ledger", run_config=None)
    assert indexed.result.success and server.requests_to(CHAT) == []
    assert "summaries_generated" not in indexed.metadata("lexical")


def test_turning_enrichment_on_and_off_at_the_same_commit_never_serves_stale_units(indexer, server, ledger):
    _index(indexer, "ledger", run_config=None)
    assert _lexical_paths(indexer, "freshly minted credential", "ledger") == []
    on = _index(indexer, "ledger")
    assert on.metadata("lexical")["summaries_generated"] == 1
    vector = on.metadata("vector")
    assert vector["chunks_embedded"] >= 1  # the summarized chunks are new texts
    assert vector["points_total"] == vector["chunks_total"]  # their points replaced the plain ones
    assert _lexical_paths(indexer, "freshly minted credential", "ledger")[0] == ("vault/ledger.py", 1)
    off = _index(indexer, "ledger", run_config=None)
    assert off.metadata("vector")["points_total"] == off.metadata("vector")["chunks_total"]
    assert _lexical_paths(indexer, "freshly minted credential", "ledger") == []


def test_enabled_without_an_llm_endpoint_fails_naming_the_setting_and_the_fix(codegraph_home, server, make_repo):
    indexer = Indexer(IndexingConfig(), {"llm": LLMResource(), "embeddings": remote_embedder(server)})
    repo = make_repo({"vault/ledger.py": LEDGER})
    indexer.register("ledger", str(repo.path), ["main"])
    failed = _index(indexer, "ledger", raise_on_error=False)
    assert not failed.result.success
    failure = next(e for e in failed.result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.error.message
    assert "PERMANENT INVALID_PAYLOAD" in message and "enrichment.enabled" in message
    assert "CODEGRAPH_LLM_BASE_URL" in message and "Fix:" in message


def test_hits_in_a_summarized_function_carry_its_summary_in_every_mode(indexer, server, make_repo):
    # reconcile is long enough to be cut into chunks of its own; ledger.py is one chunk of two functions.
    body = "".join(f"    total_{i} = statement.lines[{i}].amount - journal.entries[{i}].amount\n" for i in range(60))
    repo = make_repo({"vault/ledger.py": LEDGER, "books/reconcile.py": f"def reconcile(statement, journal):\n{body}"})
    indexer.register("books", str(repo.path), ["main"])
    _index(indexer, "books")
    lexical = {h.symbol: h.summary for h in indexer.search("rotate keys documented", "books", "main", "lexical")}
    assert lexical == {"vault/ledger.py/rotate_keys().": SUMMARIES["rotate_keys"],
                       "vault/ledger.py/documented().": ""}  # it has a docstring: no summary
    for mode in ("vector", "hybrid"):
        hits = indexer.search("statement lines journal entries amount", "books", "main", mode, limit=10)
        in_reconcile = [h for h in hits if h.symbol == "books/reconcile.py/reconcile()."]
        assert in_reconcile and all(h.summary == SUMMARIES["reconcile"] for h in in_reconcile), mode
        assert all(h.summary == "" for h in hits if h.symbol is None), mode  # e.g. the chunk of both ledger functions
    _index(indexer, "books", run_config=None)  # enrichment off: the index now served has no summaries
    for mode in ("lexical", "vector", "hybrid"):
        assert all(h.summary == "" for h in indexer.search("rotate keys journal", "books", "main", mode, limit=10))
