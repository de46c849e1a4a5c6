"""GitResource against real repositories and directories: odd paths, big or unreadable files, mirrors."""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import threading
from pathlib import Path

import pytest

from codegraph_assets.core.source import SkipReason
from codegraph_assets.errors import CodegraphError, ErrorCategory, ErrorCode
from resources.git import GitResource, worktree_commit

INVALID_UTF8_NAME = b"caf\xe9.py"  # latin-1 bytes: not UTF-8


@pytest.fixture
def git(tmp_path: Path) -> GitResource:
    return GitResource(mirrors_dir=str(tmp_path / "mirrors"))


def _add_path_bytes(repo, raw_path: bytes, content: bytes) -> None:
    """Stage a file under a path git stores verbatim as bytes (no work-tree file needed)."""
    sha = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.path, input=content,
                         capture_output=True, check=True).stdout.strip()
    subprocess.run([b"git", b"update-index", b"--add", b"--cacheinfo", b"100644," + sha + b"," + raw_path],
                   cwd=repo.path, check=True, capture_output=True)


def _by_path(entries):
    return {e.path: e for e in entries}


def test_a_git_path_that_is_not_utf8_is_listed_escaped_with_a_problem(git, make_repo):
    repo = make_repo({"ok.py": "x = 1\n"})
    _add_path_bytes(repo, b"src/" + INVALID_UTF8_NAME, b"y = 2\n")
    repo.git("commit", "-q", "-m", "add a latin-1 name")  # not repo.commit: `add -A` would unstage it
    commit = repo.git("rev-parse", "HEAD")
    entries = _by_path(git.list_tree("r", "git_local", str(repo.path), commit))
    odd = entries["src/caf\\xe9.py"]
    assert odd.problem == SkipReason.UNDECODABLE_PATH
    assert odd.path.encode("utf-8")  # storable anywhere
    assert entries["ok.py"].problem is None


def test_a_directory_file_name_that_is_not_utf8_is_listed_escaped_with_a_problem(git, tmp_path):
    tree = tmp_path / "plain"
    tree.mkdir()
    (tree / "ok.py").write_text("x = 1\n")
    with open(os.path.join(os.fsencode(tree), INVALID_UTF8_NAME), "wb") as handle:
        handle.write(b"y = 2\n")
    entries = _by_path(git.list_tree("plain", "directory", str(tree), "local"))
    assert entries["caf\\xe9.py"].problem == SkipReason.UNDECODABLE_PATH
    assert entries["ok.py"].problem is None
    assert worktree_commit(entries.values()).startswith("worktree-")


def test_skip_dir_keeps_the_walk_out_of_a_directory(git, tmp_path):
    tree = tmp_path / "plain"
    (tree / "node_modules" / "left-pad").mkdir(parents=True)
    (tree / "node_modules" / "left-pad" / "index.js").write_text("module.exports = 1\n")
    (tree / "src").mkdir()
    (tree / "src" / "app.js").write_text("console.log(1)\n")
    asked = []

    def skip_dir(path: str) -> bool:
        asked.append(path)
        return path.split("/")[-1] == "node_modules"

    entries = git.list_tree("plain", "directory", str(tree), "local", skip_dir=skip_dir)
    assert [e.path for e in entries] == ["src/app.js"]
    assert sorted(asked) == ["node_modules", "src"]  # node_modules/left-pad was never reached


