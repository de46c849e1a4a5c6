"""User-supplied locations and refs can never become git options or exotic transports."""

from __future__ import annotations

import pytest

from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.git import parse_location, validate_ref


@pytest.mark.parametrize("location", [
    "--upload-pack=touch /tmp/pwned", "-cprotocol.ext.allow=always", "ext::sh -c touch% /tmp/pwned",
    "fd::17", "ftp://example.com/repo.git", "https://example.com/\x00repo",
    "ssh://-oProxyCommand=touch%20/tmp/pwned/x", "ssh://-oProxyCommand=x@host/repo.git",
    "ssh://git@-oProxyCommand=x/repo.git", "ssh://%2DoProxyCommand=x/repo.git",
])
def test_hostile_locations_are_rejected_before_git_runs(location):
    with pytest.raises(CodegraphError) as raised:
        parse_location(location)
    assert raised.value.code is ErrorCode.INVALID_PAYLOAD
    assert "Fix:" in raised.value.message


@pytest.mark.parametrize("ref", ["--upload-pack=x", "-c", "a..b", "a b", "x~1", "refs/heads/x.lock", "", "@",
                                 "a:b", "bad\\ref", "trailing/", "a|b"])
def test_refs_outside_git_ref_rules_are_rejected(ref):  # `|` would break the repo|snapshot partition key
    with pytest.raises(CodegraphError) as raised:
        validate_ref(ref)
    assert raised.value.code is ErrorCode.INVALID_PAYLOAD


@pytest.mark.parametrize("ref", ["main", "release/1.2", "v2.1.0", "feature/JIRA-12_x"])
def test_ordinary_refs_pass(ref):
    assert validate_ref(ref) == ref


def test_urls_with_allowed_schemes_are_remotes():
    assert parse_location("https://example.com/org/repo.git").kind == "git_remote"
    assert parse_location("git@example.com:org/repo.git").kind == "git_remote"
    assert parse_location("file:///srv/git/repo.git").kind == "git_remote"
    assert parse_location("ssh://git@host-1.example.com:2222/org/my-repo.git").kind == "git_remote"


def test_a_missing_path_is_a_permanent_path_not_found(tmp_path):
    with pytest.raises(CodegraphError) as raised:
        parse_location(str(tmp_path / "nope"))
    assert raised.value.code is ErrorCode.PATH_NOT_FOUND
    assert str(tmp_path / "nope") in raised.value.message


def test_a_plain_directory_is_indexed_as_a_working_tree(tmp_path):
    assert parse_location(str(tmp_path)).kind == "directory"
