"""Hostile and broken inputs: each one ends in a recorded skip reason, a text-only document or a clear error.

Real git repositories in temp dirs, the job API's handlers (ir, lexical, chunk; no vectors) on real stores,
and dg.materialize / DagsterInstance for run config and instance config. The README's "Bad inputs" table
points at these tests.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.errors import DagsterInvalidConfigError
from indexing import Indexer

from codegraph_assets.config import load_indexing_config
from codegraph_assets.errors import ErrorCategory, ErrorCode
from codegraph_assets.jobs.handlers import ChunkBuildHandler, IRBuildHandler, LexicalIndexHandler

PATHOLOGICAL_PYTHON = b"x = " + b"(" * 100_000  # parses fast; the extraction query then takes ~10 s here


def run(handler, payload):
    return asyncio.run(handler.execute(payload))


TEXT_STAGES = {"ir": IRBuildHandler, "lexical": LexicalIndexHandler, "chunk": ChunkBuildHandler}


def index_text_stages(path: Path | str, repo_id: str, snapshot: str = "main", config=None,
                      stages: tuple[str, ...] = ("ir", "lexical", "chunk")) -> dict:
    """The stages through the handlers (no vectors); each must succeed. Returns {stage: data}."""
    payload = {"repo_path": str(path), "repo_id": repo_id, "snapshot_id": snapshot}
    results = {}
    for name, handler in ((name, TEXT_STAGES[name]) for name in stages):
        result = run(handler(config) if config else handler(), payload)
        assert result.success, f"{name}: {result.error}"
        results[name] = result.data
    return results


def lexical_paths(repo_id: str, query: str, snapshot: str = "main") -> list[str]:
    indexer = Indexer()
    with dg.build_resources({"tantivy": indexer.resources["tantivy"], "metadata": indexer.resources["metadata"]}) as r:
        head = r.metadata.open().published(repo_id, snapshot, "lexical")
        return [hit.path for hit in r.tantivy.search(repo_id, snapshot, head.manifest_id, query, limit=10)]


# -- symlinks -------------------------------------------------------------------------------------------

def test_symlink_loops_in_a_plain_directory_are_recorded_never_followed(codegraph_home, tmp_path):
    tree = tmp_path / "loops"
    tree.mkdir()
    (tree / "app.py").write_text("def serve():\n    pass\n")
    os.symlink("loop", tree / "loop")  # points at itself
    os.symlink("b", tree / "a")
    os.symlink("a", tree / "b")  # a → b → a
    os.symlink(".", tree / "here")  # a directory cycle
    data = index_text_stages(tree, "loops", "local")
    assert data["ir"]["skipped"] == {"symlink": 4}
    assert data["lexical"]["documents_total"] == 1


def test_symlink_loops_and_links_out_of_a_commit_are_recorded_never_followed(codegraph_home, make_repo):
    repo = make_repo()
    repo.write({"app.py": "def serve():\n    pass\n"})
    os.symlink("loop", repo.path / "loop")
    os.symlink(".", repo.path / "here")
    os.symlink("/etc/passwd", repo.path / "passwd.py")
    repo.commit()
    data = index_text_stages(repo.path, "gitloops")
    assert data["ir"]["skipped"] == {"symlink": 3}
    assert lexical_paths("gitloops", "root") == []  # /etc/passwd was never read


# -- file names -----------------------------------------------------------------------------------------

def test_control_characters_in_file_names_are_skipped_as_unsafe_paths(codegraph_home, make_repo):
    repo = make_repo({"ok.py": "def fine():\n    pass\n", "forged\nok.py:1: match.py": "x = 1\n",
                      "esc\x1b[2Jclear.py": "y = 2\n", "tab\there.py": "z = 3\n"})
    data = index_text_stages(repo.path, "ctrl")
    assert data["ir"]["skipped"] == {"unsafe_path": 3}
    assert data["lexical"]["documents_total"] == 1


def test_a_dot_dot_tree_entry_in_a_commit_is_skipped_as_an_unsafe_path(codegraph_home, make_repo):
    repo = make_repo({"ok.py": "x = 1\n"})
    blob = _git_bytes(repo, "hash-object", "-w", "--stdin", input=b"def escaped():\n    pass\n")
    inner = _git_bytes(repo, "mktree", input=b"100644 blob " + blob + b"\tescaped.py\n")
    ok = repo.git("rev-parse", "HEAD:ok.py").encode()
    top = _git_bytes(repo, "mktree", input=b"040000 tree " + inner + b"\t..\n100644 blob " + ok + b"\tok.py\n")
    commit = repo.git("commit-tree", top.decode(), "-m", "a tree git cannot check out")
    repo.git("update-ref", "refs/heads/main", commit)
    data = index_text_stages(repo.path, "dotdot")
    assert data["ir"]["skipped"] == {"unsafe_path": 1}  # listed as ../escaped.py: never shown as a result
    assert lexical_paths("dotdot", "escaped") == []


# -- contents -------------------------------------------------------------------------------------------

def test_non_utf8_and_mixed_encodings_are_indexed_with_replacement_characters(codegraph_home, make_repo):
    repo = make_repo({"latin1.py": "def caf\u00e9():\n    return 'summer \u00e9t\u00e9'\n".encode("latin-1"),
                      "mixed.py": b"def mixed_bag():\n    return '\xc3\xa9'  # \xe9\xff\xfe\n",
                      "utf16.py": "def wide():\n    pass\n".encode("utf-16")})  # NUL bytes: binary
    data = index_text_stages(repo.path, "enc")
    assert data["ir"]["files_parsed"] == 2 and data["ir"]["skipped"] == {"binary": 1}
    assert data["chunk"]["chunks_created"] >= 2
    assert lexical_paths("enc", "mixed_bag") == ["mixed.py"]
    assert lexical_paths("enc", "summer") == ["latin1.py"]  # the latin-1 bytes became U+FFFD, the rest is intact


def test_a_binary_file_with_a_source_extension_is_recorded_as_binary(codegraph_home, make_repo):
    repo = make_repo({"payload.py": b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8, "ok.py": "x = 1\n"})
    data = index_text_stages(repo.path, "bin")
    assert data["ir"]["skipped"] == {"binary": 1}
    assert data["ir"]["files_indexed"] == 1 and data["lexical"]["documents_total"] == 1


def test_a_50_mb_single_line_minified_file_is_skipped_as_too_large_without_being_read(codegraph_home, make_repo):
    repo = make_repo({"static/app.min.js": b"var a=1;" * (50 * 1024 * 1024 // 8), "ok.js": "function ok() {}\n"})
    assert load_indexing_config().discovery.max_file_bytes == 1_000_000
    data = index_text_stages(repo.path, "minified")
    assert data["ir"]["skipped"] == {"too_large": 1}  # decided from the tree's sizes: the blob is never read
    assert data["lexical"]["documents_total"] == 1


# -- grammars that hang or crash --------------------------------------------------------------------------

def test_a_file_that_hangs_the_grammar_is_indexed_as_text_after_the_parse_timeout(codegraph_home, make_repo):
    repo = make_repo({"deep.py": PATHOLOGICAL_PYTHON, "ok.py": "def fine():\n    pass\n"})
    config = load_indexing_config({"CODEGRAPH_IR_BUILD__PARSE_TIMEOUT_S": "0.5"})
    data = index_text_stages(repo.path, "hang", config=config)
    assert data["ir"]["files_parse_timeout"] == 1
    assert data["ir"]["parse_timeout"] == {"deep.py": len(PATHOLOGICAL_PYTHON)}
    assert data["ir"]["files_parsed"] == 1 and data["ir"]["symbols"] == 1  # the next file parses normally
    assert data["lexical"]["documents_total"] == 2
    assert data["chunk"]["files_chunked"] == 2  # line chunks for the text-only file


def test_a_grammar_that_crashes_its_process_costs_one_file_not_the_run(codegraph_home):
    from codegraph_assets.stages.parse_worker import IsolatedParser

    with IsolatedParser(timeout_s=30) as parser:
        assert parser.parse(b"def a():\n    pass\n", "python").document is not None
        parser._pool._workers[0]._process.kill()  # what a segfaulting grammar does to the parsing process
        assert parser.parse(b"def b():\n    pass\n", "python").failure == "crashed"
        assert len(parser.parse(b"def c():\n    pass\n", "python").document.symbols) == 1  # a fresh process


# -- git sources ------------------------------------------------------------------------------------------

def test_an_unknown_ref_through_the_job_api_is_invalid_payload_naming_it(codegraph_home, make_repo):
    repo = make_repo({"a.py": "x = 1\n"})
    result = run(IRBuildHandler(), {"repo_path": str(repo.path), "repo_id": "refs", "snapshot_id": "v9.9"})
    assert (result.error_code, result.error_category) == (ErrorCode.INVALID_PAYLOAD, ErrorCategory.PERMANENT)
    assert "repository 'refs' has no branch or tag 'v9.9'" in result.error and "Fix:" in result.error


def test_a_shallow_clone_indexes_its_one_commit(codegraph_home, make_repo, tmp_path):
    origin = make_repo({"first.py": "def first():\n    pass\n"})
    head = origin.commit({"second.py": "def second():\n    pass\n"})
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{origin.path}", str(shallow)], check=True)
    assert (shallow / ".git" / "shallow").is_file()
    local = index_text_stages(shallow, "shallow")
    remote = index_text_stages(f"file://{shallow}", "shallow-remote")  # a mirror of a shallow repository
    assert local["ir"]["commit"] == remote["ir"]["commit"] == head
    assert local["ir"]["files_indexed"] == remote["ir"]["files_indexed"] == 2


def test_a_partial_clone_whose_origin_is_gone_is_a_permanent_error_naming_the_fix(codegraph_home, make_repo,
                                                                                  tmp_path):
    origin = make_repo({"a.py": "def a():\n    pass\n"})
    origin.git("config", "uploadpack.allowFilter", "true")
    partial = tmp_path / "partial"
    subprocess.run(["git", "clone", "-q", "--filter=blob:none", "--no-checkout", f"file://{origin.path}",
                    str(partial)], check=True)
    origin.path.rename(tmp_path / "moved-away")
    result = run(IRBuildHandler(), {"repo_path": str(partial), "repo_id": "partial", "snapshot_id": "main"})
    assert (result.error_code, result.error_category) == (ErrorCode.IR_BUILD_ERROR, ErrorCategory.PERMANENT)
    assert "partial clone cannot fetch its missing objects" in result.error


def test_a_repository_of_100_000_tiny_files_indexes_ir_and_lexical_in_one_pass(codegraph_home, tmp_path):
    """About 2.5 minutes here (bench/many_files.py prints the figures); no vectors."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
    from many_files import write_repository

    write_repository(tmp_path / "many", 100_000)
    data = index_text_stages(tmp_path / "many", "many", stages=("ir", "lexical"))
    assert data["ir"]["files_indexed"] == data["ir"]["files_parsed"] == 100_000
    assert data["lexical"]["documents_total"] == 100_000


