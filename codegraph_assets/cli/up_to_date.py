"""Whether `codegraph index` has anything to do, answered without importing Dagster.

A no-change re-index through Dagster finds nothing to do in a fraction of a second, but the command
around it first imports Dagster, Qdrant, OpenAI and the model stack: seconds, which an editor hook or a
CI step that re-indexes on every save pays each time. So every successful `codegraph index` leaves a
stamp for its partition: the commit it indexed, the serving head it published (manifest and publish
time), the lexical index directory, and a fingerprint of everything that decides what the pipeline
writes (the whole `IndexingConfig`, the non-secret `CODEGRAPH_*` settings, codegraph's own source and
the installed packages). The next `codegraph index` of that partition skips the Dagster run only when
the ref still names that commit, the partition's heads are still exactly the stamped ones (no other run
published since), the fingerprint is unchanged and the lexical index is still on disk. Any doubt (no
stamp, a store that cannot be read, anything different) runs the pipeline; `--force` always does.

Stamps live under $CODEGRAPH_HOME/cli/index-stamps, one JSON file per (store, repo, snapshot). They hold
no secrets: the store is named by a digest of its URL without the password.
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
_STAMP_VERSION = 1


@dataclass(frozen=True)
class IndexStamp:
    version: int
    repo: str
    snapshot: str
    kind: str
    location: str
    commit: str
    manifest_id: str
    published_at: str  # the serving head's publish time, as the store returned it
    lexical_index: str  # the manifest's Tantivy directory
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

    Raises what the full path would raise for the same input (a bad location, an unreachable remote):
    the git calls are the ones `codegraph index` makes anyway, so the answer is the same either way.
    """
    try:
        registered = store.get_repo(name)
    except (SQLAlchemyError, CodegraphError):  # a new or unmigrated store: the pipeline sets it up
        return None
    if registered is None or registered.location != location.location or registered.kind != location.kind:
        return None
    git.sync(name, location.kind, location.location)
    snapshot = (snapshot_arg or git.default_branch(name, location.kind, location.location)
                or git.head_commit(name, location.kind, location.location))
    if not snapshot or snapshot not in registered.refs:
        return None
    path = stamp_path(store, name, snapshot)
    try:
        stamp = IndexStamp(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):  # none yet, or unreadable: run and write a new one
        return None
    if stamp.version != _STAMP_VERSION or (stamp.kind, stamp.location) != (location.kind, location.location):
        return None
    commit = resolve_commit(registered, snapshot, git, config, fetch=False)  # synced above
    if commit != stamp.commit or manifest_id_for(name, commit, config) != stamp.manifest_id:
        return None
    try:
        heads = [h for h in store.published_heads() if (h.repo, h.snapshot) == (name, snapshot)]
    except (SQLAlchemyError, CodegraphError):
        return None
    if not _heads_match(heads, stamp):
        return None
    if not (Path(stamp.lexical_index) / "meta.json").is_file():
        return None
    return stamp if stamp.fingerprint == pipeline_fingerprint(config) else None


def stamp_after_run(store: MetadataStore, config: IndexingConfig, name: str, location: RepoLocation,
                    snapshot: str, commit: str, lexical_index_of) -> IndexStamp | None:
    """The stamp of a run that just succeeded, when it left the partition serving its commit."""
    serving = store.serving(name, snapshot)
    manifest_id = manifest_id_for(name, commit, config)
    if serving is None or serving.manifest_id != manifest_id or serving.published_at is None:
        return None
    stamp = IndexStamp(_STAMP_VERSION, name, snapshot, location.kind, location.location, commit, manifest_id,
                       serving.published_at, str(lexical_index_of(name, snapshot, manifest_id)),
                       pipeline_fingerprint(config))
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
    store = open_metadata_store(config)
    try:
        stamp = up_to_date_stamp(store, standalone_git(config), config, name, location, args.snapshot)
    finally:
        store.close()
    if stamp is None:
        return None
    return {"repo": stamp.repo, "snapshot": stamp.snapshot, "commit": stamp.commit, "success": True,
            "up_to_date": True, "run_id": None, "seconds": round(time.perf_counter() - started, 2), "stages": {},
            "failed_steps": [], "indexed_at": stamp.published_at}
