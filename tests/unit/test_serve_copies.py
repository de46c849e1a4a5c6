"""Copies of a Qdrant local store that servers left behind: removed when their process is gone, kept otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

from codegraph_assets.serving.vector_copy import remove_abandoned_copies


def test_only_copies_of_dead_servers_are_removed(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    dead = tmp_path / f"qdrant-copy-{finished.stdout.strip()}-abc"
    alive = tmp_path / f"qdrant-copy-{os.getpid()}-def"
    unrelated = tmp_path / "something-else"
    for directory in (dead, alive, unrelated):
        (directory / "collection").mkdir(parents=True)
    assert remove_abandoned_copies(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, unrelated.name])
