"""bench/peer_llamaindex: codegraph against LlamaIndex's IngestionPipeline, same corpus, model and machine.

    .venv/bin/python bench/peer_llamaindex.py [--package attrs==25.4.0] [--backends torch,onnx-int8] [--json]

Needs the bench extra (`pip install -c requirements.lock -e '.[bench]'`; `make bench` does it). The corpus
is every .py file of one PyPI sdist (default attrs 25.4.0), committed into a temp git repository: the
peer's CodeSplitter takes one language, so both sides get exactly the same Python files.

Each side runs as a user runs it, in its own process, twice: cold (nothing stored), then again on the
unchanged files. Ours is `codegraph index REPO --json` (isolated CODEGRAPH_HOME: SQLite, Tantivy, Qdrant
local mode, the packaged all-MiniLM-L6-v2 on torch). The peer is this file with --peer-run: an
`IngestionPipeline` of `CodeSplitter(language="python")` (given a tree-sitter-python parser) and
`HuggingFaceEmbedding` on the same model folder, device and batch size, into a `QdrantVectorStore` on a
local-mode client, with a `SimpleDocumentStore` for de-duplication (upserts strategy), persisted after
each run and loaded before the next (`pipeline.persist` / `pipeline.load`). Printed per run: the
process's wall time (interpreter start and imports included, as a user waits for it), the work inside it
after the imports (ours: the CLI's own `seconds`; the peer: model load, state load, `pipeline.run`, persist),
chunks (nodes), the characters and the model tokens they embed (each text cut at the model's 256-token
window, as encode cuts it: the peer's 1,500-character chunks often lose their tail there, ours are sized
to fit), and ours ÷ the peer's for each. Everything runs in two rounds from empty state, ours first and
then the peer first, and the ratios' geometric mean over both rounds is the figure: on a shared machine
the load drifts, and one fixed order would hand the drift to one side.

`--backends` runs our side once per embedding backend (`embedding.backend`: torch, onnx, onnx-int8) in
each round; the peer always runs on torch. An ONNX backend's one-time export (what installing a model
costs, like a download) is done before the timed runs and copied into each run's fresh CODEGRAPH_HOME.
Our no-change re-run is normally answered by `codegraph index`'s up-to-date check without a Dagster run
(README: Using the CLI).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _corpus import commit_files, download, new_repo, print_figures, unpack  # bench/ is sys.path[0]

PEER_COLLECTION = "peer"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", default="attrs==25.4.0", help="NAME==VERSION of a PyPI sdist")
    parser.add_argument("--backends", default="torch",
                        help="comma-separated embedding backends for our side (torch, onnx, onnx-int8)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--peer-run", nargs=4, metavar=("REPO", "STATE", "DEVICE", "BATCH"),
                        help="internal: one peer run over REPO's .py files with its state in STATE")
    args = parser.parse_args()
    if args.peer_run:
        repo, state, device, batch = args.peer_run
        print(json.dumps(_peer_run(Path(repo), Path(state), device, int(batch))))
        return 0
    name, _, version = args.package.partition("==")
    if not version:
        parser.error("--package takes NAME==VERSION")
    work = Path(tempfile.mkdtemp(prefix="codegraph-peer-"))
    try:
        figures = _run(name, version, work, [b.strip() for b in args.backends.split(",") if b.strip()])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_figures(figures, args.json)
    return 0


def _run(name: str, version: str, work: Path, backends: list[str]) -> dict:
    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    top = unpack(download(name, version, work / "sdists"), work / "unpacked")
    repo = new_repo(work / name)
    commit_files(repo, top, sorted(top.rglob("*.py")), f"the .py files of {name} {version}")
    files = sorted(repo.rglob("*.py"))
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    os.environ["CODEGRAPH_HOME"] = str(work / "settings")
    device, batch_size, model_dir = _our_model_settings()

    sample = next(iter(sorted(top.rglob("*.py"))))
    exports = {backend: _exported_model_cache(backend, work, top, sample) for backend in backends
               if backend != "torch"}

    def ours(round_no: int, backend: str) -> dict:
        home = work / f"home-{round_no}-{backend}"
        if backend in exports:
            shutil.copytree(exports[backend], home / "onnx")
        env = {**os.environ, "CODEGRAPH_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
               "CODEGRAPH_EMBEDDING__BACKEND": backend}
        command = [sys.executable, "-m", "codegraph_assets.cli.main", "index", str(repo), "--repo", name, "--json"]
        (cold, cold_wall), (again, again_wall) = _timed(command, env), _timed(command, env)
        return {"cold_wall": cold_wall, "cold_work": cold["seconds"], "again_wall": again_wall,
                "again_work": again["seconds"], "chunks": cold["stages"]["vector"]["chunks_embedded"],
                "again_embedded": again["stages"].get("vector", {}).get("chunks_embedded", 0),
                "again_up_to_date": again.get("up_to_date", False), **_our_embedded(name, home, backend)}

    def peer(round_no: int) -> dict:
        command = [sys.executable, __file__, "--peer-run", str(repo), str(work / f"peer-{round_no}"), device,
                   str(batch_size)]
        (cold, cold_wall), (again, again_wall) = _timed(command, os.environ), _timed(command, os.environ)
        if cold["points"] != cold["nodes"]:
            raise RuntimeError(f"the peer stored {cold['points']} points for {cold['nodes']} nodes")
        return {"cold_wall": cold_wall, "cold_work": cold["work_s"], "again_wall": again_wall,
                "again_work": again["work_s"], "chunks": cold["nodes"], "again_embedded": again["nodes"],
                "chars": cold["chars"], "tokens": cold["tokens"]}

    # Two rounds in opposite orders, each from empty state: on a shared machine the load drifts, and a
    # fixed order would hand it to one side.
    first_ours = {backend: ours(1, backend) for backend in backends}
    first_peer = peer(1)
    second_peer = peer(2)
    second_ours = {backend: ours(2, backend) for backend in reversed(backends)}
    figures = {
        "corpus": f"the .py files of {name} {version} from PyPI: {len(files)} files, {megabytes:.2f} MB",
        "model / device / batch size (both)": f"{model_dir.name} in {model_dir.parent.name} / {device} / {batch_size}",
    }
    for backend in backends:
        side = f"ours ({backend})"
        for label, mine, theirs in (("round 1 (ours first)", first_ours[backend], first_peer),
                                    ("round 2 (peer first)", second_ours[backend], second_peer)):
            figures[f"{label}: {side} cold"] = _line(mine, "chunks")
            figures[f"{label}: peer cold"] = _line(theirs, "nodes")
            figures[f"{label}: {side} ÷ peer, cold (process / work)"] = _ratios(mine, theirs, "cold")
            figures[f"{label}: no-change re-run, {side} / peer"] = (
                f"{mine['again_wall']:.2f} s (work {mine['again_work']:.2f} s, {mine['again_embedded']} embedded"
                f"{', up to date: no Dagster run' if mine['again_up_to_date'] else ''}) / "
                f"{theirs['again_wall']:.2f} s (work {theirs['again_work']:.3f} s, {theirs['again_embedded']} embedded)")
            figures[f"{label}: {side} ÷ peer, re-run (process / work)"] = _ratios(mine, theirs, "again")
        for phase in ("cold", "again"):
            means = [math.sqrt(r1 * r2) for r1, r2 in zip(
                (first_ours[backend][f"{phase}_{k}"] / first_peer[f"{phase}_{k}"] for k in ("wall", "work")),
                (second_ours[backend][f"{phase}_{k}"] / second_peer[f"{phase}_{k}"] for k in ("wall", "work")))]
            name_of = "cold" if phase == "cold" else "no-change re-run"
            figures[f"{side} ÷ peer, {name_of}, geometric mean of both rounds (process / work)"] = \
                f"{means[0]:.3f} / {means[1]:.3f}"
    return figures


def _timed(command: list[str], env: dict) -> tuple[dict, float]:
    """The JSON a run prints last on stdout, and the run's wall time."""
    began = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:5])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout[done.stdout.index("{"):]), wall


