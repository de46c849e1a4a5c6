"""Resolve a (repo, snapshot ref) to a commit and its manifest, building the manifest once per commit."""

from __future__ import annotations

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.source import SourceSnapshot, classify_tree, manifest_id_for
from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.git import GitResource, RepoKind
from resources.metadata_store import MetadataStore, RepoRecord


def registered_repo(store: MetadataStore, name: str) -> RepoRecord:
    repo = store.get_repo(name)
    if repo is None:
        raise CodegraphError(
            ErrorCode.INVALID_PAYLOAD, f"repository {name!r} is not registered",
            input=name, fix=f"`codegraph repo add {name} <path-or-url> --ref <branch>` first",
        )
    return repo


def resolve_commit(repo: RepoRecord, ref: str, git: GitResource) -> str | None:
    """Fetch the repository if it is remote, then the commit `ref` names (None: no such ref)."""
    kind: RepoKind = repo.kind  # type: ignore[assignment]
    git.sync(repo.name, kind, repo.location)
    return git.resolve_ref(repo.name, kind, repo.location, ref)


def load_snapshot(repo: RepoRecord, ref: str, commit: str, store: MetadataStore, git: GitResource,
                  config: IndexingConfig) -> SourceSnapshot:
    """The manifest of `commit`, from the store when this commit was seen with these options before."""
    manifest_id = manifest_id_for(repo.name, commit, config)
    entries = store.load_manifest(manifest_id)
    if not entries:
        kind: RepoKind = repo.kind  # type: ignore[assignment]
        tree = git.list_tree(repo.name, kind, repo.location, commit)
        gitignores = [e for e in tree if e.path == ".gitignore" or e.path.endswith("/.gitignore")]
        texts = {e.path.rpartition("/")[0]: content
                 for e, content in git.read_blobs(repo.name, kind, repo.location, gitignores)}
        entries = classify_tree(tree, texts, config)
        store.save_manifest(manifest_id, repo.name, commit, entries)
    return SourceSnapshot(repo.name, ref, commit, manifest_id, tuple(entries))
