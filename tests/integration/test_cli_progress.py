"""The CLI's progress lines: every step's start and end, once each, read from the run's event log."""

from __future__ import annotations

import io
import uuid
from collections import Counter

from indexing import Indexer

from codegraph_assets.assets.targets import INVOCATION_TAG
from codegraph_assets.cli.progress import StepProgress


def test_progress_prints_each_step_starting_and_succeeding_exactly_once(codegraph_home, make_repo):
    repo = make_repo({"pay/ledger.py": "def post_entry(amount):\n    return amount\n"})
    indexer = Indexer()
    indexer.register("ledger", str(repo.path), ["main"])
    stream, invocation = io.StringIO(), uuid.uuid4().hex
    with StepProgress(indexer.instance, invocation, stream=stream):
        assert indexer.materialize("ledger", "main", tags={INVOCATION_TAG: invocation}).result.success
    printed = Counter(tuple(line.split()[-2:]) for line in stream.getvalue().splitlines())
    assert printed == Counter({(symbol, step): 1 for step in ("ir", "lexical", "chunk", "vector")
                               for symbol in ("…", "✓")})
