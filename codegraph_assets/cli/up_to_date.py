"""Whether `codegraph index` has anything to do, answered without importing Dagster.

A no-change re-index through Dagster finds nothing to do in a fraction of a second, but the command
around it first imports Dagster, Qdrant, OpenAI and the model stack: seconds, which an editor hook or a
CI step that re-indexes on every save pays each time. So every successful `codegraph index` leaves a
stamp for its partition: the commit it indexed, the serving head it published (manifest and publish
time), the lexical index directory, the local vector store, and a fingerprint of everything that
decides what the pipeline writes (the whole `IndexingConfig`, the non-secret `CODEGRAPH_*` settings,
codegraph's own source and the installed packages), taken before the run. A run that left summaries
to ask for later (enrichment) leaves no stamp, so the next one asks. The next `codegraph index` of that
partition skips the Dagster run only when the ref still names that commit, the partition's heads are
still exactly the stamped ones (no other run published since), the fingerprint is unchanged and the
lexical index and local vector store are still on disk (a Qdrant server's points are not checked:
`--force` after emptying one). Any doubt (no stamp, a store that cannot be read, anything different)
runs the pipeline; `--force` always does.

Stamps live under $CODEGRAPH_HOME/cli/index-stamps, one JSON file per (store, repo, snapshot). They hold
no secrets: the store is named by a digest of its URL without the password, the repository location
(a URL may carry a token) by a digest too.
"""

from __future__ import annotations

import hashlib
import json
import os
import sysconfig
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from codegraph_assets.config import ENV_PREFIX, IndexingConfig, codegraph_home, load_indexing_config
from codegraph_assets.core.source import manifest_id_for
from codegraph_assets.errors import CodegraphError
from codegraph_assets.registry import default_repo_name, validate_repo_name
from codegraph_assets.stages.snapshot import resolve_commit
from resources.git_operations import RepoLocation, StandaloneGit, parse_location
from resources.metadata_store import INDEX_STAGES, SERVING, MetadataStore, PublishedSnapshot, store_url

_SECRET_MARKERS = ("KEY", "DSN", "PASSWORD", "TOKEN", "SECRET")
_SOURCE_PACKAGES = ("codegraph_assets", "resources", "codegraph")
_STAMP_VERSION = 2


@dataclass(frozen=True)
class IndexStamp:
    version: int
    repo: str
    snapshot: str
    kind: str
    location_digest: str  # sha256 of the location: a URL may hold credentials
    commit: str
    manifest_id: str
    published_at: str  # the serving head's publish time, as the store returned it
    lexical_index: str  # the manifest's Tantivy directory
    local_vector_store: str | None  # the Qdrant local-mode directory; None with a Qdrant server
    fingerprint: str


def open_metadata_store(config: IndexingConfig) -> MetadataStore:
    """The store `resource_defs` configures, opened without Dagster (and without migrating it)."""
    return MetadataStore(store_url(os.environ.get("CODEGRAPH_METADATA_BACKEND", "auto"),
                                   str(config.metadata_db_path()), os.environ.get("CODEGRAPH_POSTGRES_DSN")),
                         busy_timeout_s=config.timeouts.db_busy)


def standalone_git(config: IndexingConfig) -> StandaloneGit:
    """The git operations `resource_defs` configures, without Dagster."""
    return StandaloneGit(mirrors_dir=str(codegraph_home() / "git"), timeout_s=config.timeouts.git,
                         clone_timeout_s=config.timeouts.git_clone)


def local_vector_store() -> Path | None:
    """The Qdrant local-mode directory `resource_defs` configures; None when a Qdrant server is used."""
    return None if os.environ.get("CODEGRAPH_QDRANT_URL") else codegraph_home() / "qdrant"


def location_digest(location: RepoLocation) -> str:
    return hashlib.sha256(f"{location.kind}\0{location.location}".encode("utf-8", "surrogateescape")).hexdigest()


def pipeline_fingerprint(config: IndexingConfig) -> str:
    """A digest of everything that decides what an index run writes (see the module docstring)."""
    digest = hashlib.sha256(config.model_dump_json().encode())
    for name in sorted(os.environ):
        if name.startswith(ENV_PREFIX) and not any(marker in name for marker in _SECRET_MARKERS):
            digest.update(f"\0{name}={os.environ[name]}".encode("utf-8", "surrogateescape"))
    root = Path(__file__).resolve().parents[2]
    for package in _SOURCE_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    # Installed package versions (grammars, model, tokenizer, Tantivy): their dist-info directory names.
    for directory in sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}):
        if os.path.isdir(directory):
            digest.update("\0".join(sorted(n for n in os.listdir(directory) if n.endswith(".dist-info"))).encode())
    return digest.hexdigest()


def stamp_path(store: MetadataStore, repo: str, snapshot: str) -> Path:
    store_identity = make_url(store.url).set(password=None).render_as_string(hide_password=False)
    key = hashlib.sha256(f"{store_identity}\0{repo}\0{snapshot}".encode("utf-8", "surrogateescape")).hexdigest()
    return codegraph_home() / "cli" / "index-stamps" / f"{key[:32]}.json"


def record_stamp(store: MetadataStore, stamp: IndexStamp) -> None:
    """Written after a successful run; replaced atomically, so a reader never sees half a stamp."""
    path = stamp_path(store, stamp.repo, stamp.snapshot)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(asdict(stamp), indent=1))
    partial.replace(path)


