"""bench/ir_accuracy: the IR against independent ground truth, and its throughput against raw tree-sitter.

    .venv/bin/pip install -c requirements.lock -e '.[bench]'      # jedi, once
    .venv/bin/python bench/ir_accuracy.py [--python rich==14.2.0] [--typescript rxjs@7.8.2]
                                          [--sites 1000] [--seed 7] [--no-throughput] [--json]

Each corpus is a real third-party release (a PyPI sdist, an npm package's TypeScript sources) committed into
a temp git repository and indexed through Dagster's `ir` asset exactly as `codegraph index` does; the
figures compare what the metadata store then holds with:
  - Python definitions: the stdlib `ast` (mapping in `_ir_python_reference`), over (path, name, kind, line);
  - Python go-to-definition: jedi `Script.goto(follow_imports=True)` on a seeded sample of reference sites;
  - TypeScript definitions and go-to-definition: the TypeScript compiler API (`ts_reference/reference.js`).
Precision = agreeing / what we answered; recall = agreeing / what the reference answered inside the corpus.
Go-to-definition agrees when our definition's (path, line of its name) is among the reference's answers.
Then (unless --no-throughput) bench/pipeline.py's standard-library run, which already measures the ir stage
(parse + IR build) in MB/s against raw tree-sitter parsing of the same files in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _corpus import commit_files, commit_release, download, new_repo, print_figures  # bench/ is sys.path[0]

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
PYTHON_KINDS = frozenset({"class", "function", "method", "constant"})
TYPESCRIPT_KINDS = frozenset({"class", "function", "method", "interface", "type", "enum", "module"})
EXAMPLES = 8  # disagreements listed per figure, to route extraction bugs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default="rich==14.2.0", help="NAME==VERSION of a PyPI sdist")
    parser.add_argument("--typescript", default="rxjs@7.8.2", help="NAME@VERSION of an npm package with .ts sources")
    parser.add_argument("--sites", type=int, default=1000, help="reference sites sampled per language")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--throughput", action=argparse.BooleanOptionalAction, default=True,
                        help="bench/pipeline.py's stdlib ir ÷ raw tree-sitter figures too (default: yes)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="codegraph-ir-accuracy-"))
    try:
        figures = _run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_figures(figures, args.json)
    return 0


def _run(args, work: Path) -> dict:
    os.environ["CODEGRAPH_HOME"] = str(work / "home")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import dagster as dg  # after CODEGRAPH_HOME: resource defaults are read at import

    from codegraph_assets.assets import ALL_ASSETS
    from codegraph_assets.config import load_indexing_config
    from codegraph_assets.partitions import partition_key
    from codegraph_assets.registry import register_repo
    from codegraph_assets.resource_defs import build_resource_defs
    from codegraph_assets.stages.documents import STATUS_PARSED, doc_key

    config = load_indexing_config()
    resources = build_resource_defs(config)
    instance = dg.DagsterInstance.ephemeral()
    with dg.build_resources({"metadata": resources["metadata"]}) as r:
        store = r.metadata.open()

    def index(repo_name: str, location: Path, selection: list[str] | None = None) -> tuple[float, dict]:
        register_repo(store, instance, repo_name, str(location), ["main"])
        began = time.perf_counter()
        result = dg.materialize(ALL_ASSETS, selection=selection or ["ir"], instance=instance, resources=resources,
                                partition_key=partition_key(repo_name, "main"), run_config=QUIET)
        return time.perf_counter() - began, {
            e.event_specific_data.materialization.asset_key.to_user_string():
            {k: v.value for k, v in e.event_specific_data.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}

    def indexed_entries(repo_name: str) -> list:
        head = store.published(repo_name, "main", "ir")
        return [e for e in store.load_manifest(head.manifest_id) if e.indexed]

    def stored_documents(repo_name: str) -> dict:
        keys = {e.path: doc_key(e.blob_sha, config) for e in indexed_entries(repo_name)}
        statuses = store.document_statuses(set(keys.values()))
        return {path: store.load_document(key) for path, key in keys.items()
                if statuses.get(key, ("", 0))[0] == STATUS_PARSED}

    figures: dict[str, object] = {"semantic tier": config.defaults.semantic_tier}
    figures.update(_python(args, work, index, stored_documents))
    figures.update(_typescript(args, work, index, stored_documents))
    if args.throughput:
        from pipeline import _stdlib  # the same standard-library run bench/pipeline.py reports

        stdlib = _stdlib(index, indexed_entries, work)
        figures.update({name: value for name, value in stdlib.items() if not name.startswith("peak RSS")})
    return figures


def _python(args, work: Path, index, stored_documents) -> dict:
    import _ir_python_reference as reference
    from _ir_ours import IndexedSnapshot

    name, _, version = args.python.partition("==")
    repo = new_repo(work / "python-corpus")
    commit_release(repo, download(name, version, work / "sdists"), version)
    paths = _tracked(repo, (".py",))
    index_s, _ = index("python-corpus", repo)
    ours = IndexedSnapshot(stored_documents("python-corpus"))

    truth = {(d.path, d.name, d.kind, d.line) for d in reference.definitions(repo, paths)}
    megabytes = sum((repo / p).stat().st_size for p in paths) / 1e6
    figures = {"python corpus": f"{args.python} from PyPI: {len(paths)} .py files, {megabytes:.2f} MB; "
                                f"ir stage {index_s:.1f} s"}
    figures.update(_set_figures("python definitions", truth, ours.definitions(PYTHON_KINDS)))

    population = reference.reference_sites(repo, paths)
    sites = reference.sample(population, args.sites, args.seed)
    began = time.perf_counter()
    jedi = reference.jedi_targets(repo, sites)
    jedi_s = time.perf_counter() - began
    answers = {site: ours.goto(site.path, site.line, site.column) for site in sites}
    defined = {(path, line) for path, _, _, line in truth}
    figures["python go-to-definition sites"] = (
        f"{len(sites)} of {len(population)} name/attribute reads (seed {args.seed}); jedi {jedi_s:.0f} s")
    figures.update(_goto_figures("python go-to-definition", sites, jedi, answers, defined))
    return figures


def _typescript(args, work: Path, index, stored_documents) -> dict:
    import _ir_typescript_reference as reference
    from _ir_ours import IndexedSnapshot

    package = reference.npm_package(args.typescript, work / "npm")
    sources = sorted(p for p in package.rglob("*.ts") if not p.name.endswith(".d.ts"))
    repo = new_repo(work / "typescript-corpus")
    commit_files(repo, package, sources, f"{args.typescript} TypeScript sources")
    paths = _tracked(repo, (".ts",))
    index_s, _ = index("typescript-corpus", repo)
    ours = IndexedSnapshot(stored_documents("typescript-corpus"))

    answer = reference.compiler_answers(repo, paths, args.sites, args.seed)
    truth = {(d["path"], d["name"], d["kind"], d["line"]) for d in answer["definitions"]}
    figures = {"typescript corpus": f"{args.typescript} from npm: {len(paths)} .ts files (no .d.ts), "
                                    f"{sum((repo / p).stat().st_size for p in paths) / 1e6:.2f} MB; ir stage "
                                    f"{index_s:.1f} s; TypeScript {answer['typescript']}"}
    figures.update(_set_figures("typescript definitions", truth, ours.definitions(TYPESCRIPT_KINDS)))

    lines_of: dict[str, list[bytes]] = {}
    sites, targets, answers = [], {}, {}
    for item in answer["sites"]:
        lines = lines_of.setdefault(item["path"], (repo / item["path"]).read_bytes().split(b"\n"))
        column = reference.utf16_to_byte_column(lines[item["line"] - 1], item["character"])
        site = (item["path"], item["line"], column, item["name"])
        sites.append(site)
        targets[site] = {(t["path"], t["line"]) for t in item["targets"]}
        answers[site] = ours.goto(item["path"], item["line"], column)
    defined = {(path, line) for path, _, _, line in truth}
    figures["typescript go-to-definition sites"] = f"{len(sites)} identifier reads (seed {args.seed})"
    figures.update(_goto_figures("typescript go-to-definition", sites, targets, answers, defined))
    return figures


def _set_figures(label: str, truth: set, ours: set) -> dict:
    agree = truth & ours
    return {
        f"{label}: reference / ours / both": f"{len(truth)} / {len(ours)} / {len(agree)}",
        f"{label} precision": _ratio(len(agree), len(ours)),
        f"{label} recall": _ratio(len(agree), len(truth)),
        f"{label}: missed (first {EXAMPLES})": sorted(truth - ours)[:EXAMPLES],
        f"{label}: extra (first {EXAMPLES})": sorted(ours - truth)[:EXAMPLES],
    }


def _goto_figures(label: str, sites: list, reference: dict, ours: dict, defined: set) -> dict:
    """Precision and recall of our answers against the reference's (agreeing: one of the reference's (path,
    line) answers is a binding of our symbol; strictly: is its first definition), and recall over the sites
    whose reference answer is a definition of the compared kinds (locals and attributes excluded)."""
    answered = [s for s in sites if ours[s] is not None]
    expected = [s for s in sites if reference[s]]
    correct = [s for s in answered if ours[s].bindings & reference[s]]
    strict = [s for s in answered if ours[s].definition in reference[s]]
    to_definitions = [s for s in expected if reference[s] & defined]
    wrong = [(s, ours[s].definition, sorted(reference[s])) for s in answered if not ours[s].bindings & reference[s]]
    return {
        f"{label}: reference answered / we answered / agree": f"{len(expected)} / {len(answered)} / {len(correct)}",
        f"{label} precision": _ratio(len(correct), len(answered)),
        f"{label} recall": _ratio(len(correct), len(expected)),
        f"{label} precision, first definition only": _ratio(len(strict), len(answered)),
        f"{label} recall, reference target a compared definition": _ratio(
            sum(1 for s in to_definitions if ours[s] is not None and ours[s].bindings & reference[s]),
            len(to_definitions)),
        f"{label}: disagreements (first {EXAMPLES})": [tuple(map(str, w)) for w in wrong[:EXAMPLES]],
    }


def _ratio(part: int, whole: int) -> str:
    return f"{part / whole:.4f} ({part}/{whole})" if whole else "n/a (0)"


def _tracked(repo: Path, suffixes: tuple[str, ...]) -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=repo, check=True, capture_output=True, text=True).stdout
    return sorted(p for p in listed.splitlines() if p.endswith(suffixes) and not p.endswith(".d.ts"))


if __name__ == "__main__":
    sys.exit(main())
