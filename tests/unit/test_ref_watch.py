"""What the push sensor and the nightly schedule decide to request, without Dagster or git."""

from __future__ import annotations

import pytest

from codegraph_assets.automation.ref_watch import (
    PartitionRun,
    matches_any,
    SensorCursor,
    dump_cursor,
    parse_cursor,
    plan_nightly,
    plan_pushes,
    poll_order,
    validate_ref_pattern,
)
from codegraph_assets.errors import CodegraphError

A, B = "a" * 40, "b" * 40


def plan(heads, *, tracked=("main",), patterns=(), seen=None, indexed=()):
    return plan_pushes("shop", tracked, patterns, heads, seen or {},
                       is_indexed=lambda ref, commit: (ref, commit) in indexed, is_trackable=lambda ref: "|" not in ref)


def test_a_moved_tracked_ref_is_one_run_and_the_cursor_follows():
    result = plan({"main": B}, seen={"main": A})
    assert result.runs == (PartitionRun("shop", "main", B),)
    assert result.seen == {"main": B} and result.new_refs == ()
    assert result.runs[0].run_key == f"shop:main:{B}"


def test_an_unmoved_or_already_indexed_ref_is_not_requested():
    assert plan({"main": A}, seen={"main": A}).runs == ()
    assert plan({"main": A}, indexed={("main", A)}).runs == ()


def test_a_tracked_ref_the_repository_lacks_is_neither_requested_nor_remembered():
    result = plan({"main": A}, tracked=("main", "v9"))
    assert [r.ref for r in result.runs] == ["main"] and result.seen == {"main": A}


def test_refs_matching_a_pattern_are_new_tracked_refs_unless_unusable_as_partitions():
    heads = {"main": A, "release/1.0": A, "release/1.0/rc": B, "feature/x": A, "v2": B, "release/a|b": A}
    result = plan(heads, patterns=("release/*", "v*"), seen={"main": A})
    assert result.new_refs == ("release/1.0", "release/1.0/rc", "v2")
    assert [r.ref for r in result.runs] == ["release/1.0", "release/1.0/rc", "v2"]


def test_patterns_are_case_sensitive_whole_name_globs():
    assert matches_any("v1.2", ["v*"]) and not matches_any("V1.2", ["v*"]) and not matches_any("dev1", ["v*"])
    assert matches_any("release/2024/q1", ["release/*"])


@pytest.mark.parametrize("pattern", ["", "--upload-pack=x", "a b", "x|y", "tab\there"])
def test_unusable_patterns_are_refused(pattern):
    with pytest.raises(CodegraphError):
        validate_ref_pattern(pattern)


def test_the_nightly_plan_is_every_tracked_ref_that_exists():
    assert plan_nightly("shop", ["v9", "main"], {"main": A, "dev": B}) == [PartitionRun("shop", "main", A)]


@pytest.mark.parametrize("raw", [None, "", "not json", "[1]", '{"shop": 3}'])
def test_an_unreadable_cursor_counts_as_none(raw):
    assert parse_cursor(raw) == SensorCursor()


def test_the_cursor_round_trips_refs_and_poll_times():
    cursor = SensorCursor({"shop": {"main": A}}, {"shop": 1700000000.5})
    assert parse_cursor(dump_cursor(cursor)) == cursor


def test_a_version_1_cursor_reads_as_refs_never_polled():
    assert parse_cursor('{"shop": {"main": "%s"}}' % A) == SensorCursor({"shop": {"main": A}}, {})


def test_repositories_never_polled_go_first_then_the_longest_unpolled():
    assert poll_order(["c", "a", "b", "new"], {"a": 30.0, "b": 10.0, "c": 20.0}) == ["new", "b", "c", "a"]
