"""GitResource rules that need no repository: printable locations, pinned-commit shape, mirror identity."""

from __future__ import annotations

import pytest

from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.git import GitResource, display_location


@pytest.mark.parametrize(("location", "shown"), [
    ("https://user:token@example.com/org/repo.git", "https://***@example.com/org/repo.git"),
    ("https://token@example.com/org/repo.git", "https://***@example.com/org/repo.git"),
    ("ssh://git@example.com/org/repo.git", "ssh://***@example.com/org/repo.git"),
    ("https://example.com/org/repo.git", "https://example.com/org/repo.git"),
    ("/srv/git/repo", "/srv/git/repo"),
])
def test_display_location_hides_credentials_in_urls(location, shown):
    assert display_location(location) == shown


@pytest.mark.parametrize("commit", [
    "abc1234", "main", "HEAD", "--upload-pack=touch /tmp/pwned", "-c", "", "g" * 40, "A" * 40,
    "0" * 39, "0" * 41, "worktree-" + "0" * 40,
])
def test_verify_commit_rejects_anything_but_a_full_sha_before_running_git(tmp_path, commit):
    git = GitResource(mirrors_dir=str(tmp_path / "mirrors"))
    with pytest.raises(CodegraphError) as raised:
        git.verify_commit("repo", "git_local", str(tmp_path / "not-a-repo"), commit)
    assert raised.value.code is ErrorCode.INVALID_PAYLOAD
    assert repr(commit) in raised.value.message
    assert "codegraph/commit" in raised.value.fix


@pytest.mark.parametrize("commit", ["0" * 40, "worktree-abc", "worktree-" + "0" * 41, "local"])
def test_verify_commit_of_a_directory_accepts_only_a_worktree_id(tmp_path, commit):
    git = GitResource(mirrors_dir=str(tmp_path / "mirrors"))
    with pytest.raises(CodegraphError) as raised:
        git.verify_commit("plain", "directory", str(tmp_path), commit)
    assert raised.value.code is ErrorCode.INVALID_PAYLOAD


def test_verify_commit_of_a_directory_returns_a_worktree_id_unchanged(tmp_path):
    worktree = "worktree-" + "ab" * 20
    assert GitResource().verify_commit("plain", "directory", str(tmp_path), worktree) == worktree


def test_a_repo_name_registered_at_another_location_gets_another_mirror(tmp_path):
    git = GitResource(mirrors_dir=str(tmp_path))
    first = git.mirror_path("payments", "https://example.com/a/payments.git")
    second = git.mirror_path("payments", "https://example.com/b/payments.git")
    assert first != second
    assert first.parent == second.parent == tmp_path
    assert first.name.endswith("-payments.git") and second.name.endswith("-payments.git")


def test_the_mirror_path_is_stable_for_the_same_name_and_location(tmp_path):
    git = GitResource(mirrors_dir=str(tmp_path))
    assert git.mirror_path("r", "file:///srv/r") == git.mirror_path("r", "file:///srv/r")
    assert git.mirror_path("r", "file:///srv/r") != git.mirror_path("s", "file:///srv/r")


def test_git_dir_of_a_remote_is_its_location_keyed_mirror(tmp_path):
    git = GitResource(mirrors_dir=str(tmp_path))
    assert git.git_dir("r", "git_remote", "file:///srv/r") == git.mirror_path("r", "file:///srv/r")
    assert git.git_dir("r", "git_local", "/srv/r").as_posix() == "/srv/r"