def _line(run: dict, unit: str) -> str:
    return (f"{run['cold_wall']:.2f} s (work {run['cold_work']:.2f} s): {run['chunks']} {unit}, "
            f"{run['chars'] / 1e6:.2f} M chars, {run['tokens'] / 1e3:.0f} k tokens embedded, "
            f"{run['tokens'] / run['cold_work']:.0f} tokens/s of work")


def _ratios(ours: dict, peer: dict, phase: str) -> str:
    return f"{ours[phase + '_wall'] / peer[phase + '_wall']:.3f} / {ours[phase + '_work'] / peer[phase + '_work']:.3f}"


def _model_tokens(texts: list[str]) -> int:
    """Tokens the model actually reads from `texts`: each cut at its max_seq_length, as encode does."""
    from transformers import AutoTokenizer

    from resources.embeddings import resolve_local_model_dir

    if not texts:
        return 0
    folder = resolve_local_model_dir("all-MiniLM-L6-v2")
    limit = json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"]
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    return sum(len(ids) for ids in tokenizer(texts, truncation=True, max_length=limit)["input_ids"])


def _our_model_settings() -> tuple[str, int, Path]:
    """Device, batch size and model folder our embedding resource will use, without loading the model."""
    from codegraph_assets.config import load_indexing_config
    from codegraph_assets.resource_defs import build_resource_defs
    from resources.embeddings import resolve_local_model_dir

    embeddings = build_resource_defs(load_indexing_config())["embeddings"]
    return embeddings._local_device(), embeddings.local_batch_size(), resolve_local_model_dir(embeddings.model)


