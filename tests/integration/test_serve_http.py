"""`codegraph serve` answered by a real HTTP client over loopback, on a small real indexed repository."""

from __future__ import annotations

import hashlib
from contextlib import ExitStack
from pathlib import Path

import pytest
from conftest import GitRepo
from serving import CHECKSUM, RETRY_LINE, ServeProcess, covers, home_environment, index_demo

from codegraph_assets.core.text_lines import split_lines
from resources.file_lock import exclusive_file_lock
from resources.qdrant_store import QdrantResource


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """demo|main fully indexed, half|main with only ir and lexical, and `codegraph serve` over both."""
    root = tmp_path_factory.mktemp("serve-http")
    with home_environment(root) as env:
        indexer, repo = index_demo(root)
        half = GitRepo(root / "half")
        half.commit({"a.py": "def alone():\n    return 1\n"}, "initial")
        indexer.register("half", str(half.path), ["main"])
        assert indexer.materialize("half", "main", selection=["ir", "lexical"]).result.success
        before = _index_digest(Path(env["CODEGRAPH_HOME"]))
        server = ServeProcess(env)
        try:
            yield server, repo, before, Path(env["CODEGRAPH_HOME"])
        finally:
            server.stop()


def test_search_answers_every_mode_with_line_ranges_at_the_serving_commit(served):
    server, repo, _, _ = served
    for mode in ("lexical", "vector", "hybrid"):
        status, body, _ = server.get("/v1/search", query="retry failed uploads", mode=mode, limit=3)
        assert status == 200, body
        assert (body["repo"], body["snapshot"], body["commit"], body["mode"]) == (
            "demo", "main", repo.git("rev-parse", "HEAD"), mode)
        assert covers(body["hits"], "pkg/uploads.py", RETRY_LINE), body["hits"]
        assert {hit["source"] for hit in body["hits"]} == {mode}
        assert all(hit["snippet"] for hit in body["hits"])


def test_a_json_post_answers_like_the_query_string(served):
    server = served[0]
    _, by_get, _ = server.get("/v1/search", query="http response", mode="lexical", limit=2)
    status, by_post, _ = server.post("/v1/search", {"query": "http response", "mode": "lexical", "limit": 2})
    assert status == 200 and by_post == by_get


def test_a_snippet_is_the_exact_lines_of_the_served_commit(served):
    server, repo, _, _ = served
    status, body, _ = server.get("/v1/snippet", path="pkg/uploads.py", start_line=7, end_line=9)
    assert status == 200, body
    committed = split_lines(repo.git("show", "HEAD:pkg/uploads.py") + "\n")
    snippet = body["snippet"]
    assert snippet["text"] == "\n".join(committed[6:9])
    assert (snippet["start_line"], snippet["end_line"], snippet["total_lines"], snippet["truncated"]) == (
        7, 9, len(committed), False)
    assert snippet["blob"] == repo.git("rev-parse", "HEAD:pkg/uploads.py")


def test_definitions_and_references_locate_a_symbol_across_files(served):
    server = served[0]
    status, body, _ = server.get("/v1/definitions", name="Uploader")
    assert status == 200, body
    [definition] = body["definitions"]
    assert (definition["path"], definition["start_line"], definition["kind"]) == ("pkg/uploads.py", 4, "class")
    status, body, _ = server.get("/v1/references", symbol="parse_http_response")
    assert status == 200, body
    assert {(r["path"], r["start_line"]) for r in body["references"]} >= {("pkg/cli.py", 7)}


