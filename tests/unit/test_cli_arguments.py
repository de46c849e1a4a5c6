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
