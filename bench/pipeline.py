"""bench/pipeline: stage throughput of a cold index, each stage against its raw library in the same run.

    .venv/bin/python bench/pipeline.py [--package attrs==25.4.0] [--stdlib | --no-stdlib | --stdlib-only]
                                       [--backends onnx,onnx-int8] [--backend-sample N] [--json]

Downloads the sdist from PyPI, commits it into a temp git repository and indexes it through Dagster
exactly as `codegraph index` does (all four assets, the packaged local model, an isolated CODEGRAPH_HOME).
Prints:
  - per stage: seconds, files/s, MB/s, chunks/s (the model is loaded before timing, its load time apart);
  - vector stage ÷ raw `SentenceTransformer.encode` of the same chunk texts (the embed_text of every
    chunk the stage embedded, read back from the metadata store), same model and batch size, one call
    timed twice, the faster taken; and, as the same ratio, those texts embedded the way the stage did
    before it sorted them by length (`embed` per batch of batch.vector_batch_size, in chunk-hash order);
  - peak RSS of the index run: ru_maxrss (RUSAGE_SELF) of this process, where Dagster's in-process
    executor runs every step, and the largest child's peak (the IR parse worker, git), sampled from
    /proc VmHWM: RUSAGE_CHILDREN is no use here, Linux counts in it the parent's RSS at fork time.
With --backends (needs the onnx extra), the same texts on each faster embedding backend: seconds and the
ratio to the raw torch encode, cosine agreement with the torch vectors, and top-10 overlap with torch's
ranking over the corpus for a few code-search questions (bench/_backend_quality.py).
Then (unless --no-stdlib; --stdlib-only runs this part alone, without the package and the model) ir +
lexical + chunk, no vector, on every .py of this interpreter's standard library committed into a temp git
repository: MB/s, and throughput as a fraction of raw tree-sitter parsing of the same files (Parser +
tree_sitter_python, nothing else), with `parse_document` called in-process on them as a breakdown of the ir
stage (parse + extraction query, without the worker process and the store).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

from _backend_quality import compare_backends
from _corpus import commit_files, commit_release, download, new_repo, print_figures  # bench/ is sys.path[0] as a script

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
SOURCE_STAGES = ("ir", "lexical", "chunk")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", default="attrs==25.4.0", help="NAME==VERSION of a PyPI sdist")
    parser.add_argument("--stdlib", action=argparse.BooleanOptionalAction, default=True,
                        help="ir + lexical + chunk on the standard library too (default: yes)")
    parser.add_argument("--stdlib-only", action="store_true",
                        help="only the standard library part: no package, no vector stage, no model")
    parser.add_argument("--backends", default="", help="comma-separated embedding backends to compare with torch "
                        "on the same texts (onnx, onnx-int8; needs the onnx extra)")
    parser.add_argument("--backend-sample", type=int, default=0, metavar="N",
                        help="compare the backends on N evenly spaced texts, against a torch encode of those N "
                             "(default: all texts; `make bench` uses 600 to fit its time)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    name, _, version = args.package.partition("==")
    if not version:
        parser.error("--package takes NAME==VERSION")

    work = Path(tempfile.mkdtemp(prefix="codegraph-bench-"))
    try:
        figures = _run(name, version, args.stdlib or args.stdlib_only, backends, work, package=not args.stdlib_only,
                       backend_sample=args.backend_sample)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_figures(figures, args.json)
    return 0


def _run(name: str, version: str, stdlib: bool, backends: list[str], work: Path, *, package: bool = True,
         backend_sample: int = 0) -> dict:
    os.environ["CODEGRAPH_HOME"] = str(work / "home")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import dagster as dg  # after CODEGRAPH_HOME: resource defaults are read at import

    from codegraph_assets.assets import ALL_ASSETS
    from codegraph_assets.config import load_indexing_config
    from codegraph_assets.partitions import partition_key
    from codegraph_assets.registry import register_repo
    from codegraph_assets.resource_defs import build_resource_defs
    from codegraph_assets.stages.chunk_stage import chunk_set_keys

    config = load_indexing_config()
    resources = build_resource_defs(config)
    set_key = chunk_set_keys(config, resources["embeddings"])
    embeddings = resources["embeddings"]
    instance = dg.DagsterInstance.ephemeral()
    with dg.build_resources({"metadata": resources["metadata"]}) as r:
        store = r.metadata.open()

    def index(repo_name: str, location: Path, selection: list[str] | None = None) -> tuple[float, dict]:
        register_repo(store, instance, repo_name, str(location), ["main"])
        began = time.perf_counter()
        result = dg.materialize(ALL_ASSETS, selection=selection, partition_key=partition_key(repo_name, "main"),
                                instance=instance, resources=resources, run_config=QUIET)
        seconds = time.perf_counter() - began
        return seconds, {e.event_specific_data.materialization.asset_key.to_user_string():
                         {k: v.value for k, v in e.event_specific_data.materialization.metadata.items()}
                         for e in result.get_asset_materialization_events()}

    def indexed_entries(repo_name: str) -> list:
        head = store.published(repo_name, "main", "ir")
        return [e for e in store.load_manifest(head.manifest_id) if e.indexed]

    if not package:
        return _stdlib(index, indexed_entries, work)
    repo = new_repo(work / name)
    commit_release(repo, download(name, version, work / "sdists"), version)
    started = time.perf_counter()
    embeddings.embed(["warm up"])  # load the model once, outside the timings
    model_load_s = time.perf_counter() - started

    with ChildPeaks() as children:
        index_s, stages = index(name, repo)
    self_peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux

    entries = indexed_entries(name)
    keys = {e.blob_sha: set_key(e.blob_sha) for e in entries}
    text_of = {c.chunk.chunk_hash: c.chunk.embed_text for c in store.snapshot_chunks(entries, keys)}
    texts = list(text_of.values())

    torch_vectors = []

    def raw_encode() -> float:
        began = time.perf_counter()
        torch_vectors[:] = [embeddings.local_model().encode(
            texts, batch_size=embeddings.local_batch_size(), convert_to_numpy=True, normalize_embeddings=True,
            show_progress_bar=False)]
        return time.perf_counter() - began

    # Twice, around the unsorted pass: on a shared machine the faster one is the fairer reference.
    first_encode_s = raw_encode()
    in_hash_order, batch = [text_of[h] for h in sorted(text_of)], config.batch.vector_batch_size
    began = time.perf_counter()
    for start in range(0, len(in_hash_order), batch):
        embeddings.embed(in_hash_order[start:start + batch])
    unsorted_s = time.perf_counter() - began
    second_encode_s = raw_encode()
    raw_encode_s = min(first_encode_s, second_encode_s)

    megabytes = sum(e.size for e in entries) / 1e6
    vector = stages["vector"]
    figures: dict[str, object] = {
        "corpus": f"{name} {version} from PyPI: {len(entries)} files, {megabytes:.2f} MB, "
                  f"{vector['chunks_total']} chunks",
        "model_load_s": round(model_load_s, 2),
        "index_s (all four assets, wall)": round(index_s, 2),
    }
    for stage in (*SOURCE_STAGES, "vector"):
        figures[f"{stage}_s"] = _stage_line(stages[stage], len(entries), megabytes)
    figures["vector chunks embedded / raw encode texts"] = f"{vector['chunks_embedded']} / {len(texts)}"
    figures["raw encode_s (same texts, one call)"] = (
        f"{raw_encode_s:.2f} s = faster of {first_encode_s:.2f} s and {second_encode_s:.2f} s (batch_size "
        f"{embeddings.local_batch_size()} on {embeddings._local_device()}, {len(texts) / raw_encode_s:.1f} chunks/s)")
    figures["vector ÷ raw encode"] = round(vector["duration_s"] / raw_encode_s, 3)
    figures["unsorted batches ÷ raw encode"] = f"{unsorted_s / raw_encode_s:.3f} ({unsorted_s:.2f} s: embed per " \
                                              f"{batch} in hash order, as before sorting by length)"
    figures["peak RSS, this process (RUSAGE_SELF)"] = f"{self_peak_kb / 1024:.0f} MB"
    figures["peak RSS, largest child (/proc VmHWM)"] = children.largest()
    if backends:
        sample, vectors, reference_s = texts, torch_vectors[0], raw_encode_s
        if 0 < backend_sample < len(texts):
            # Evenly spaced, so the sample keeps the corpus's mix of lengths; its own torch encode is the reference.
            picked = [int(i * len(texts) / backend_sample) for i in range(backend_sample)]
            sample, vectors = [texts[i] for i in picked], torch_vectors[0][picked]
            began = time.perf_counter()
            embeddings.local_model().encode(sample, batch_size=embeddings.local_batch_size(), convert_to_numpy=True,
                                            normalize_embeddings=True, show_progress_bar=False)
            reference_s = time.perf_counter() - began
            figures["backend sample"] = (f"{backend_sample} of {len(texts)} texts, evenly spaced; their raw torch "
                                         f"encode {reference_s:.2f} s")
        figures.update(compare_backends(embeddings, sample, vectors, reference_s, backends))
    if stdlib:
        figures.update(_stdlib(index, indexed_entries, work))
    return figures


def _stdlib(index, indexed_entries, work: Path) -> dict:
    """ir + lexical + chunk on the standard library's .py files, against raw tree-sitter on the same bytes."""
    import tree_sitter
    import tree_sitter_python

    from codegraph_assets.config import load_indexing_config
    from codegraph_assets.core.ir_parser import parse_document

    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.rglob("*.py")
                   if not {"site-packages", "__pycache__"} & set(p.relative_to(root).parts))
    repo = new_repo(work / "stdlib")
    commit_files(repo, root, files, f"Lib of Python {sys.version.split()[0]}")
    cpu_before = os.times()
    with ChildPeaks() as children:  # the stages' worker processes: parsing, lexical units, chunking
        index_s, stages = index("stdlib", repo, list(SOURCE_STAGES))
    index_cpu_s = _cpu_seconds(os.times()) - _cpu_seconds(cpu_before)
    self_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    entries = indexed_entries("stdlib")
    megabytes = sum(e.size for e in entries) / 1e6

    indexed = {e.path for e in entries}  # the same files as the stages: skipped ones (size, patterns) left out
    contents = [p.read_bytes() for p in files if p.relative_to(root).as_posix() in indexed]
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_python.language()))
    began = time.perf_counter()
    for content in contents:
        parser.parse(content)
    raw_parse_s = time.perf_counter() - began
    began = time.perf_counter()
    for content in contents:
        parse_document(content, "python")
    parse_document_s = time.perf_counter() - began

    stages_s = sum(stages[s]["duration_s"] for s in SOURCE_STAGES)
    figures: dict[str, object] = {
        "stdlib corpus": f"{len(entries)} .py files of {root}, {megabytes:.2f} MB",
        "stdlib index_s (ir + lexical + chunk, wall)": round(index_s, 2),
    }
    for stage in SOURCE_STAGES:
        figures[f"stdlib {stage}_s"] = _stage_line(stages[stage], len(entries), megabytes)
    figures["stdlib raw tree-sitter parse_s"] = f"{raw_parse_s:.2f} s ({megabytes / raw_parse_s:.2f} MB/s)"
    figures["stdlib ir+lexical+chunk MB/s"] = round(megabytes / stages_s, 3)
    figures["stdlib ir+lexical+chunk ÷ raw parse (throughput)"] = round(raw_parse_s / stages_s, 3)
    figures["stdlib ir alone ÷ raw parse (throughput)"] = round(raw_parse_s / stages["ir"]["duration_s"], 3)
    figures["stdlib parse_document in-process ÷ raw parse"] = round(raw_parse_s / parse_document_s, 3)
    # What the stages cost whatever the core count: on N cores the throughput ratio is at most N × this.
    cores = os.cpu_count() or 1
    figures["stdlib ir+lexical+chunk CPU s (process + children)"] = \
        f"{index_cpu_s:.1f} s: {index_cpu_s / index_s:.2f} of {cores} cores busy on average"
    figures["stdlib ir+lexical+chunk ÷ raw parse, per CPU second"] = round(raw_parse_s / index_cpu_s, 3)
    # Children of one stage run at once (at most one per CPU); the stages run one after the other.
    at_once = min(load_indexing_config().defaults.parallel_workers, os.cpu_count() or 1)
    largest_child_mb = max((kb for kb, _ in children.peak_kb.values()), default=0) / 1024
    figures["stdlib index peak RSS: this process / largest child"] = \
        f"{self_peak_mb:.0f} MB / {children.largest()}"
    figures["stdlib index peak RSS, whole run (bound: process + children at once × largest)"] = \
        f"{self_peak_mb + at_once * largest_child_mb:.0f} MB"
    return figures


