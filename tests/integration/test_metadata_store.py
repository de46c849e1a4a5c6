"""The metadata store's contract, run on SQLite and on the real PostgreSQL at 127.0.0.1:5432."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sqlalchemy import inspect

from codegraph_assets.core.chunking import ChunkRecord
from codegraph_assets.core.ir_model import DocumentIR, Occurrence, Span, Symbol, SymbolRole
from codegraph_assets.core.source import ManifestEntry
from codegraph_assets.errors import CodegraphError, ErrorCategory, ErrorCode
from resources.metadata_store import MetadataStoreResource


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_resource(request, tmp_path):
    if request.param == "sqlite":
        resource = MetadataStoreResource(backend="sqlite", sqlite_path=str(tmp_path / "meta.db"))
    else:
        resource = MetadataStoreResource(backend="postgres", postgres_dsn=request.getfixturevalue("postgres_database"))
    yield resource
    store = resource.open()
    if store.engine.dialect.name == "postgresql":  # the session database is shared: leave it empty
        from resources.metadata_store.tables import metadata

        metadata.drop_all(store.engine)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    resource.close()


@pytest.fixture
def store(store_resource):
    return store_resource.open()


def _document() -> DocumentIR:
    span = Span(3, 4, 3, 9)
    symbol = Symbol("Greeter#greet().", "method", "greet", span, Span(3, 0, 5, 20), "Greeter#", "def greet(self)",
                    "Say hello.")
    return DocumentIR("python", [symbol], [Occurrence("Greeter#greet().", span, SymbolRole.DEFINITION)],
                      ["os"], parse_errors=1, line_count=5)


def test_migrations_create_every_table_and_record_the_revision(store):
    tables = set(inspect(store.engine).get_table_names())
    assert {"repos", "manifests", "manifest_entries", "ir_documents", "ir_symbols", "ir_document_graphs",
            "ir_resolutions", "manifest_resolutions", "resolved_manifests",
            "chunks", "chunk_texts", "embeddings", "published_snapshots", "run_commits", "repo_ref_patterns",
            "summaries", "symbol_summaries", "lexical_enrichment", "alembic_version"} <= tables
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0006"


def test_migrating_twice_is_harmless(store):
    store.migrate()
    assert store.list_repos() == []


def test_repos_are_added_listed_updated_and_removed(store):
    store.add_repo("payments", "/srv/payments", "git_local", ["main"])
    record = store.add_repo("payments", "/srv/payments", "git_local", ["v1.0", "main"])
    assert record.refs == ("main", "v1.0")
    assert [r.name for r in store.list_repos()] == ["payments"]
    assert store.remove_repo("payments") is True
    assert store.get_repo("payments") is None
    assert store.remove_repo("payments") is False


def test_manifest_round_trips_and_is_immutable(store):
    entries = [ManifestEntry("a.py", "b" * 40, 10, "python"), ManifestEntry("big.bin", "c" * 40, 9, None, "too_large")]
    store.save_manifest("m1", "repo", "d" * 40, entries)
    store.save_manifest("m1", "repo", "d" * 40, entries[:1])  # same id again: ignored, not duplicated
    assert store.load_manifest("m1") == entries


def test_ir_documents_round_trip_with_symbols_and_occurrences(store):
    assert store.save_documents([("k1", "b" * 40, "parsed", _document())]) == 1
    assert store.load_document("k1") == _document()
    assert store.symbol_names(["k1"]) == {"k1": ["greet"]}
    assert store.document_statuses(["k1", "missing"]) == {"k1": ("parsed", 1)}


def test_saving_the_same_document_twice_keeps_one_copy(store):
    store.save_documents([("k1", "b" * 40, "parsed", _document())])
    assert store.save_documents([("k1", "b" * 40, "parsed", _document())]) == 0
    assert len(store.load_document("k1").symbols) == 1


def test_concurrent_writers_of_the_same_blob_store_it_once(store):
    errors = []

    def write():
        try:
            store.save_documents([("shared", "e" * 40, "parsed", _document())])
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.load_document("shared").symbols) == 1


def test_chunk_sets_and_snapshot_chunks(store):
    record = ChunkRecord(1, 4, "f().", "function", "def f(): ...", "python function f()\ndef f(): ...", "h1")
    assert store.save_chunk_set("set1", "b" * 40, [record]) is True
    assert store.save_chunk_set("set1", "b" * 40, [record]) is False
    entries = [ManifestEntry("a.py", "b" * 40, 10, "python"), ManifestEntry("copy.py", "b" * 40, 10, "python")]
    chunks = list(store.snapshot_chunks(entries, {"b" * 40: "set1"}))
    assert [(c.path, c.chunk) for c in chunks] == [("a.py", record), ("copy.py", record)]
    assert store.chunk_texts(["h1"]) == {"h1": "def f(): ..."}


def test_embeddings_are_cached_per_model_and_chunk_hash(store):
    vector = np.arange(4, dtype=np.float32)
    store.save_embeddings("model-a", {"h1": vector})
    store.save_embeddings("model-a", {"h1": vector + 1})  # first write wins: a chunk hash has one embedding
    np.testing.assert_array_equal(store.cached_embeddings("model-a", ["h1", "h2"])["h1"], vector)
    assert store.cached_embeddings("model-b", ["h1"]) == {}


def test_publish_moves_the_head_of_a_stage(store):
    store.publish("repo", "main", "vector", "c1", "m1")
    store.publish("repo", "main", "vector", "c2", "m2")
    head = store.published("repo", "main", "vector")
    assert (head.commit, head.manifest_id) == ("c2", "m2")
    assert store.published("repo", "main", "lexical") is None


def test_the_serving_head_moves_only_when_every_stage_published_one_manifest(store):
    for stage in ("ir", "lexical", "chunk"):
        assert store.publish("repo", "main", stage, "c1", "m1") is False
        assert store.serving("repo", "main") is None
    assert store.publish("repo", "main", "vector", "c1", "m1") is True
    assert (store.serving("repo", "main").commit, store.serving("repo", "main").manifest_id) == ("c1", "m1")
    # The next commit: readers keep the complete c1 while some stages are already on c2.
    for stage in ("lexical", "ir", "chunk"):
        store.publish("repo", "main", stage, "c2", "m2")
        assert store.serving("repo", "main").manifest_id == "m1"
    store.publish("repo", "main", "vector", "c2", "m2")
    assert store.serving("repo", "main").manifest_id == "m2"
    assert store.serving("repo", "other") is None
    assert {(h.stage, h.manifest_id) for h in store.published_heads()} == {
        ("ir", "m2"), ("lexical", "m2"), ("chunk", "m2"), ("vector", "m2"), ("serving", "m2")}


def test_an_unreachable_database_is_an_infrastructure_error_without_the_password():
    resource = MetadataStoreResource(backend="postgres",
                                     postgres_dsn="postgresql://codegraph:s3cret-pw@127.0.0.1:1/none")
    with pytest.raises(CodegraphError) as raised:
        resource.open()
    assert raised.value.code is ErrorCode.DB_ERROR
    assert raised.value.category is ErrorCategory.INFRASTRUCTURE
    assert "s3cret-pw" not in str(raised.value)
    assert "127.0.0.1:1" in str(raised.value)


def test_auto_backend_picks_postgres_only_when_a_dsn_is_configured(tmp_path):
    assert MetadataStoreResource(sqlite_path=str(tmp_path / "m.db")).url().startswith("sqlite:")
    assert MetadataStoreResource(postgres_dsn="postgresql://u@h/db").url().startswith("postgresql+psycopg://")


def test_the_first_pin_of_a_runs_commit_wins(store):
    assert store.pin_run_commit("run-1", "repo", "main", "a" * 40) == "a" * 40
    assert store.pin_run_commit("run-1", "repo", "main", "b" * 40) == "a" * 40  # the branch moved meanwhile
    assert store.pin_run_commit("run-2", "repo", "main", "b" * 40) == "b" * 40


def test_a_database_at_the_first_revision_upgrades_in_place(tmp_path):
    from alembic import command
    from alembic.config import Config

    from resources.metadata_store.store import _MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0001")  # a store created by the first release
    resource = MetadataStoreResource(backend="sqlite", sqlite_path=str(tmp_path / "old.db"))
    store = resource.open()
    assert {"run_commits", "repo_ref_patterns"} <= set(inspect(store.engine).get_table_names())
    resource.close()


def test_ref_patterns_and_pattern_tracked_refs_belong_to_their_repository(store):
    store.add_repo("payments", "/srv/payments", "git_local", ["main"])
    store.add_ref_patterns("payments", ["release/*", "v*"])
    store.add_ref_patterns("payments", ["v*"])
    assert store.ref_patterns() == {"payments": ("release/*", "v*")}
    assert store.track_refs("payments", ["main", "release/1.0"]) == ["release/1.0"]
    assert store.get_repo("payments").refs == ("main", "release/1.0")
    store.remove_ref_patterns("payments")
    assert store.ref_patterns() == {}


def test_garbage_collection_keeps_what_published_manifests_reach(store):
    from datetime import datetime, timedelta, timezone

    live, dead = "a" * 40, "b" * 40
    store.save_manifest("published", "repo", "c1", [ManifestEntry("x.py", live, 1, "python")])
    store.save_manifest("superseded", "repo", "c0", [ManifestEntry("x.py", dead, 1, "python")])
    store.publish("repo", "main", "vector", "c1", "published")
    for blob in (live, dead):
        store.save_documents([(f"k-{blob}", blob, "parsed", _document())])
        record = ChunkRecord(1, 2, None, "module", blob, blob, f"h-{blob}")
        store.save_chunk_set(f"s-{blob}", blob, [record])
        store.save_embeddings("m", {f"h-{blob}": np.zeros(2, dtype=np.float32)})
    removed = store.collect_garbage(datetime.now(timezone.utc) + timedelta(minutes=1))
    assert (removed["manifests"], removed["ir_documents"], removed["chunk_sets"], removed["embeddings"]) == (1, 1, 1, 1)
    assert store.load_document(f"k-{live}") is not None and store.load_document(f"k-{dead}") is None
    assert list(store.cached_embeddings("m", [f"h-{live}", f"h-{dead}"])) == [f"h-{live}"]
    assert store.use_manifest("published") and not store.use_manifest("superseded")


def test_summaries_are_stored_once_by_key_and_found_per_function(store):
    store.save_summaries({"s1": "Greets the user."})
    store.save_summaries({"s1": "A later, different reply.", "s2": "Waves."})  # the first stored one stays
    assert store.cached_summaries(["s1", "s2", "missing"]) == {"s1": "Greets the user.", "s2": "Waves."}
    store.save_symbol_summaries("summary.v1:m", [("k1", "Greeter#greet().", "s1"), ("k1", "wave().", "s2")])
    store.save_symbol_summaries("summary.v1:m", [("k1", "Greeter#greet().", "s1")])
    assert store.symbol_summaries("summary.v1:m", ["k1", "k2"]) == {
        ("k1", "Greeter#greet()."): "Greets the user.", ("k1", "wave()."): "Waves."}
    assert store.symbol_summaries("summary.v1:other-model", ["k1"]) == {}


def test_the_lexical_enrichment_of_a_manifest_is_replaced_and_pruned(store):
    from resources.metadata_store.summary_queries import LexicalEnrichment

    store.record_lexical_enrichment("repo", "main", "m1", LexicalEnrichment("summary.v1:m", ("b.py", "a.py")))
    assert store.lexical_enrichment("repo", "main", "m1") == LexicalEnrichment("summary.v1:m", ("a.py", "b.py"))
    store.record_lexical_enrichment("repo", "main", "m1", LexicalEnrichment("summary.v1:m", ()))
    store.record_lexical_enrichment("repo", "main", "m2", None)
    assert store.lexical_enrichment("repo", "main", "m1") == LexicalEnrichment("summary.v1:m", ())
    assert store.lexical_enrichment("repo", "main", "m2") is None
    store.retain_lexical_enrichment("repo", "main", {"m2"})
    assert store.lexical_enrichment("repo", "main", "m1") is None


def test_garbage_collection_drops_the_summaries_of_documents_it_removes(store):
    from datetime import datetime, timedelta, timezone

    live, dead = "a" * 40, "b" * 40
    store.save_manifest("published", "repo", "c1", [ManifestEntry("x.py", live, 1, "python")])
    store.publish("repo", "main", "vector", "c1", "published")
    for blob in (live, dead):
        store.save_documents([(f"k-{blob}", blob, "parsed", _document())])
        store.save_summaries({f"s-{blob}": "Greets."})
        store.save_symbol_summaries("t", [(f"k-{blob}", "Greeter#greet().", f"s-{blob}")])
    removed = store.collect_garbage(datetime.now(timezone.utc) + timedelta(minutes=1))
    assert (removed["symbol_summaries"], removed["summaries"]) == (1, 1)
    assert list(store.symbol_summaries("t", [f"k-{live}", f"k-{dead}"])) == [(f"k-{live}", "Greeter#greet().")]


def test_garbage_collection_keeps_a_summarized_vector_exactly_as_long_as_its_chunk(store):
    from datetime import datetime, timedelta, timezone

    live, dead = "a" * 40, "b" * 40
    store.save_manifest("published", "repo", "c1", [ManifestEntry("x.py", live, 1, "python")])
    store.publish("repo", "main", "vector", "c1", "published")
    for blob in (live, dead):
        store.save_chunk_set(f"s-{blob}", blob, [ChunkRecord(1, 2, None, "module", blob, blob, f"h-{blob}")])
        store.save_summarized_chunks({f"e-{blob}": f"h-{blob}"})
        store.save_embeddings("m", {f"e-{blob}": np.zeros(2, dtype=np.float32)})
    removed = store.collect_garbage(datetime.now(timezone.utc) + timedelta(minutes=1))
    assert (removed["summarized_chunks"], removed["embeddings"]) == (1, 1)
    assert list(store.cached_embeddings("m", [f"e-{live}", f"e-{dead}"])) == [f"e-{live}"]
