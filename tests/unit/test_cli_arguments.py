"""The CLI's argument checks: refused before anything runs, with argparse's usage error."""

from __future__ import annotations

import pytest

from codegraph_assets.cli.main import build_parser


def test_a_negative_gc_grace_is_refused(capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["gc", "--grace-hours", "-5"])
    assert exited.value.code == 2
    assert "--grace-hours: -5 is negative: give 0 or more hours" in capsys.readouterr().err
    assert build_parser().parse_args(["gc", "--grace-hours", "0"]).grace_hours == 0.0


def test_the_listing_shows_the_lines_of_a_long_hit_that_hold_the_query_words():
    from codegraph_assets.cli.search_command import shown_lines
    from codegraph_assets.core.hits import SearchHit

    body = [f"    step_{n} = prepare({n})" for n in range(10)] + ["    parse_http_response(raw)"] + [
        f"    finish({n})" for n in range(8)]
    hit = SearchHit("svc/server.py", 20, 39, 1.0, None, "\n".join(["def handle(raw):", *body]))
    shown = shown_lines(hit, "parseHTTPResponse")
    assert [number for number, _ in shown] == list(range(30, 36))  # one line of context above the match
    assert (31, "    parse_http_response(raw)") in shown
    assert [number for number, _ in shown_lines(hit, "finish 7")][-1] == 39  # near the end: the last six
    assert shown_lines(hit, "nothing matches")[0] == (20, "def handle(raw):")  # the top when no line matches
    short = SearchHit("a.py", 5, 6, 1.0, None, "x = 1\ny = 2", snippet_start_line=5)
    assert shown_lines(short, "y") == [(5, "x = 1"), (6, "y = 2")]
