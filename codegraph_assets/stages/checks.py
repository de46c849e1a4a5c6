"""Asset checks (plain Python): does what a partition's stages published match what they should hold?

Each check reads the head its stage published for the partition, recomputes what that head should
contain from the metadata store, and compares it with the index itself. Count mismatches mean a bug or
corruption (ERROR); a high parse-error rate or an index behind its ref is data quality (WARN).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.source import ManifestEntry, is_binary
from codegraph_assets.errors import CodegraphError
from codegraph_assets.stages.documents import STATUS_BINARY, STATUS_PARSED, doc_key
from codegraph_assets.stages.snapshot import registered_repo, resolve_commit
from resources.git import GitResource
from resources.metadata_store import MetadataStore, PublishedSnapshot
from resources.qdrant_store import QdrantResource
from resources.tantivy_index import TantivyResource

Severity = Literal["ERROR", "WARN"]  # the values of dagster.AssetCheckSeverity
_SAMPLE = 5  # paths named in a check's metadata; the rest are counted
_HEAD_READS = 3  # a lexical run publishing meanwhile may retire the index being read: read its successor


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    severity: Severity  # applies when not passed
    description: str
    expected: int | float | str | None = None  # a count, a rate or a commit
    actual: int | float | str | None = None
    commit: str | None = None  # the commit of the head that was checked
    details: dict[str, object] = field(default_factory=dict)


def vector_points_match_chunks(store: MetadataStore, qdrant: QdrantResource, collection: str, repo: str,
                               snapshot: str, config: IndexingConfig,
                               chunk_set_key: Callable[[str], str]) -> CheckOutcome:
    """Qdrant holds exactly one point per chunk of every file of the vector head's manifest; `chunk_set_key`
    names a blob's chunk set under the run's chunking and model (stages.chunk_stage.chunk_set_keys)."""
    head = store.published(repo, snapshot, "vector")
    if head is None:
        return _unpublished(repo, snapshot, "vector")
    entries = _indexed(store, head)
    set_key_of = {e.blob_sha: chunk_set_key(e.blob_sha) for e in entries}
    missing_sets = set(set_key_of.values()) - store.present_chunk_sets(set_key_of.values())
    expected = Counter((c.path, c.blob_sha) for c in store.snapshot_chunks(entries, set_key_of))
    files = {(e.path, e.blob_sha) for e in entries}
    # Points of the previous serving snapshot may remain until the next vector run: count this manifest's.
    actual = Counter(f for f in qdrant.point_files(collection, repo, snapshot).values() if f in files)
    wrong = sorted(path for path, blob in files if expected[path, blob] != actual[path, blob])
    details: dict[str, object] = {"manifest_id": head.manifest_id, "collection": collection,
                                  "files_with_wrong_point_counts": len(wrong), "first_wrong_files": wrong[:_SAMPLE]}
    if missing_sets:
        details["files_without_chunks"] = sum(1 for e in entries if set_key_of[e.blob_sha] in missing_sets)
    total_expected, total_actual = sum(expected.values()), sum(actual.values())
    if not wrong and not missing_sets:
        return CheckOutcome(True, "ERROR", f"{total_actual} points, one per chunk of {len(files)} files",
                            total_expected, total_actual, head.commit, details)
    problem = (f"{len(wrong)} files have missing or extra points (first: {wrong[0]})" if wrong else
               f"{details['files_without_chunks']} files have no stored chunks, so their points cannot be verified")
    return CheckOutcome(False, "ERROR", f"Qdrant has {total_actual} points for {total_expected} chunks: {problem}. "
                        "Fix: re-materialize vector for this partition (chunk first if chunks are missing)",
                        total_expected, total_actual, head.commit, details)


def lexical_documents_match_files(store: MetadataStore, git: GitResource, tantivy: TantivyResource, repo: str,
                                  snapshot: str, config: IndexingConfig) -> CheckOutcome:
    """The lexical head's Tantivy index holds one document per indexed text file of its manifest, at its blob."""
    unreadable = None
    for _ in range(_HEAD_READS):
        head = store.published(repo, snapshot, "lexical")
        if head is None:
            return _unpublished(repo, snapshot, "lexical")
        try:
            actual, unreadable = tantivy.documents(repo, snapshot, head.manifest_id), None
        except CodegraphError as error:  # an index that cannot be opened is what this check is for
            actual, unreadable = [], error.message
        if store.published(repo, snapshot, "lexical") == head:
            break
    expected = _text_files(store, git, repo, _indexed(store, head), config)
    found = set(actual)
    missing = sorted(path for path, blob in expected - found)
    unexpected = sorted(path for path, blob in found - expected)
    details: dict[str, object] = {"manifest_id": head.manifest_id, "missing": len(missing),
                                  "unexpected": len(unexpected), "first_missing": missing[:_SAMPLE],
                                  "first_unexpected": unexpected[:_SAMPLE]}
    if unreadable or not tantivy.has_index(repo, snapshot, head.manifest_id):
        return CheckOutcome(False, "ERROR", f"the Tantivy index of the lexical head of {repo}|{snapshot} cannot "
                            f"be read ({unreadable or 'its directory is missing'}). Fix: set lexical.indexing_mode to rebuild and "
                            "re-materialize lexical for this partition", len(expected), 0, head.commit, details)
    if found == expected and len(actual) == len(found):
        return CheckOutcome(True, "ERROR", f"{len(actual)} documents, one per indexed text file",
                            len(expected), len(actual), head.commit, details)
    first = (missing or unexpected or ["a path indexed twice"])[0]
    return CheckOutcome(False, "ERROR", f"the Tantivy index holds {len(actual)} documents for {len(expected)} indexed "
                        f"text files ({len(missing)} missing, {len(unexpected)} unexpected; first: {first}). Fix: "
                        "set lexical.indexing_mode to rebuild and re-materialize lexical for this partition",
                        len(expected), len(actual), head.commit, details)