def up_to_date_stamp(store: MetadataStore, git: StandaloneGit, config: IndexingConfig, name: str,
                     location: RepoLocation, snapshot_arg: str | None) -> IndexStamp | None:
    """The stamp of the partition when indexing it now would change nothing; None when it might.

    Raises what the full path would raise for the same input (an unreachable remote): the git calls are
    the ones `codegraph index` makes anyway. A remote is fetched only when a stamp exists to check.
    """
    try:
        registered = store.get_repo(name)
    except CodegraphError:  # a new or unmigrated store (its errors come classified): the pipeline sets it up
        return None
    if registered is None or registered.location != location.location or registered.kind != location.kind:
        return None
    try:
        snapshot = _snapshot(git, name, location, snapshot_arg)  # from a remote's mirror, before fetching
    except CodegraphError:  # no mirror (deleted by hand): the pipeline clones it again
        return None
    stamp = _read_stamp(store, name, snapshot) if snapshot in registered.refs else None
    if stamp is None or stamp.location_digest != location_digest(location):
        return None
    git.sync(name, location.kind, location.location)
    if _snapshot(git, name, location, snapshot_arg) != snapshot:  # the remote's default branch changed
        return None
    commit = resolve_commit(registered, snapshot, git, config, fetch=False)  # synced above
    if commit != stamp.commit or manifest_id_for(name, commit, config) != stamp.manifest_id:
        return None
    try:
        heads = [h for h in store.published_heads() if (h.repo, h.snapshot) == (name, snapshot)]
    except CodegraphError:
        return None
    if not _heads_match(heads, stamp) or not (Path(stamp.lexical_index) / "meta.json").is_file():
        return None
    vectors = local_vector_store()
    if (str(vectors) if vectors else None) != stamp.local_vector_store or (vectors and not vectors.is_dir()):
        return None
    return stamp if stamp.fingerprint == pipeline_fingerprint(config) else None


def _snapshot(git: StandaloneGit, name: str, location: RepoLocation, snapshot_arg: str | None) -> str | None:
    """The snapshot `codegraph index` picks: the one asked for, else the default branch, else HEAD's commit."""
    return (snapshot_arg or git.default_branch(name, location.kind, location.location)
            or git.head_commit(name, location.kind, location.location))


def _read_stamp(store: MetadataStore, name: str, snapshot: str) -> IndexStamp | None:
    try:
        stamp = IndexStamp(**json.loads(stamp_path(store, name, snapshot).read_text()))
    except (OSError, ValueError, TypeError):  # none yet, unreadable, or of another version: run and rewrite
        return None
    return stamp if stamp.version == _STAMP_VERSION else None


def stamp_after_run(store: MetadataStore, config: IndexingConfig, name: str, location: RepoLocation,
                    snapshot: str, commit: str, lexical_index_of, fingerprint: str) -> IndexStamp | None:
    """The stamp of a run that just succeeded, when it left the partition serving its commit with nothing
    left for a later run to do. `fingerprint` is `pipeline_fingerprint` taken before the run started."""
    serving = store.serving(name, snapshot)
    manifest_id = manifest_id_for(name, commit, config)
    if serving is None or serving.manifest_id != manifest_id or serving.published_at is None:
        return None
    enrichment = store.lexical_enrichment(name, snapshot, manifest_id)
    if enrichment is not None and enrichment.pending_paths:  # summaries still to ask for: the next run asks
        return None
    vectors = local_vector_store()
    stamp = IndexStamp(_STAMP_VERSION, name, snapshot, location.kind, location_digest(location), commit,
                       manifest_id, serving.published_at, str(lexical_index_of(name, snapshot, manifest_id)),
                       str(vectors) if vectors else None, fingerprint)
    record_stamp(store, stamp)
    return stamp


def _heads_match(heads: list[PublishedSnapshot], stamp: IndexStamp) -> bool:
    """Every index stage and the serving head on the stamped manifest, serving published when stamped."""
    by_stage = {h.stage: h for h in heads}
    if set(by_stage) != {*INDEX_STAGES, SERVING}:
        return False
    if any(h.manifest_id != stamp.manifest_id or h.commit != stamp.commit for h in heads):
        return False
    return by_stage[SERVING].published_at == stamp.published_at


def answer_if_up_to_date(args) -> dict | None:
    """`codegraph index`'s summary when the partition is up to date (see the module docstring), else None."""
    started = time.perf_counter()
    config = load_indexing_config()
    location = parse_location(args.location)
    name = validate_repo_name(args.repo or default_repo_name(location.location))
    try:
        store = open_metadata_store(config)
    except (SQLAlchemyError, ValueError):  # a bad store setting: the pipeline's own path reports it
        return None
    try:
        stamp = up_to_date_stamp(store, standalone_git(config), config, name, location, args.snapshot)
    except (SQLAlchemyError, OSError):  # a new or unmigrated store, an unreadable file: run the pipeline
        return None
    finally:
        store.close()
    if stamp is None:
        return None
    return {"repo": stamp.repo, "snapshot": stamp.snapshot, "commit": stamp.commit, "success": True,
            "up_to_date": True, "run_id": None, "seconds": round(time.perf_counter() - started, 2), "stages": {},
            "failed_steps": [], "indexed_at": stamp.published_at}
