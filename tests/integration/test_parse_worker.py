"""The parser pool: children parse in parallel, and one file that hangs costs only its own timeout; the
chunk stage cuts along the outline the children stored and never parses in the parent."""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager

import dagster as dg
from indexing import Indexer

from codegraph_assets.config import load_indexing_config
from codegraph_assets.core.ir_parser import parse_document
from codegraph_assets.stages.chunk_stage import chunk_set_keys
from codegraph_assets.stages.parse_worker import IsolatedParser
from tests.integration.test_bad_inputs import PATHOLOGICAL_PYTHON, index_text_stages

FILES = {f"mod{i}.py": f"def function_{i}(x):\n    return x + {i}\n\n\nclass Thing{i}:\n    pass\n".encode()
         for i in range(12)}
HANGS = b"(" * 100_000  # tree-sitter's extraction query takes seconds on it


def test_a_pool_of_children_returns_every_file_parsed_as_in_process():
    with IsolatedParser(timeout_s=30, workers=2) as pool:
        outcomes = dict(pool.parse_stream((path, content, "python") for path, content in FILES.items()))
    assert set(outcomes) == set(FILES)
    for path, content in FILES.items():
        assert outcomes[path].document == parse_document(content, "python"), path


def test_a_file_past_the_timeout_fails_alone_and_its_child_is_replaced():
    items = [("hangs.py", HANGS, "python"), *((path, content, "python") for path, content in FILES.items())]
    with IsolatedParser(timeout_s=0.5, workers=2) as pool:
        outcomes = dict(pool.parse_stream(items))
        assert pool.parse(FILES["mod0.py"], "python").document is not None  # the replaced child works
    assert outcomes["hangs.py"].failure == "timeout" and outcomes["hangs.py"].document is None
    assert all(outcomes[path].document is not None for path in FILES)


@contextmanager
def tree_sitter_calls():
    """The names of the tree-sitter functions called while the block runs, in any thread of this process."""
    called: set[str] = set()

    def hook(frame, event, function):
        owner = getattr(function, "__self__", None)
        if event == "c_call" and type(owner).__module__.startswith("tree_sitter"):
            called.add(f"{type(owner).__name__}.{function.__name__}")

    threading.setprofile(hook)
    sys.setprofile(hook)
    try:
        yield called
    finally:
        sys.setprofile(None)
        threading.setprofile(None)


def test_the_chunk_stage_never_parses_and_a_file_the_grammar_hangs_on_is_chunked_as_text(codegraph_home, make_repo):
    with tree_sitter_calls() as called:  # the instrument sees a parse where there is one
        parse_document(FILES["mod0.py"], "python")
    assert "Parser.parse" in called

    repo = make_repo({"deep.py": PATHOLOGICAL_PYTHON, "ok.py": "class Fine:\n    def run(self):\n        return 1\n"})
    config = load_indexing_config({"CODEGRAPH_IR_BUILD__PARSE_TIMEOUT_S": "0.5"})
    assert index_text_stages(repo.path, "outline", config=config, stages=("ir",))["ir"]["files_parse_timeout"] == 1
    with tree_sitter_calls() as called:
        data = index_text_stages(repo.path, "outline", config=config, stages=("chunk",))
    assert called == set()  # no parse, no query: neither of the file that hung its child nor of the other
    assert data["chunk"]["files_chunked"] == 2

    indexer = Indexer()
    with dg.build_resources({"metadata": indexer.resources["metadata"]}) as resources:
        store = resources.metadata.open()
        head = store.published("outline", "main", "chunk")
        entries = [e for e in store.load_manifest(head.manifest_id) if e.indexed]
        set_key = chunk_set_keys(config, indexer.resources["embeddings"])
        keys = {e.blob_sha: set_key(e.blob_sha) for e in entries}
        chunks = {c.path: c.chunk for c in store.snapshot_chunks(entries, keys)}
    assert chunks["deep.py"].kind == "text" and chunks["deep.py"].symbol_id is None
    assert chunks["ok.py"].symbol_id == "Fine#run()."
    assert chunks["ok.py"].embed_text.startswith("python method Fine.run\n")
