"""`codegraph export-scip OUT`: the stored IR of one indexed repo|snapshot as a SCIP index file."""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from codegraph_assets.cli.context import cli_resources
from codegraph_assets.cli.search_command import _default_partition
from codegraph_assets.config import IndexingConfig
from codegraph_assets.core import scip_pb
from codegraph_assets.core.ir_resolve import RepositoryResolver
from codegraph_assets.core.languages import parser_version
from codegraph_assets.core.scip_export import ScipExportStats, SnapshotDocument, scip_package, write_scip_index
from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.navigation import require_serving
from codegraph_assets.stages.documents import STATUS_PARSED, doc_key
from resources.metadata_store import MetadataStore


def register(commands) -> None:
    """Add `export-scip` to the `codegraph` parser."""
    command = commands.add_parser(
        "export-scip", help="write the IR of an indexed repo|snapshot as a SCIP index (Sourcegraph's protobuf)")
    command.add_argument("out", metavar="OUT", help="the .scip file to write (replaced atomically)")
    command.add_argument("--repo", help="default: the only registered repository")
    command.add_argument("--snapshot", help="default: the repository's only tracked ref")
    command.add_argument("--json", action="store_true", help="print the export summary as JSON")
    command.set_defaults(handler=run)


def run(args) -> int:
    out = _output_path(args.out)
    with cli_resources() as (config, _defs, resources):
        store = resources.metadata.open()
        repo, snapshot = _default_partition(store, args.repo, args.snapshot)
        stats, commit = export_snapshot(store, config, repo, snapshot, out, ["export-scip", *sys.argv[2:]])
    summary = {"repo": repo, "snapshot": snapshot, "commit": commit, "out": str(out)} | stats.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {out}: {stats.documents} documents, {stats.symbols} symbols, {stats.occurrences} occurrences "
              f"of {repo}|{snapshot} @ {commit[:12]} ({stats.unresolved_occurrences} unresolved names left out)")
    return 0


def export_snapshot(store: MetadataStore, config: IndexingConfig, repo: str, snapshot: str, out: Path,
                    arguments: list[str]) -> tuple[ScipExportStats, str]:
    """Write the serving snapshot's parsed documents to `out` as SCIP; (stats, commit exported)."""
    serving = require_serving(store, repo, snapshot)
    record = store.get_repo(repo)
    entries = {e.path: e.blob_sha for e in store.load_manifest(serving.manifest_id) if e.indexed}
    keys = {path: doc_key(blob, config) for path, blob in entries.items()}
    statuses = store.document_statuses(set(keys.values()))
    parsed = sorted(path for path, key in keys.items() if statuses.get(key, ("", 0))[0] == STATUS_PARSED)
    metadata = scip_pb.Metadata(
        tool_info=scip_pb.ToolInfo(name="codegraph", version=f"{importlib.metadata.version('codegraph')} "
                                   f"({parser_version()})", arguments=arguments),
        project_root=_project_root(record.location if record else repo, record.kind if record else ""),
        text_document_encoding=scip_pb.TEXT_ENCODING_UTF8,
    )

    # Cross-file resolution needs every document's interface; occurrences stay packed until exported.
    loaded = {path: store.load_document(keys[path]) for path in parsed}
    documents = {path: document for path, document in loaded.items() if document is not None}  # None: collected
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        with partial.open("wb") as handle:
            stats = write_scip_index(handle, metadata, scip_package(repo, serving.commit),
                                     (SnapshotDocument(path, document) for path, document in documents.items()),
                                     frozenset(documents), RepositoryResolver(documents).resolve)
        os.replace(partial, out)  # readers never see half an index
    finally:
        partial.unlink(missing_ok=True)
    return stats, serving.commit


def _output_path(raw: str) -> Path:
    out = Path(raw).expanduser().absolute()
    if out.is_dir():
        raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"OUT {raw!r} is a directory", input=raw,
                             fix="give a file path, e.g. index.scip")
    if not out.parent.is_dir():
        raise CodegraphError(ErrorCode.PATH_NOT_FOUND, f"the folder of OUT {raw!r} does not exist", input=raw,
                             fix=f"create {out.parent} first, or write the index elsewhere")
    return out


def _project_root(location: str, kind: str) -> str:
    """SCIP's project_root URI: file:// for a local checkout, the remote URL without any credentials."""
    if kind in ("git_local", "directory"):
        return Path(location).as_uri()
    parts = urlsplit(location)
    if parts.scheme and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return location
