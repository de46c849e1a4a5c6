"""Chunking and lexical units in child processes: the chunks are exactly those made in-process, a partition
with enough files to pay for the children is chunked and cut into units by them, and a child that dies is
reported for its file."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import dagster as dg
from indexing import Indexer

from codegraph_assets.config import ChunkingConfig, load_indexing_config
from codegraph_assets.core.chunking import chunk_document
from codegraph_assets.core.ir_parser import parse_document
from codegraph_assets.core.lexical_units import lexical_units
from codegraph_assets.stages.chunk_stage import chunk_budget, chunk_set_keys
from codegraph_assets.stages.chunk_worker import Chunker
from codegraph_assets.stages.worker_pool import PARALLEL_FROM_FILES
from resources.embedding_tokens import token_budget
from resources.embeddings import EmbeddingResource
from tests.integration.test_bad_inputs import index_text_stages, lexical_paths
from tests.unit.chunking_samples import SAMPLES

CONFIG = ChunkingConfig()
BUDGET = token_budget(EmbeddingResource(model="all-MiniLM-L6-v2"), CONFIG)


def _files() -> list[tuple[str, bytes, object, str | None]]:
    """Real standard-library modules, a sample of every other parsed language, and a text file (no IR)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    paths = sorted(p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts)[::60]
    files = [(p.name, p.read_bytes(), "python") for p in paths]
    files += [(f"sample.{language}", source.encode(), language) for language, source in SAMPLES.items()]
    items = [(name, content, parse_document(content, language), language) for name, content, language in files]
    return items + [("notes.txt", b"plain text\n" * 400, None, None)]


def test_chunks_made_by_child_processes_are_those_made_in_process():
    items = _files()
    with Chunker(CONFIG, BUDGET, workers=1) as in_process:
        expected = dict(in_process.chunk_stream(items))
    with Chunker(CONFIG, BUDGET, workers=2) as children:
        made = list(children.chunk_stream(iter(items)))
        assert children.processes_started == (2 if (os.cpu_count() or 1) > 1 else 0)  # not this process
    assert [name for name, _ in made] == [name for name, *_ in items]  # in the order the files came
    assert dict(made) == expected and sum(len(chunks) for _, chunks in made) > 500


def test_a_chunking_child_that_dies_leaves_its_file_without_chunks_and_the_next_file_gets_a_fresh_child():
    name, content, document, language = _files()[0]
    with Chunker(CONFIG, BUDGET, workers=2) as chunker:
        [(_, first)] = chunker.chunk_stream([(name, content, document, language)])
        for worker in chunker._pool._pool._workers:
            if worker._process is not None:
                worker._process.kill()  # what the kernel's OOM killer does to a child
        outcomes = dict(chunker.chunk_stream([("dies", content, document, language),
                                              ("after", content, document, language)]))
    assert first and outcomes["dies"] is None and outcomes["after"] == first


def test_a_partition_with_many_files_is_chunked_and_cut_into_lexical_units_by_children(codegraph_home, make_repo):
    files = {f"pkg/mod{i}.py": f"class Thing{i}:\n    def run(self, x):\n        return x * {i}\n\n\n"
                               f'def helper_{i}(value):\n    """Doubles {i}."""\n    return value * 2\n'
             for i in range(PARALLEL_FROM_FILES + 10)}
    repo = make_repo(files)
    data = index_text_stages(repo.path, "many")
    assert data["chunk"]["files_chunked"] == data["lexical"]["documents_added"] == len(files)
    # Children did the work: as many as the config allows, at most one per CPU (none on a single CPU).
    config = load_indexing_config()
    children = min(config.defaults.parallel_workers, os.cpu_count() or 1)
    assert data["ir"]["parse_processes"] == children
    assert data["lexical"]["unit_processes"] == data["chunk"]["chunk_processes"] == (children if children > 1 else 0)

    indexer = Indexer()
    with dg.build_resources({"metadata": indexer.resources["metadata"]}) as resources:
        store = resources.metadata.open()
        head = store.published("many", "main", "chunk")
        entries = [e for e in store.load_manifest(head.manifest_id) if e.indexed]
        set_key = chunk_set_keys(config, indexer.resources["embeddings"])
        stored = {}
        for chunk in store.snapshot_chunks(entries, {e.blob_sha: set_key(e.blob_sha) for e in entries}):
            stored.setdefault(chunk.path, []).append(chunk.chunk)
    budget = chunk_budget(config, indexer.resources["embeddings"])
    units = 0
    for path, source in files.items():
        document = parse_document(source.encode(), "python")
        expected = chunk_document(source.encode(), document, "python", config.chunking, budget)
        assert [c.chunk_hash for c in stored[path]] == [c.chunk_hash for c in expected], path
        units += len(lexical_units(source, document.symbols, window_lines=config.lexical.unit_window_lines,
                                   max_unit_lines=config.lexical.max_unit_lines))
    assert data["lexical"]["units_added"] == units
    assert lexical_paths("many", "helper_7")[0] == "pkg/mod7.py"
