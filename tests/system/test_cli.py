"""The `codegraph` command as a user runs it: separate processes, real stores, real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FILES = {
    "billing/invoice.py": "def compute_invoice_total(lines):\n    \"\"\"Sum the invoice lines.\"\"\"\n"
                          "    return sum(line.amount for line in lines)\n",
    "web/session.ts": "export function clearUserSession(id: string): void {\n  localStorage.removeItem(id);\n}\n",
}


def codegraph(*args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "codegraph_assets.cli.main", *args], env=env,
                            capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def indexed_cli(tmp_path_factory):
    from conftest import GitRepo

    root = tmp_path_factory.mktemp("cli")
    repo = GitRepo(root / "shop")
    repo.commit(FILES, "initial")
    env = {**os.environ, "CODEGRAPH_HOME": str(root / "home"), "DAGSTER_HOME": str(root / "dagster"),
           "HF_HUB_OFFLINE": "1"}
    index = codegraph("index", str(repo.path), "--json", env=env)
    return env, repo, json.loads(index.stdout)


def test_index_registers_the_repo_and_summarises_every_stage(indexed_cli):
    _env, repo, summary = indexed_cli
    assert summary["success"] is True
    assert (summary["repo"], summary["snapshot"]) == ("shop", "main")
    assert summary["commit"] == repo.git("rev-parse", "HEAD")
    assert set(summary["stages"]) == {"ir", "lexical", "chunk", "vector"}
    assert summary["stages"]["vector"]["points_total"] >= 2


def test_the_run_is_recorded_in_the_dagster_instance(indexed_cli):
    env, _repo, summary = indexed_cli
    assert list(Path(env["DAGSTER_HOME"]).glob("history/runs/*.db")) or list(
        Path(env["DAGSTER_HOME"]).glob("storage/*"))
    import dagster as dg

    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    run = instance.get_run_by_id(summary["run_id"])
    assert run is not None and run.is_success
    assert run.tags["codegraph/commit"] == summary["commit"]


def test_search_json_prints_hits_with_one_based_line_ranges(indexed_cli):
    env, _repo, _ = indexed_cli
    result = codegraph("search", "invoice total", "--repo", "shop", "--snapshot", "main", "--mode", "lexical",
                       "--json", env=env)
    hits = json.loads(result.stdout)
    assert hits[0]["path"] == "billing/invoice.py"
    assert {"path", "start_line", "end_line", "score", "symbol", "snippet"} <= set(hits[0])
    assert 1 <= hits[0]["start_line"] <= hits[0]["end_line"] <= 3
    assert hits[0]["symbol"] == "billing/invoice.py/compute_invoice_total()."


def test_queries_file_answers_many_queries_in_one_process(indexed_cli, tmp_path):
    env, _repo, _ = indexed_cli
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"qid": "a", "query": "log the user out"}) + "\n"
                       + json.dumps({"qid": "b", "query": "sum of invoice lines"}) + "\n")
    result = codegraph("search", "--queries-file", str(queries), "--mode", "hybrid", env=env)
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["qid"] for a in answers] == ["a", "b"]
    assert answers[0]["hits"][0]["path"] == "web/session.ts"
    assert answers[1]["hits"][0]["path"] == "billing/invoice.py"
    # The file's queries are answered from vectors loaded once; one query per process asks Qdrant: same hits.
    for answer, query in zip(answers, ("log the user out", "sum of invoice lines")):
        alone = codegraph("search", query, "--mode", "hybrid", "--json", env=env)
        assert json.loads(alone.stdout) == answer["hits"]


def test_repo_add_list_and_remove(indexed_cli):
    env, repo, _ = indexed_cli
    listed = json.loads(codegraph("repo", "list", "--json", env=env).stdout)
    assert [(r["name"], r["refs"]) for r in listed] == [("shop", ["main"])]
    added = codegraph("repo", "add", "extra", f"file://{repo.path}", "--ref", "main", "--ref", "v1", env=env)
    assert "registered extra (git_remote)" in added.stdout
    import dagster as dg

    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    assert set(instance.get_dynamic_partitions("repo")) == {"shop", "extra"}
    assert codegraph("repo", "remove", "extra", env=env).stdout.strip() == "removed extra"
    assert [r["name"] for r in json.loads(codegraph("repo", "list", "--json", env=env).stdout)] == ["shop"]
    assert instance.get_dynamic_partitions("repo") == ["shop"]
    assert instance.get_dynamic_partitions("snapshot") == ["main"]


def test_credentials_in_a_repository_url_are_never_printed(indexed_cli):
    env, _repo, _ = indexed_cli
    codegraph("repo", "add", "private", "https://bot:s3cr3t-token@git.example.com/org/private.git", env=env)
    listed = codegraph("repo", "list", env=env)
    assert "s3cr3t-token" not in listed.stdout and "https://***@git.example.com/org/private.git" in listed.stdout
    codegraph("repo", "remove", "private", env=env)


def test_errors_name_the_input_and_the_fix_and_exit_nonzero(indexed_cli, tmp_path):
    env, _repo, _ = indexed_cli
    result = codegraph("index", "--upload-pack=touch /tmp/x", env=env, check=False)
    assert result.returncode != 0
    result = codegraph("index", "--", "--upload-pack=touch /tmp/x", env=env, check=False)
    assert result.returncode == 2
    assert "INVALID_PAYLOAD" in result.stderr and "Fix:" in result.stderr
    missing = codegraph("search", "anything", "--repo", "nope", "--snapshot", "main", env=env, check=False)
    assert missing.returncode == 2
    assert "nope|main has no complete index yet (ir, lexical, chunk, vector never published)" in missing.stderr


def test_an_index_that_cannot_start_registers_nothing(indexed_cli, tmp_path):
    from conftest import GitRepo

    env, repo, _ = indexed_cli
    empty = GitRepo(tmp_path / "empty")  # `git init` only: its branch is unborn
    result = codegraph("index", str(empty.path), env=env, check=False)
    assert result.returncode == 2 and "has no commits to index" in result.stderr and "Traceback" not in result.stderr
    wrong_ref = codegraph("index", str(repo.path), "--snapshot", "nosuchbranch", env=env, check=False)
    assert wrong_ref.returncode == 2 and "has no branch or tag 'nosuchbranch'" in wrong_ref.stderr
    listed = json.loads(codegraph("repo", "list", "--json", env=env).stdout)
    assert [(r["name"], r["refs"]) for r in listed] == [("shop", ["main"])]
    import dagster as dg

    assert dg.DagsterInstance.from_config(env["DAGSTER_HOME"]).get_dynamic_partitions("snapshot") == ["main"]


def test_search_refuses_a_limit_below_one_and_names_an_unregistered_repo(indexed_cli):
    env, _repo, _ = indexed_cli
    for limit in ("0", "-3"):
        result = codegraph("search", "invoice", "--limit", limit, env=env, check=False)
        assert result.returncode == 2 and f"limit {limit} is out of range" in result.stderr, result.stderr
    unknown = codegraph("search", "invoice", "--repo", "nosuch", env=env, check=False)
    assert unknown.returncode == 2 and "repository 'nosuch' is not registered" in unknown.stderr


def test_a_reader_that_stops_reading_ends_the_command_without_a_traceback(indexed_cli):
    env, _repo, _ = indexed_cli
    process = subprocess.Popen([sys.executable, "-m", "codegraph_assets.cli.main", "search", "invoice", "--json"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # like `| head` that has already exited: every write gets EPIPE
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 1 and b"Traceback" not in stderr and b"BrokenPipeError" not in stderr