def parse_error_rate(store: MetadataStore, repo: str, snapshot: str, config: IndexingConfig) -> CheckOutcome:
    """The share of the ir head's parsed files whose tree-sitter parse had errors, against checks.max_parse_error_rate."""
    head = store.published(repo, snapshot, "ir")
    if head is None:
        return _unpublished(repo, snapshot, "ir")
    entries = _indexed(store, head)
    keys = {e.blob_sha: doc_key(e.blob_sha, config) for e in entries}
    statuses = store.document_statuses(keys.values())
    parsed = [e for e in entries if statuses.get(keys[e.blob_sha], ("",))[0] == STATUS_PARSED]
    with_errors = sorted(e.path for e in parsed if statuses[keys[e.blob_sha]][1])
    rate = round(len(with_errors) / len(parsed), 4) if parsed else 0.0
    threshold = config.checks.max_parse_error_rate
    details: dict[str, object] = {"manifest_id": head.manifest_id, "threshold": threshold,
                                  "files_parsed": len(parsed), "files_with_parse_errors": len(with_errors),
                                  "first_files_with_parse_errors": with_errors[:_SAMPLE],
                                  "files_without_ir": sum(1 for e in entries if keys[e.blob_sha] not in statuses)}
    summary = f"{len(with_errors)} of {len(parsed)} parsed files have parse errors ({rate:.1%})"
    if rate <= threshold:
        return CheckOutcome(True, "WARN", f"{summary}, within {threshold:.1%}", threshold, rate, head.commit, details)
    return CheckOutcome(False, "WARN", f"{summary}, above checks.max_parse_error_rate {threshold:.1%} (first: "
                        f"{with_errors[0]}). Their symbols may be incomplete; lexical search still finds them. Fix: "
                        "exclude generated or unsupported files (exclude_patterns.ir_build), or raise the threshold",
                        threshold, rate, head.commit, details)


def index_is_fresh(store: MetadataStore, git: GitResource, repo: str, snapshot: str,
                   config: IndexingConfig, *, fetch: bool = True) -> CheckOutcome:
    """The serving snapshot is at the commit the ref names now (a remote is fetched first, unless `fetch` is
    False because the caller's run has just fetched it)."""
    serving = store.serving(repo, snapshot)
    if serving is None:
        return CheckOutcome(False, "WARN", f"{repo}|{snapshot} serves nothing yet: no commit is indexed by all "
                            "four stages. Fix: materialize the partition")
    try:
        head = resolve_commit(registered_repo(store, repo), snapshot, git, config, fetch=fetch)
    except CodegraphError as error:  # e.g. the remote is unreachable: freshness is unknown, not wrong
        return CheckOutcome(False, "WARN", f"could not resolve {snapshot!r} of {repo!r}: {error.message}",
                            None, serving.commit, serving.commit, {"indexed_commit": serving.commit})
    details: dict[str, object] = {"indexed_commit": serving.commit, "ref_commit": head or "",
                                  "manifest_id": serving.manifest_id}
    if head == serving.commit:
        return CheckOutcome(True, "WARN", f"serving {serving.commit[:12]}, the current head of {snapshot!r}",
                            head, serving.commit, serving.commit, details)
    if head is None:
        return CheckOutcome(False, "WARN", f"{repo!r} no longer has a branch or tag {snapshot!r}; searches serve "
                            f"{serving.commit[:12]}. Fix: restore the ref, or stop tracking it",
                            None, serving.commit, serving.commit, details)
    return CheckOutcome(False, "WARN", f"searches serve {serving.commit[:12]} but {snapshot!r} is now at {head[:12]}. "
                        "Fix: materialize the partition (the push sensor and nightly schedule do it when enabled)",
                        head, serving.commit, serving.commit, details)


def _indexed(store: MetadataStore, head: PublishedSnapshot) -> list[ManifestEntry]:
    return [e for e in store.load_manifest(head.manifest_id) if e.indexed]


def _text_files(store: MetadataStore, git: GitResource, repo: str, entries: list[ManifestEntry],
                config: IndexingConfig) -> set[tuple[str, str]]:
    """(path, blob) of the entries lexical indexes: all but binaries. Whether a blob is binary comes from its
    IR document (same sniff as lexical's); a blob without one (IR built with other settings) is read."""
    keys = {e.blob_sha: doc_key(e.blob_sha, config) for e in entries}
    statuses = store.document_statuses(keys.values())
    known = [e for e in entries if keys[e.blob_sha] in statuses]
    files = {(e.path, e.blob_sha) for e in known if statuses[keys[e.blob_sha]][0] != STATUS_BINARY}
    unknown = [e for e in entries if keys[e.blob_sha] not in statuses]
    if unknown:
        record = registered_repo(store, repo)
        files.update((e.path, e.blob_sha)
                     for e, content in git.read_blobs(record.name, record.kind, record.location, unknown)  # type: ignore[arg-type]
                     if not is_binary(content, config.discovery.binary_sniff_bytes))
    return files


def _unpublished(repo: str, snapshot: str, stage: str) -> CheckOutcome:
    return CheckOutcome(False, "WARN", f"{repo}|{snapshot} has no published {stage} output to check. "
                        f"Fix: materialize {stage} for this partition", None, None)