def _cpu_seconds(times: os.times_result) -> float:
    """User + system CPU of this process and of its reaped children (the stages' workers are reaped when a
    stage closes its pool, so a stage's children are all counted once it returns)."""
    return times.user + times.system + times.children_user + times.children_system


def _stage_line(metadata: dict, files: int, megabytes: float) -> str:
    """seconds, then files/s and MB/s over the corpus, and chunks/s where the stage makes or embeds chunks."""
    seconds = metadata["duration_s"]
    line = f"{seconds:.2f} s: {files / seconds:.1f} files/s, {megabytes / seconds:.3f} MB/s"
    chunks = metadata.get("chunks_created", metadata.get("chunks_embedded"))
    if chunks is not None:
        line += f", {chunks / seconds:.1f} chunks/s"
    return line


class ChildPeaks:
    """The peak RSS (VmHWM) of every descendant process seen while the block runs, polled from /proc."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self.peak_kb: dict[int, tuple[int, str]] = {}  # pid → (VmHWM kB, command)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> ChildPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def largest(self) -> str:
        if not self.peak_kb:
            return "no child process seen"
        kb, command = max(self.peak_kb.values())
        return f"{kb / 1024:.0f} MB ({command}; {len(self.peak_kb)} child processes seen)"

    def _poll(self) -> None:
        ours = _command(os.getpid())
        while not self._stop.wait(self.interval_s):
            for pid in _descendants(os.getpid()):
                try:
                    command = _command(pid)  # first: a status read after an exec is the new program's
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue  # it exited meanwhile
                if command == ours:
                    continue  # forked, not yet exec'd: its pages are still this process's
                command = command[:60].strip()
                hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")), 0)
                self.peak_kb[pid] = max(self.peak_kb.get(pid, (0, "")), (hwm, command))


def _command(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def _descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *_descendants(child)]
    return found


if __name__ == "__main__":
    sys.exit(main())
