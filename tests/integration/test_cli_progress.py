"""The CLI's progress lines: every step's start and end, once each, read from the run's event log."""

from __future__ import annotations

import io
import uuid
from collections import Counter

from indexing import Indexer

from codegraph_assets.assets.targets import INVOCATION_TAG
from codegraph_assets.cli.progress import StepProgress
from resources.embeddings import EmbeddingResource


def test_progress_prints_each_step_starting_and_succeeding_exactly_once(codegraph_home, make_repo):
    repo = make_repo({"pay/ledger.py": "def post_entry(amount):\n    return amount\n"})
    indexer = Indexer()
    indexer.register("ledger", str(repo.path), ["main"])
    stream, invocation = io.StringIO(), uuid.uuid4().hex
    with StepProgress(indexer.instance, invocation, stream=stream):
        assert indexer.materialize("ledger", "main", tags={INVOCATION_TAG: invocation}).result.success
    steps = [line for line in stream.getvalue().splitlines() if "embedded" not in line]  # progress: below
    printed = Counter(tuple(line.split()[-2:]) for line in steps)
    assert printed == Counter({(symbol, step): 1 for step in ("ir", "lexical", "chunk", "vector")
                               for symbol in ("…", "✓")})


def test_progress_says_how_many_chunks_the_vector_step_has_embedded_after_each_batch(codegraph_home, make_repo):
    repo = make_repo({f"pay/module_{n}.py": f"def post_entry_{n}(amount):\n    return amount + {n}\n"
                      for n in range(3)})
    # one text per model call and per saved batch: three batches, three progress lines
    indexer = Indexer(resource_overrides={"embeddings": EmbeddingResource(batch_size=1)})
    indexer.register("ledger", str(repo.path), ["main"])
    stream, invocation = io.StringIO(), uuid.uuid4().hex
    with StepProgress(indexer.instance, invocation, stream=stream):
        assert indexer.materialize("ledger", "main", tags={INVOCATION_TAG: invocation},
                                   run_config={"ops": {"vector": {"config": {"batch": {"vector_batch_size": 1}}}}},
                                   ).result.success
    lines = [line.split("]", 1)[1].strip() for line in stream.getvalue().splitlines()]
    start, end = lines.index("… vector"), lines.index("✓ vector")
    assert lines[start + 1:end] == [f"vector: embedded {n} of 3 chunks" for n in (1, 2, 3)]