def test_only_the_top_level_dot_git_is_ignored_in_a_directory(git, tmp_path):
    tree = tmp_path / "plain"
    (tree / ".git").mkdir(parents=True)
    (tree / ".git" / "config").write_text("[core]\n")
    (tree / "vendor" / ".git").mkdir(parents=True)
    (tree / "vendor" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    paths = {e.path for e in git.list_tree("plain", "directory", str(tree), "local")}
    assert paths == {"vendor/.git/HEAD"}


def test_a_file_over_max_file_bytes_is_not_read_and_keeps_its_size(git, tmp_path):
    tree = tmp_path / "plain"
    tree.mkdir()
    big = tree / "huge.bin"
    with open(big, "wb") as handle:
        handle.truncate(50_000_000)  # sparse: costs no disk, but a read would hash 50 MB of zeros
    (tree / "small.py").write_text("x = 1\n")
    entries = _by_path(git.list_tree("plain", "directory", str(tree), "local", max_file_bytes=1_000_000))
    info = os.stat(big)
    assert entries["huge.bin"].size == 50_000_000
    assert entries["huge.bin"].blob_sha == hashlib.sha1(
        f"size:{info.st_size}:mtime:{info.st_mtime_ns}".encode()).hexdigest()
    assert entries["huge.bin"].problem is None  # the classifier records it as too_large
    assert entries["small.py"].blob_sha == hashlib.sha1(b"blob 6\0x = 1\n").hexdigest()


def test_a_fifo_in_a_directory_is_not_read(git, tmp_path):
    tree = tmp_path / "plain"
    tree.mkdir()
    os.mkfifo(tree / "pipe")  # reading it would block forever
    (tree / "a.py").write_text("x = 1\n")
    entries = _by_path(git.list_tree("plain", "directory", str(tree), "local"))
    assert "pipe" not in entries or entries["pipe"].problem == SkipReason.UNREADABLE
    assert entries["a.py"].problem is None


def test_a_file_that_vanished_before_it_is_read_is_a_transient_io_error(git, tmp_path):
    tree = tmp_path / "plain"
    tree.mkdir()
    (tree / "gone.py").write_text("x = 1\n")
    entries = git.list_tree("plain", "directory", str(tree), "local")
    (tree / "gone.py").unlink()
    with pytest.raises(CodegraphError) as raised:
        list(git.read_blobs("plain", "directory", str(tree), entries))
    assert raised.value.code is ErrorCode.IO_ERROR
    assert raised.value.category is ErrorCategory.TRANSIENT
    assert "gone.py" in raised.value.message
    assert "re-run when the directory is stable" in raised.value.fix


def test_a_file_edited_after_the_walk_is_refused_not_stored_under_its_old_blob(git, tmp_path):
    tree = tmp_path / "plain"
    tree.mkdir()
    (tree / "a.py").write_text("x = 1\n")
    (tree / "b.py").write_text("y = 1\n")
    entries = git.list_tree("plain", "directory", str(tree), "local")
    (tree / "b.py").write_text("y = 2\n")  # saved by an editor while the run reads the files
    with pytest.raises(CodegraphError) as raised:
        dict(git.read_blobs("plain", "directory", str(tree), entries))
    assert raised.value.code is ErrorCode.FILE_ACCESS_ERROR and raised.value.input == "b.py"
    assert "changed" in raised.value.message and "re-run" in raised.value.fix


def test_list_tree_of_a_resolved_worktree_commit_returns_that_walk(git, tmp_path):
    tree = tmp_path / "plain"
    tree.mkdir()
    (tree / "a.py").write_text("x = 1\n")
    commit = git.resolve_ref("plain", "directory", str(tree), "local", max_file_bytes=1000)
    (tree / "b.py").write_text("y = 2\n")  # changes after the commit was pinned are not mixed in
    entries = git.list_tree("plain", "directory", str(tree), commit, max_file_bytes=1000)
    assert [e.path for e in entries] == ["a.py"]
    assert worktree_commit(entries) == commit
    again = git.resolve_ref("plain", "directory", str(tree), "local", max_file_bytes=1000)
    assert again != commit  # resolving walks afresh: the cache never hides a change


def test_re_registering_a_name_at_a_new_location_fetches_the_new_remote(git, make_repo):
    first = make_repo({"first.py": "a = 1\n"})
    second = make_repo({"second.py": "b = 2\n"})
    for origin, expected in ((first, {"first.py"}), (second, {"second.py"})):
        location = f"file://{origin.path}"
        git.sync("shared-name", "git_remote", location)
        commit = git.resolve_ref("shared-name", "git_remote", location, "main")
        assert commit == origin.git("rev-parse", "HEAD")
        assert {e.path for e in git.list_tree("shared-name", "git_remote", location, commit)} == expected


def test_a_clone_of_a_remote_without_that_repository_is_permanent_and_leaves_no_mirror(git, tmp_path):
    with pytest.raises(CodegraphError) as raised:
        git.sync("missing", "git_remote", f"file://{tmp_path / 'does-not-exist'}")
    assert raised.value.code is ErrorCode.PATH_NOT_FOUND
    assert raised.value.category is ErrorCategory.PERMANENT
    assert [p for p in (tmp_path / "mirrors").iterdir() if p.is_dir()] == []


class _GitHostAnswering(http.server.BaseHTTPRequestHandler):
    """A git host's HTTP wire as a client without the right credentials meets it: every request gets `status`."""

    status = 401

    def do_GET(self) -> None:
        self.send_response(self.status)
        if self.status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize(("status", "code"), [(401, ErrorCode.REMOTE_ACCESS_DENIED),
                                              (403, ErrorCode.REMOTE_ACCESS_DENIED),
                                              (404, ErrorCode.PATH_NOT_FOUND),
                                              (503, ErrorCode.NETWORK_ERROR)])
def test_a_remote_that_refuses_is_permanent_and_one_that_fails_is_transient(git, tmp_path, status, code):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Host", (_GitHostAnswering,), {"status": status}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    location = f"http://builder:s3cr3t@127.0.0.1:{server.server_port}/org/private.git"
    try:
        with pytest.raises(CodegraphError) as raised:
            git.sync("private", "git_remote", location)
    finally:
        server.shutdown()
        server.server_close()
    assert raised.value.code is code
    assert raised.value.retryable is (code is ErrorCode.NETWORK_ERROR)
    assert "s3cr3t" not in raised.value.message


def test_a_clone_past_its_timeout_is_transient_and_leaves_no_mirror(tmp_path, make_repo):
    origin = make_repo({"a.py": "x = 1\n"})
    git = GitResource(mirrors_dir=str(tmp_path / "mirrors"), clone_timeout_s=0.001)
    with pytest.raises(CodegraphError) as raised:
        git.sync("slow", "git_remote", f"file://{origin.path}")
    assert raised.value.code is ErrorCode.NETWORK_ERROR
    assert "timed out" in raised.value.message
    assert [p for p in (tmp_path / "mirrors").iterdir() if p.is_dir()] == []


def test_a_clone_is_renamed_into_place_and_later_syncs_fetch_into_it(git, tmp_path, make_repo):
    origin = make_repo({"a.py": "x = 1\n"})
    location = f"file://{origin.path}"
    git.sync("r", "git_remote", location)
    head = origin.commit({"b.py": "y = 2\n"})
    git.sync("r", "git_remote", location)
    assert git.resolve_ref("r", "git_remote", location, "main") == head
    assert [p for p in (tmp_path / "mirrors").iterdir() if p.is_dir()] == [git.mirror_path("r", location)]


def test_verify_commit_accepts_the_real_head_sha(git, make_repo):
    repo = make_repo({"a.py": "x = 1\n"})
    head = repo.git("rev-parse", "HEAD")
    assert git.verify_commit("r", "git_local", str(repo.path), head) == head


def test_verify_commit_rejects_a_sha_that_is_not_a_commit_here(git, make_repo):
    repo = make_repo({"a.py": "x = 1\n"})
    tree = repo.git("rev-parse", "HEAD^{tree}")
    for value in ("1" * 40, tree):
        with pytest.raises(CodegraphError) as raised:
            git.verify_commit("r", "git_local", str(repo.path), value)
        assert raised.value.code is ErrorCode.INVALID_PAYLOAD
        assert value in raised.value.message


def test_verify_commit_of_a_remote_fetches_a_pushed_commit_and_refuses_one_the_remote_lost(git, make_repo):
    origin = make_repo({"a.py": "x = 1\n"})
    location = f"file://{origin.path}"
    git.sync("r", "git_remote", location)
    first = origin.git("rev-parse", "HEAD")
    pushed = origin.commit({"a.py": "x = 2\n"})  # what `git ls-remote` reports before any fetch
    assert git.verify_commit("r", "git_remote", location, pushed) == pushed
    origin.git("reset", "-q", "--hard", first)  # force-pushed away
    origin.git("reflog", "expire", "--expire=now", "--all")
    origin.git("gc", "-q", "--prune=now")
    with pytest.raises(CodegraphError) as raised:
        git.verify_commit("other", "git_remote", location, pushed)  # a mirror that never had it
    assert raised.value.code is ErrorCode.INVALID_PAYLOAD
    assert "force-pushed" in raised.value.fix


def test_head_commit_names_a_detached_head_that_default_branch_cannot(git, make_repo):
    repo = make_repo({"a.py": "x = 1\n"})
    first = repo.git("rev-parse", "HEAD")
    repo.commit({"b.py": "y = 2\n"})
    repo.git("checkout", "-q", "--detach", first)
    assert git.default_branch("r", "git_local", str(repo.path)) is None
    assert git.head_commit("r", "git_local", str(repo.path)) == first


def test_head_commit_of_an_empty_repository_is_none(git, make_repo):
    repo = make_repo()
    assert git.head_commit("r", "git_local", str(repo.path)) is None


def test_reading_a_directory_entry_the_walk_could_not_read_yields_nothing(git, tmp_path):
    tree = tmp_path / "plain"
    tree.mkdir()
    with open(os.path.join(os.fsencode(tree), INVALID_UTF8_NAME), "wb") as handle:
        handle.write(b"y = 2\n")
    [entry] = git.list_tree("plain", "directory", str(tree), "local")
    assert list(git.read_blobs("plain", "directory", str(tree), [entry])) == [(entry, b"")]


def test_remote_heads_read_without_fetching_equal_the_refs_a_fetch_brings(git, make_repo):
    origin = make_repo({"app.py": "x = 1\n"})
    origin.git("tag", "-a", "v1", "-m", "annotated: the commit it peels to counts")
    origin.git("tag", "light")
    origin.git("branch", "release/1.0")
    location = f"file://{origin.path}"
    heads = git.remote_heads("shop", "git_remote", location, timeout_s=30, timeout_setting="timeouts.git")
    assert not git.mirror_path("shop", location).exists()  # ls-remote moved no objects
    git.sync("shop", "git_remote", location)
    assert heads == git.list_refs("shop", "git_remote", location)
    assert heads["v1"] == origin.git("rev-parse", "HEAD")