def _exported_model_cache(backend: str, work: Path, root: Path, sample: Path) -> Path:
    """The ONNX export cache of `backend`, made by one untimed `codegraph index` of one file in a scratch home."""
    home = work / f"export-{backend}"
    repo = new_repo(work / f"export-{backend}-corpus")
    commit_files(repo, root, [sample], "one file: enough to export the model")
    env = {**os.environ, "CODEGRAPH_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
           "CODEGRAPH_EMBEDDING__BACKEND": backend}
    _timed([sys.executable, "-m", "codegraph_assets.cli.main", "index", str(repo), "--repo", "export", "--json"], env)
    return home / "onnx"


def _our_embedded(name: str, home: Path, backend: str) -> dict:
    """Characters and model tokens of every chunk text our index holds (what the vector stage embedded)."""
    import dagster as dg

    from codegraph_assets.config import load_indexing_config
    from codegraph_assets.resource_defs import build_resource_defs
    from codegraph_assets.stages.chunk_stage import chunk_set_keys

    os.environ["CODEGRAPH_HOME"] = str(home)  # resource_defs reads it for the store's location
    os.environ["CODEGRAPH_EMBEDDING__BACKEND"] = backend  # the chunk keys depend on the model id
    config = load_indexing_config()
    resources = build_resource_defs(config)
    with dg.build_resources({"metadata": resources["metadata"]}) as r:
        store = r.metadata.open()
    head = store.published(name, "main", "ir")
    entries = [e for e in store.load_manifest(head.manifest_id) if e.indexed]
    set_key = chunk_set_keys(config, resources["embeddings"])
    chunks = store.snapshot_chunks(entries, {e.blob_sha: set_key(e.blob_sha) for e in entries})
    texts = list({c.chunk.chunk_hash: c.chunk.embed_text for c in chunks}.values())
    return {"chars": sum(map(len, texts)), "tokens": _model_tokens(texts)}


def _peer_run(repo: Path, state: Path, device: str, batch_size: int) -> dict:
    """One LlamaIndex ingestion of `repo`'s .py files, resuming from and saving to `state`."""
    import tree_sitter
    import tree_sitter_python
    from llama_index.core import Document
    from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
    from llama_index.core.node_parser import CodeSplitter
    from llama_index.core.schema import MetadataMode
    from llama_index.core.storage.docstore import SimpleDocumentStore
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.qdrant import QdrantVectorStore
    from qdrant_client import QdrantClient

    from resources.embeddings import resolve_local_model_dir

    # Work starts after the imports and includes the model load, as the CLI's own `seconds` does for ours.
    began = time.perf_counter()
    embed_model = HuggingFaceEmbedding(model_name=str(resolve_local_model_dir("all-MiniLM-L6-v2")), device=device,
                                       embed_batch_size=batch_size)
    load_s = time.perf_counter() - began
    client = QdrantClient(path=str(state / "qdrant"))
    pipeline = IngestionPipeline(
        transformations=[CodeSplitter(language="python", parser=tree_sitter.Parser(
            tree_sitter.Language(tree_sitter_python.language()))), embed_model],
        vector_store=QdrantVectorStore(client=client, collection_name=PEER_COLLECTION),
        docstore=SimpleDocumentStore(),
        docstore_strategy=DocstoreStrategy.UPSERTS,
    )
    if (state / "pipeline").is_dir():
        pipeline.load(str(state / "pipeline"))
    # The path is the document id the docstore de-duplicates on; files are read inside the clock, as ours reads git.
    documents = [Document(text=p.read_text(encoding="utf-8", errors="replace"), id_=p.relative_to(repo).as_posix(),
                          metadata={"file_path": p.relative_to(repo).as_posix()}) for p in sorted(repo.rglob("*.py"))]
    nodes = pipeline.run(documents=documents)
    pipeline.persist(str(state / "pipeline"))
    work_s = time.perf_counter() - began
    stored = client.count(PEER_COLLECTION).count
    client.close()
    texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
    return {"load_s": load_s, "work_s": work_s, "nodes": len(nodes), "points": stored,
            "chars": sum(map(len, texts)), "tokens": _model_tokens(texts)}


if __name__ == "__main__":
    sys.exit(main())
