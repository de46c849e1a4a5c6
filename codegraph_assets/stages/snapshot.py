"""Resolve a (repo, snapshot ref) to a commit and its manifest, building the manifest once per commit."""

from __future__ import annotations

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.source import (
    GIT_MODE_SYMLINK,
    SourceSnapshot,
    classify_tree,
    excluded_directory,
    manifest_id_for,
)
from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.git_operations import GitOperations
from resources.metadata_store import MetadataStore, PublishedSnapshot, RepoRecord


def registered_repo(store: MetadataStore, name: str) -> RepoRecord:
    repo = store.get_repo(name)
    if repo is None:
        raise CodegraphError(
            ErrorCode.INVALID_PAYLOAD, f"repository {name!r} is not registered",
            input=name, fix=f"`codegraph repo add {name} <path-or-url> --ref <branch>` first",
        )
    return repo


def resolve_commit(repo: RepoRecord, ref: str, git: GitOperations, config: IndexingConfig, *,
                   fetch: bool = True) -> str | None:
    """Fetch the repository if it is remote (unless the caller just did), then the commit `ref` names.

    None when there is no such ref. Working trees are walked with the same options as `load_snapshot`,
    so the commit names exactly the listing the manifest is built from.
    """
    if fetch:
        git.sync(repo.name, repo.kind, repo.location)
    return git.resolve_ref(repo.name, repo.kind, repo.location, ref, **_walk_options(config))


def commit_to_index(repo: RepoRecord, ref: str, git: GitOperations, config: IndexingConfig, *,
                    fetch: bool = True) -> str | None:
    """The commit a launcher pins for `ref`: None only for a repository without commits (nothing to index,
    not an error); a ref the repository does not have is the caller's mistake."""
    commit = resolve_commit(repo, ref, git, config, fetch=fetch)
    if commit is None and git.has_commits(repo.name, repo.kind, repo.location):
        raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"repository {repo.name!r} has no branch or tag {ref!r}",
                             input=ref, fix="pass an existing branch or tag")
    return commit


def load_snapshot(repo: RepoRecord, ref: str, commit: str, store: MetadataStore, git: GitOperations,
                  config: IndexingConfig) -> SourceSnapshot:
    """The manifest of `commit`, from the store when this commit was seen with these options before."""
    manifest_id = manifest_id_for(repo.name, commit, config)
    if store.use_manifest(manifest_id):  # marks it in use, so garbage collection leaves it alone
        return SourceSnapshot(repo.name, ref, commit, manifest_id, tuple(store.load_manifest(manifest_id)))
    tree = git.list_tree(repo.name, repo.kind, repo.location, commit, **_walk_options(config))
    gitignores = {}
    if repo.kind == "directory":  # in a commit every file is tracked, and git never ignores tracked files
        files = [e for e in tree if e.path.rpartition("/")[2] == ".gitignore" and e.mode != GIT_MODE_SYMLINK
                 and not e.problem and e.size <= config.discovery.max_file_bytes]  # larger ones were not hashed
        gitignores = {e.path.rpartition("/")[0]: content
                      for e, content in git.read_blobs(repo.name, repo.kind, repo.location, files)}
    entries = classify_tree(tree, gitignores, config)
    store.save_manifest(manifest_id, repo.name, commit, entries)
    return SourceSnapshot(repo.name, ref, commit, manifest_id, tuple(entries))


def published_snapshot(head: PublishedSnapshot, store: MetadataStore) -> SourceSnapshot:
    """The snapshot an upstream stage published (its manifest is stored)."""
    return SourceSnapshot(head.repo, head.snapshot, head.commit, head.manifest_id,
                          tuple(store.load_manifest(head.manifest_id)))


def _walk_options(config: IndexingConfig) -> dict:
    """Working-tree walks prune excluded directories and never read oversized files."""
    return {"skip_dir": excluded_directory(config), "max_file_bytes": config.discovery.max_file_bytes}
