"""Vector search from memory (serving/vector_matrix.py) on a real Qdrant local store and the packaged model."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import dagster as dg
import pytest
import torch
from indexing import Indexer

from codegraph_assets.api import CodeGraph
from codegraph_assets.assets import ALL_ASSETS
from codegraph_assets.partitions import partition_key
from codegraph_assets.search import CodeSearch
from codegraph_assets.serving.vector_matrix import PartitionVectors
from tests.conftest import GitRepo

QUERIES = ("retry a failed network request", "parse a configuration file", "compute a checksum of bytes",
           "sort records by date", "open a database connection", "render an html template")
TOPICS = ("retry_request", "parse_config", "checksum_bytes", "sort_by_date", "open_connection", "render_template",
          "send_email", "resize_image", "tokenize_text", "merge_dicts", "read_csv_rows", "hash_password")


def _module(topic: str, variant: int) -> str:
    """A small distinct module: every chunk differs, so no two points tie on score."""
    words = topic.replace("_", " ")
    return (f'"""Helpers to {words} (variant {variant})."""\n\n\n'
            f"def {topic}_{variant}(value, attempts={variant + 2}):\n"
            f'    """{words.capitalize()} for the value, trying {variant + 2} times."""\n'
            f"    result = value\n    for attempt in range(attempts):\n"
            f"        result = f'{{result}}-{topic}-{{attempt}}'\n    return result\n")


def _files(variants: range) -> dict[str, str]:
    return {f"pkg/{topic}_{variant}.py": _module(topic, variant) for topic in TOPICS for variant in variants}


# Long enough that its lexical units get a best-window snippet (lexical.snippet_max_lines).
GLOSSARY = ("class Glossary:\n    \"\"\"Terms of the quuxplorer protocol.\"\"\"\n\n"
            + "".join(f"    def term_{n}(self):\n        return 'quuxplorer term {n}'\n\n" for n in range(30)))


@pytest.fixture
def two_partitions(codegraph_home, make_repo):
    """Two repositories' points in one collection, so the partition filter has points to reject."""
    indexer = Indexer()
    for name, variants in (("alpha", range(0, 3)), ("beta", range(3, 5))):
        repo = make_repo(_files(variants) | {"pkg/glossary.py": GLOSSARY}, name=name)
        indexer.register(name, str(repo.path), ["main"])
        assert indexer.materialize(name, "main").result.success
    return indexer


def _key(match) -> tuple:
    return match.payload["path"], match.payload["start_line"], match.payload["chunk_hash"]


def test_in_memory_vector_search_returns_what_qdrant_filtered_search_returns(two_partitions):
    with dg.build_resources(two_partitions.resources) as r:
        store = r.metadata.open()
        collection = r.qdrant.collection_name(r.embeddings.model_id())
        head = store.serving("alpha", "main")
        serving = {e.path: e.blob_sha for e in store.load_manifest(head.manifest_id) if e.indexed}
        vectors = PartitionVectors.load(r.qdrant, collection, "alpha", "main", head.manifest_id, serving)
        assert len(vectors) == r.qdrant.count(collection, "alpha", "main") > 0
        assert len({m["chunk_hash"] for m in vectors.payloads}) == len(vectors)  # distinct texts: no ties
        for query in QUERIES:
            embedded = r.embeddings.embed_query(query)
            for limit in (1, 5, len(vectors) + 3):
                ours = vectors.search(embedded, limit)
                qdrants = r.qdrant.search(collection, embedded, "alpha", "main", limit)
                assert [_key(m) for m in ours] == [_key(m) for m in qdrants], (query, limit)
                assert [m.payload for m in ours] == [m.payload for m in qdrants]
                assert [m.score for m in ours] == pytest.approx([m.score for m in qdrants], abs=1e-6)

        # And through CodeSearch: every mode answers the same hits either way.
        config = two_partitions.config
        from_qdrant = CodeSearch(store, r.tantivy, r.qdrant, r.embeddings, config)
        from_memory = CodeSearch(store, r.tantivy, r.qdrant, r.embeddings, config, vectors_in_memory=True)
        for query in QUERIES + ("checksum path:pkg/checksum_bytes_1.py",):
            for mode in ("vector", "hybrid"):
                expected = from_qdrant.search(query, repo="alpha", snapshot="main", mode=mode, limit=8)
                got = from_memory.search(query, repo="alpha", snapshot="main", mode=mode, limit=8)
                # The same hits in the same order; scores as float noise allows (both are rounded to 6 places,
                # and the two dot products can land on either side of a rounding boundary).
                assert [replace(hit, score=0.0) for hit in got] == [replace(hit, score=0.0) for hit in expected]
                assert [hit.score for hit in got] == pytest.approx([hit.score for hit in expected], abs=2e-6)


def test_a_hybrid_hit_has_the_snippet_its_own_ranking_gives_its_range(two_partitions):
    """Lexical candidates are fused without snippets; the shown ones get theirs afterwards."""
    multiplier = two_partitions.config.search.candidate_multiplier
    with dg.build_resources(two_partitions.resources) as r:
        # Without the glossary's points only the lexical side finds it: its hits are shown as lexical units.
        collection = r.qdrant.collection_name(r.embeddings.model_id())
        r.qdrant.delete(collection, [point for point, (path, _) in
                                     r.qdrant.point_files(collection, "alpha", "main").items()
                                     if path == "pkg/glossary.py"])
        search = CodeSearch(r.metadata.open(), r.tantivy, r.qdrant, r.embeddings, two_partitions.config,
                            vectors_in_memory=True)

        def by_range(query: str, mode: str, limit: int) -> dict:
            hits = search.search(query, repo="alpha", snapshot="main", mode=mode, limit=limit)
            return {(h.path, h.start_line, h.end_line): h for h in hits}

        shown_from_lexical = 0
        for query in QUERIES + ("quuxplorer protocol terms", "quuxplorer"):
            for limit in (1, 2, 8):
                lexical, vector = by_range(query, "lexical", limit * multiplier), by_range(query, "vector",
                                                                                            limit * multiplier)
                for hit in search.search(query, repo="alpha", snapshot="main", mode="hybrid", limit=limit):
                    key = (hit.path, hit.start_line, hit.end_line)
                    own = vector.get(key) or lexical[key]
                    shown_from_lexical += key not in vector
                    assert hit.snippet
                    assert (hit.snippet, hit.snippet_start_line) == (own.snippet, own.snippet_start_line)
        assert shown_from_lexical  # the deferred path ran


def test_the_matrix_holds_the_serving_snapshot_only_and_reloads_when_a_new_one_is_published(codegraph_home,
                                                                                            make_repo):
    repo = make_repo(_files(range(0, 2)), name="gamma")
    indexer = Indexer()
    indexer.register("gamma", str(repo.path), ["main"])
    assert indexer.materialize("gamma", "main").result.success
    repo.git("rm", "-q", "pkg/render_template_0.py")
    repo.commit({"pkg/invoices.py": "def reconcile_unpaid_invoices(ledger):\n"
                                    "    \"\"\"Match unpaid invoices against bank statement lines.\"\"\"\n"
                                    "    return [line for line in ledger if line.unpaid]\n"}, "invoices")
    with dg.build_resources(indexer.resources) as r:
        store = r.metadata.open()
        search = CodeSearch(store, r.tantivy, r.qdrant, r.embeddings, indexer.config, vectors_in_memory=True)
        first_head = store.serving("gamma", "main").manifest_id

        def paths(query: str) -> set[str]:
            return {h.path for h in search.search(query, repo="gamma", snapshot="main", mode="vector", limit=30)}

        assert "pkg/render_template_0.py" in paths("render an html template")
        # The new commit's points are written, but its lexical stage has not published: it is not served.
        r.qdrant.close()  # the vector step opens the local store itself
        partial = dg.materialize(ALL_ASSETS, selection=["ir", "chunk", "vector"], instance=indexer.instance,
                                 partition_key=partition_key("gamma", "main"), resources=indexer.resources)
        assert partial.success
        assert store.serving("gamma", "main").manifest_id == first_head
        collection = search.qdrant.collection_name(r.embeddings.model_id())
        written = {path for path, _ in r.qdrant.point_files(collection, "gamma", "main").values()}
        assert "pkg/invoices.py" in written  # in the store, not yet served
        found = paths("reconcile unpaid invoices with the bank statement")
        assert "pkg/invoices.py" not in found and "pkg/render_template_0.py" in paths("render an html template")
        assert search.vector_cache.loaded()[(collection, "gamma", "main")].manifest_id == first_head

        r.qdrant.close()
        assert indexer.materialize("gamma", "main").result.success  # every stage: the head moves
        new_head = store.serving("gamma", "main").manifest_id
        assert new_head != first_head
        assert "pkg/invoices.py" in paths("reconcile unpaid invoices with the bank statement")
        assert "pkg/render_template_0.py" not in paths("render an html template")
        (loaded,) = search.vector_cache.loaded().values()
        assert loaded.manifest_id == new_head