def test_failures_are_json_naming_the_code_the_input_and_the_fix_with_their_http_status(served):
    server = served[0]
    cases = [
        (server.get("/v1/search", query="x", repo="nope", snapshot="main"), 404, "PATH_NOT_FOUND", "nope|main"),
        (server.get("/v1/search", query="x", mode="fuzzy"), 400, "INVALID_PAYLOAD", "mode"),
        (server.get("/v1/search"), 400, "INVALID_PAYLOAD", "query"),
        (server.get("/v1/search", query="x", limit="ten"), 400, "INVALID_PAYLOAD", "limit"),
        (server.get("/v1/search", query="x", limit=100_000), 400, "INVALID_PAYLOAD", "limit"),
        (server.get("/v1/search", query="x", colour="red"), 400, "INVALID_PAYLOAD", "colour"),
        (server.get("/v1/snippet", path="pkg/absent.py"), 404, "PATH_NOT_FOUND", "pkg/absent.py"),
        (server.get("/v1/snippet", path="pkg/cli.py", start_line=500), 400, "INVALID_PAYLOAD", "start_line"),
        (server.post("/v1/search", b"{not json"), 400, "INVALID_PAYLOAD", "body"),
        (server.get("/v1/nowhere"), 404, "INVALID_PAYLOAD", "/v1/nowhere"),
    ]
    for (status, body, _), want_status, want_code, want_input in cases:
        assert status == want_status, body
        error = body["error"]
        assert (error["error_code"], error["input"]) == (want_code, want_input), error
        assert error["fix"] and error["message"] and error["error_category"] == "PERMANENT"


def test_only_partitions_whose_four_stages_published_are_served(served):
    server = served[0]
    _, body, _ = server.get("/v1/partitions")
    assert [(p["repo"], p["snapshot"]) for p in body["partitions"]] == [("demo", "main")]
    status, body, _ = server.get("/v1/search", query="alone", repo="half", snapshot="main", mode="lexical")
    assert status == 404 and body["error"]["input"] == "half|main"


def test_serving_writes_nothing_in_the_indexes(served):
    server, _, before, home = served
    for mode in ("lexical", "vector", "hybrid"):
        assert server.get("/v1/search", query="upload", mode=mode)[0] == 200
    assert server.get("/v1/snippet", path="pkg/cli.py")[0] == 200
    assert server.get("/v1/definitions", name="main")[0] == 200
    assert _index_digest(home) == before


def test_serve_and_indexing_runs_share_the_qdrant_local_store_without_blocking_each_other(tmp_path):
    with home_environment(tmp_path) as env, ExitStack() as vector_step:
        indexer, repo = index_demo(tmp_path)
        vector_step.enter_context(exclusive_file_lock(QdrantResource().writer_lock_path))  # what vector steps hold
        server = ServeProcess({**env, "CODEGRAPH_SERVE__FIRST_COPY_WAIT_S": "0"})
        try:
            # Started while a vector step writes, with no copy yet: vector is a 503 to retry, lexical answers.
            status, body, headers = server.get("/v1/search", query="upload", mode="vector")
            assert (status, body["error"]["error_code"], headers["retry-after"]) == (503, "INDEX_LOCKED", "1")
            assert server.get("/v1/search", query="upload", mode="lexical")[0] == 200
            vector_step.close()
            assert server.get("/v1/search", query="upload", mode="vector")[0] == 200  # its copy is taken now
            commit = repo.commit({"pkg/checksum.py": CHECKSUM}, "add checksum")
            indexed = indexer.materialize("demo", "main")
            assert indexed.result.success
            retried = [e for e in indexed.result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
            assert retried == []  # serve never held the store the vector step wrote
            status, body, _ = server.get("/v1/search", query="sha256 digest of a file", mode="vector", limit=3)
            assert status == 200, body
            assert body["commit"] == commit and "pkg/checksum.py" in {hit["path"] for hit in body["hits"]}
        finally:
            output = server.stop()
    assert not list((Path(env["CODEGRAPH_HOME"]) / "serve").glob("qdrant-copy-*")), output  # its copies go with it


def _index_digest(home: Path) -> dict[str, str]:
    """Content hash of every file of the Tantivy and Qdrant stores (lock files aside)."""
    digest = {}
    for store in ("lexical", "qdrant"):
        for path in sorted((home / store).rglob("*")):
            if path.is_file() and not path.name.endswith(".lock") and path.name != ".lock":
                digest[str(path.relative_to(home))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest
