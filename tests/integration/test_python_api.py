"""The Python API (`import codegraph`, `CodeGraph`) on a small real indexed repository."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest
from serving import PARSE_LINE, RETRY_LINE, ROOT, covers, home_environment, index_demo

from codegraph_assets.api import CodeGraph
from codegraph_assets.config import IndexingConfig, ServeConfig
from codegraph_assets.errors import CodegraphError, ErrorCategory, ErrorCode
from resources.file_lock import exclusive_file_lock
from resources.qdrant_store import QdrantResource

QUERIES = ("retry failed uploads", "http response headers", "upload attempts", "main entry point")


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("python-api")
    with home_environment(root) as env:
        _, repo = index_demo(root)
        yield env, repo


@pytest.fixture
def graph(indexed):
    with CodeGraph() as opened:
        yield opened


def test_import_codegraph_search_finds_the_function_in_a_fresh_process(indexed):
    env, repo = indexed
    script = ("import json, codegraph; hits = codegraph.search('retry failed uploads', limit=3); "
              "print(json.dumps([[h.to_json() for h in hits], [p.to_json() for p in codegraph.partitions()]]))")
    output = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=True).stdout
    hits, [partition] = json.loads(output.strip().splitlines()[-1])
    assert covers(hits, "pkg/uploads.py", RETRY_LINE)
    assert partition["commit"] == repo.git("rev-parse", "HEAD")


def test_repo_and_snapshot_may_be_left_out_when_one_partition_is_served(graph):
    named = graph.search("parse http response", repo="demo", snapshot="main", mode="lexical")
    assert graph.search("parse http response", mode="lexical") == named
    assert covers(named, "pkg/uploads.py", PARSE_LINE)


def test_concurrent_searches_from_threads_answer_as_sequential_ones(graph):
    sequential = [graph.search(q, mode=mode) for q in QUERIES for mode in ("lexical", "vector", "hybrid")]
    with ThreadPoolExecutor(max_workers=6) as pool:
        concurrent = list(pool.map(lambda args: graph.search(args[0], mode=args[1]),
                                   [(q, mode) for q in QUERIES for mode in ("lexical", "vector", "hybrid")]))
    assert concurrent == sequential


def test_a_snippet_longer_than_the_cap_is_cut_and_says_so(indexed):
    config = IndexingConfig(serve=ServeConfig(max_snippet_lines=3, warm_up=False))
    with CodeGraph(config) as graph:
        cut = graph.snippet("pkg/uploads.py", start_line=4)
    assert (cut.start_line, cut.end_line, cut.truncated) == (4, 6, True)
    assert cut.text.splitlines()[0] == "class Uploader:"


def test_bad_arguments_are_invalid_payload_naming_the_argument(graph):
    calls = {
        "query": lambda: graph.search("   "),
        "limit": lambda: graph.search("upload", limit=0),
        "mode": lambda: graph.search("upload", mode="semantic"),
        "end_line": lambda: graph.snippet("pkg/cli.py", start_line=3, end_line=2),
        "name": lambda: graph.definitions(""),
    }
    for argument, call in calls.items():
        with pytest.raises(CodegraphError) as raised:
            call()
        assert (raised.value.code, raised.value.input) == (ErrorCode.INVALID_PAYLOAD, argument)


def test_started_while_a_vector_step_writes_lexical_answers_and_vector_is_transient_until_a_copy(indexed):
    config = IndexingConfig(serve=ServeConfig(warm_up=False, first_copy_wait_s=0))
    with ExitStack() as stack:
        vector_step = stack.enter_context(ExitStack())
        vector_step.enter_context(exclusive_file_lock(QdrantResource().writer_lock_path))  # what vector steps hold
        graph = stack.enter_context(CodeGraph(config))
        assert graph.search("upload", mode="lexical")
        with pytest.raises(CodegraphError) as raised:
            graph.search("upload", mode="vector")
        assert (raised.value.code, raised.value.category) == (ErrorCode.INDEX_LOCKED, ErrorCategory.TRANSIENT)
        vector_step.close()  # the step ends
        assert covers(graph.search("retry failed uploads", mode="vector"), "pkg/uploads.py", RETRY_LINE)


def test_once_it_has_a_copy_vector_search_answers_while_a_vector_step_writes(graph):
    with exclusive_file_lock(QdrantResource().writer_lock_path):
        assert covers(graph.search("retry failed uploads", mode="vector"), "pkg/uploads.py", RETRY_LINE)


def test_a_home_where_nothing_was_indexed_is_path_not_found_and_stays_empty(tmp_path):
    with home_environment(tmp_path), pytest.raises(CodegraphError) as raised:
        CodeGraph()
    assert raised.value.code is ErrorCode.PATH_NOT_FOUND and "codegraph index" in raised.value.fix
    assert not (tmp_path / "home" / "metadata.db").exists()


def test_a_store_at_another_schema_revision_is_refused_not_migrated(tmp_path):
    database = tmp_path / "home" / "metadata.db"
    database.parent.mkdir(parents=True)
    sqlite3.connect(database).close()  # a database without codegraph's schema
    with home_environment(tmp_path), pytest.raises(CodegraphError) as raised:
        CodeGraph()
    assert raised.value.code is ErrorCode.DB_ERROR and "migrates" in raised.value.fix
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