def test_a_served_graph_answers_vector_queries_from_the_new_snapshot_once_it_is_published(codegraph_home,
                                                                                           make_repo):
    repo = make_repo(_files(range(0, 1)), name="delta")
    indexer = Indexer()
    indexer.register("delta", str(repo.path), ["main"])
    assert indexer.materialize("delta", "main").result.success
    with CodeGraph() as graph:
        before = graph.search("summarize quarterly revenue by region", mode="vector", limit=5)
        assert all(hit.path != "pkg/revenue.py" for hit in before)
        repo.commit({"pkg/revenue.py": "def summarize_quarterly_revenue(sales):\n"
                                       "    \"\"\"Total the quarter's revenue per sales region.\"\"\"\n"
                                       "    return {region: sum(v) for region, v in sales.items()}\n"}, "revenue")
        assert indexer.materialize("delta", "main").result.success
        after = graph.search("summarize quarterly revenue by region", mode="vector", limit=5)
        assert after[0].path == "pkg/revenue.py"


def test_a_head_moving_in_one_partition_keeps_the_other_partitions_matrix(two_partitions):
    with CodeGraph() as graph:
        assert graph.search("retry a failed network request", repo="alpha", snapshot="main", mode="vector")
        graph.search("compute a checksum of bytes", repo="beta", snapshot="main", mode="vector")
        alpha_key, beta_key = sorted(graph._vector_cache.loaded())
        alpha_before = graph._vector_cache.loaded()[alpha_key]
        beta_before = graph._vector_cache.loaded()[beta_key]
        beta = GitRepo(Path(graph.store.get_repo("beta").location))
        beta.commit({"pkg/ledger.py": "def close_the_books(ledger):\n    return ledger\n"}, "ledger")
        assert two_partitions.materialize("beta", "main").result.success  # beta's head moves, alpha's not
        assert graph.search("close the books", repo="beta", snapshot="main", mode="vector")[0].path == "pkg/ledger.py"
        graph.search("retry a failed network request", repo="alpha", snapshot="main", mode="vector")
        loaded = graph._vector_cache.loaded()
        assert loaded[alpha_key] is alpha_before  # not reloaded: alpha's serving manifest did not change
        assert loaded[beta_key] is not beta_before and loaded[beta_key].manifest_id != beta_before.manifest_id


def test_a_hybrid_answer_reads_the_serving_head_once(two_partitions, monkeypatch):
    with dg.build_resources(two_partitions.resources) as r:
        store = r.metadata.open()
        search = CodeSearch(store, r.tantivy, r.qdrant, r.embeddings, two_partitions.config, vectors_in_memory=True)
        reads = []
        real_serving = type(store).serving

        def counted_serving(self, repo, snapshot):
            reads.append((repo, snapshot))
            return real_serving(self, repo, snapshot)

        monkeypatch.setattr(type(store), "serving", counted_serving)
        assert search.search("retry a failed network request", repo="alpha", snapshot="main", mode="hybrid")
        assert reads == [("alpha", "main")]  # one snapshot for both rankings, whatever publishes meanwhile


