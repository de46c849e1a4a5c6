"""Randomized git histories, indexed after every commit: every index tells the truth about its snapshot.

Hypothesis generates sequences of add / modify / delete / rename / branch / switch operations on a
real repository; after each commit the current branch's partition is materialized through Dagster and
checked: every present file is found, no removed content or path is ever returned (in any mode), and
Tantivy, Qdrant and the metadata store hold exactly the manifest.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
import tempfile
from pathlib import Path

import dagster as dg
from conftest import GitRepo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from indexing import Indexer

from codegraph_assets.stages.chunk_stage import chunk_set_keys

OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["add", "modify", "delete", "rename", "branch", "switch"]),
              st.integers(min_value=0, max_value=5)),
    min_size=3, max_size=7,
)


def _word(counter: itertools.count) -> str:
    """A fresh single-token identifier (letters only: the tokenizer cannot split it)."""
    n, letters = next(counter), ""
    while True:
        n, r = divmod(n, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[r]
        if n == 0:
            return f"qz{letters}"


def _source(word: str) -> str:
    return f"def {word}(value):\n    return value + 1\n"


class History:
    """The repository, what each branch should contain, and every word ever written."""

    def __init__(self, root: Path) -> None:
        self.repo = GitRepo(root / "repo")
        self.words = itertools.count()
        self.branch = "main"
        self.ever: set[str] = set()
        self.repo.commit({"README.md": "# history\n"}, "start")

    def files(self) -> dict[str, str]:
        listed = self.repo.git("ls-tree", "-r", "--name-only", "HEAD").splitlines()
        return {path: (self.repo.path / path).read_text() for path in listed}

    def apply(self, op: str, index: int) -> bool:
        """Apply one operation; False when it does not apply to the current tree (nothing committed)."""
        sources = sorted(p for p in self.files() if p.endswith(".py"))
        if op == "add":
            word = _word(self.words)
            self.ever.add(word)
            self.repo.commit({f"pkg/m{next(self.words)}.py": _source(word)}, "add")
        elif op == "modify" and sources:
            word = _word(self.words)
            self.ever.add(word)
            self.repo.commit({sources[index % len(sources)]: _source(word)}, "modify")
        elif op == "delete" and sources:
            self.repo.git("rm", "-q", sources[index % len(sources)])
            self.repo.commit(message="delete")
        elif op == "rename" and sources:
            (self.repo.path / "moved").mkdir(exist_ok=True)
            self.repo.git("mv", sources[index % len(sources)], f"moved/r{next(self.words)}.py")
            self.repo.commit(message="rename")
        elif op == "branch" and self.branch == "main":
            self.repo.git("checkout", "-q", "-B", "feature")
            self.branch = "feature"
        elif op == "switch" and self.branch == "feature":
            self.repo.git("checkout", "-q", "main")
            self.branch = "main"
        else:
            return False
        return True


def _check_snapshot(indexer: Indexer, history: History, snapshot: str) -> None:
    files = history.files()
    present_words = {w for w in history.ever if any(w in text for text in files.values())}
    for word in present_words:
        hits = indexer.search(word, "hist", snapshot, "lexical")
        assert hits and word in files[hits[0].path], (word, hits)
    for word in history.ever - present_words:
        assert indexer.search(word, "hist", snapshot, "lexical") == [], f"{word} is not in {snapshot}"
    for mode in ("vector", "hybrid"):
        for word in history.ever:
            for hit in indexer.search(word, "hist", snapshot, mode, limit=20):
                assert hit.path in files, (mode, hit.path)
                assert hit.snippet in files[hit.path], (mode, hit.path, hit.snippet)
    with dg.build_resources(indexer.resources) as r:
        store = r.metadata.open()
        head = store.serving("hist", snapshot)
        assert head == dataclasses.replace(store.published("hist", snapshot, "vector"), stage="serving")
        entries = [e for e in store.load_manifest(head.manifest_id) if e.indexed]
        assert sorted(e.path for e in entries) == sorted(files)
        assert r.tantivy.document_count("hist", snapshot, head.manifest_id) == len(files)
        set_key = chunk_set_keys(indexer.config, r.embeddings)
        chunks = list(store.snapshot_chunks(entries, {e.blob_sha: set_key(e.blob_sha) for e in entries}))
        collection = r.qdrant.collection_name(r.embeddings.model_id())
        assert r.qdrant.count(collection, "hist", snapshot) == len(chunks)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_every_snapshot_serves_exactly_its_own_content(operations, codegraph_home):
    root = Path(tempfile.mkdtemp(dir=codegraph_home.parent))
    try:
        history = History(root)
        indexer = Indexer()
        indexer.register("hist", str(history.repo.path), ["main", "feature"])
        indexer.materialize("hist", "main")
        for op, index in operations:
            if not history.apply(op, index):
                continue
            before = {p: history.repo.git("rev-parse", f"HEAD:{p}") for p in history.files()}
            indexed = indexer.materialize("hist", history.branch)
            assert indexed.result.success
            if op == "rename":  # an unchanged file under a new name: no parsing, no embedding
                assert indexed.metadata("ir")["files_parsed"] == 0
                assert indexed.metadata("vector")["chunks_embedded"] == 0
            assert set(before) == set(history.files())
            _check_snapshot(indexer, history, history.branch)
    finally:
        shutil.rmtree(root, ignore_errors=True)