# -- configuration -----------------------------------------------------------------------------------------

def test_run_config_of_the_wrong_type_is_refused_by_dagster_naming_the_field(codegraph_home, make_repo):
    repo = make_repo({"a.py": "x = 1\n"})
    indexer = Indexer()
    indexer.register("cfg", str(repo.path), ["main"])
    with pytest.raises(DagsterInvalidConfigError) as raised:
        indexer.materialize("cfg", "main", run_config={"ops": {"ir": {"config": {
            "discovery": {"max_file_bytes": "lots"}, "bogus_section": {}}}}})
    message = str(raised.value)
    assert "max_file_bytes" in message and "lots" in message
    assert "bogus_section" in message


def test_run_config_dagster_accepts_but_the_config_tree_refuses_fails_naming_the_field(codegraph_home, make_repo):
    repo = make_repo({"a.py": "x = 1\n"})
    indexer = Indexer()
    indexer.register("cfg", str(repo.path), ["main"])
    failed = indexer.materialize("cfg", "main", raise_on_error=False,
                                 run_config={"ops": {"ir": {"config": {"discovery": {"max_file_bytes": 0}}}}})
    assert not failed.result.success
    failure = next(e for e in failed.result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.error.message
    assert "PERMANENT INVALID_PAYLOAD" in message
    assert "run config field 'discovery.max_file_bytes' is invalid" in message and "Fix:" in message
    assert not [e for e in failed.result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]


def test_an_invalid_dagster_yaml_value_fails_instance_loading_naming_the_key(tmp_path, monkeypatch):
    home = tmp_path / "dagster-home"
    home.mkdir()
    (home / "dagster.yaml").write_text("concurrency:\n  runs:\n    max_concurrent_runs: lots\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with pytest.raises(DagsterInvalidConfigError) as raised:
        dg.DagsterInstance.get()
    message = str(raised.value)
    assert "dagster.yaml" in message and "max_concurrent_runs" in message and "lots" in message


def _git_bytes(repo, *args: str, input: bytes) -> bytes:
    return subprocess.run(["git", *args], cwd=repo.path, input=input, capture_output=True, check=True).stdout.strip()