def test_concurrent_query_embeds_leave_torch_threads_as_they_found_them(two_partitions):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with dg.build_resources(two_partitions.resources) as r:
            search = CodeSearch(r.metadata.open(), r.tantivy, r.qdrant, r.embeddings, two_partitions.config,
                                vectors_in_memory=True)
            sequential = [search.search(q, repo="alpha", snapshot="main", mode="vector", limit=5) for q in QUERIES]
            start = threading.Barrier(4)

            def run(query: str):
                start.wait()
                return [search.search(query, repo="alpha", snapshot="main", mode="vector", limit=5)
                        for _ in range(3)]

            with ThreadPoolExecutor(4) as pool:
                answers = list(pool.map(run, QUERIES[:4]))
            assert torch.get_num_threads() == 2
            for query_index, repeated in enumerate(answers):
                assert all(hits == sequential[query_index] for hits in repeated)
    finally:
        torch.set_num_threads(before)


class _HeldLoad:
    """Holds the load of one repository's matrix (the real `PartitionVectors.load`, run once released) so a
    test can act while a search waits inside it; bounded waits, so a broken test fails instead of hanging."""

    def __init__(self, monkeypatch, repo: str) -> None:
        self.started, self.released = threading.Event(), threading.Event()
        real_load = PartitionVectors.load.__func__

        def held_load(cls, qdrant, collection, held_repo, snapshot, manifest_id, serving_files):
            if held_repo == repo:
                self.started.set()
                assert self.released.wait(120), "the test never released the held load"
            return real_load(cls, qdrant, collection, held_repo, snapshot, manifest_id, serving_files)

        monkeypatch.setattr(PartitionVectors, "load", classmethod(held_load))


def _copies(codegraph_home: Path) -> list[str]:
    return sorted(p.name for p in (codegraph_home / "serve").glob("qdrant-copy-*"))


def test_searches_answer_while_another_partitions_matrix_loads(two_partitions, monkeypatch):
    with CodeGraph() as graph, ThreadPoolExecutor(1) as pool:
        beta_first = graph.search("compute a checksum of bytes", repo="beta", snapshot="main", mode="vector")
        held = _HeldLoad(monkeypatch, "alpha")
        alpha_vector = pool.submit(graph.search, "retry a failed network request", repo="alpha", snapshot="main",
                                   mode="vector")
        assert held.started.wait(120)
        # alpha's first vector query is loading its matrix: beta's vector search and alpha's lexical one answer.
        assert graph.search("compute a checksum of bytes", repo="beta", snapshot="main", mode="vector") == beta_first
        lexical = graph.search("retry_request", repo="alpha", snapshot="main", mode="lexical")
        assert lexical and lexical[0].path.startswith("pkg/retry_request_")
        assert not alpha_vector.done()
        held.released.set()
        hits = alpha_vector.result(timeout=120)
        assert hits[0].path.startswith("pkg/retry_request_")
        assert hits == graph.search("retry a failed network request", repo="alpha", snapshot="main", mode="vector")


def test_a_copy_a_search_still_reads_is_deleted_only_when_that_search_ends(two_partitions, codegraph_home,
                                                                           monkeypatch):
    with CodeGraph() as graph, ThreadPoolExecutor(1) as pool:
        (first_copy,) = _copies(codegraph_home)
        held = _HeldLoad(monkeypatch, "alpha")
        alpha_vector = pool.submit(graph.search, "retry a failed network request", repo="alpha", snapshot="main",
                                   mode="vector")
        assert held.started.wait(120)  # alpha's search holds the first copy, reading it
        beta = GitRepo(Path(graph.store.get_repo("beta").location))
        beta.commit({"pkg/ledger.py": "def close_the_books(ledger):\n    return ledger\n"}, "ledger")
        assert two_partitions.materialize("beta", "main").result.success
        # beta's head moved: its search takes a new copy and answers from it while alpha's still reads the first.
        assert graph.search("close the books", repo="beta", snapshot="main", mode="vector")[0].path == "pkg/ledger.py"
        copies = _copies(codegraph_home)
        assert len(copies) == 2 and first_copy in copies
        held.released.set()
        assert alpha_vector.result(timeout=120)[0].path.startswith("pkg/retry_request_")
        (current,) = _copies(codegraph_home)
        assert current != first_copy
