"""GitResource: the only place that runs git. Reads snapshots from git objects, never the work tree.

User input (locations and refs) never reaches git as an option: locations are validated against an
allow-list of schemes, refs against git's ref-name rules, and every git call puts `--` or
`--end-of-options` before user text. Remote repositories are mirrored under CODEGRAPH_HOME/git.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import dagster as dg

from codegraph_assets.config import codegraph_home
from codegraph_assets.core.source import GIT_MODE_SYMLINK, TreeEntry
from codegraph_assets.errors import CodegraphError, ErrorCode

RepoKind = Literal["git_local", "git_remote", "directory"]

# A plain directory has no commits; its snapshot is the working tree under this name.
WORKTREE_SNAPSHOT = "local"
_ALLOWED_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:[\w./~-]+$")
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
# Everything git must not do on our behalf: prompt for passwords, use exotic transports.
_GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_ASKPASS": "true",
    "SSH_ASKPASS": "true",
}


@dataclass(frozen=True, slots=True)
class RepoLocation:
    kind: RepoKind
    location: str  # absolute path for local kinds, URL for remotes


def parse_location(raw: str) -> RepoLocation:
    """Validate a user-supplied path or URL; raises PERMANENT errors naming the input and the fix."""
    if not raw or raw.startswith("-"):
        raise CodegraphError(
            ErrorCode.INVALID_PAYLOAD,
            f"repository location {raw!r} looks like a command-line option",
            input=raw, fix="give a path, or an https://, ssh://, git:// or file:// URL",
        )
    if "::" in raw or any(ord(c) < 32 for c in raw):
        raise CodegraphError(
            ErrorCode.INVALID_PAYLOAD,
            f"repository location {raw!r} uses a git transport helper or control characters",
            input=raw, fix="give a path, or an https://, ssh://, git:// or file:// URL",
        )
    if "://" in raw:
        if not raw.startswith(_ALLOWED_SCHEMES):
            raise CodegraphError(
                ErrorCode.INVALID_PAYLOAD, f"repository URL {raw!r} has an unsupported scheme",
                input=raw, fix="use https://, http://, ssh://, git:// or file://",
            )
        return RepoLocation("git_remote", raw)
    if _SCP_LIKE.match(raw):
        return RepoLocation("git_remote", raw)
    path = Path(raw).expanduser().resolve()
    if not path.is_dir():
        raise CodegraphError(
            ErrorCode.PATH_NOT_FOUND, f"repository path {raw!r} does not exist or is not a directory",
            input=raw, fix="pass an existing directory or a reachable git URL",
        )
    is_git = (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())
    return RepoLocation("git_local" if is_git else "directory", str(path))


_BAD_REF = re.compile(r"(^[-/.])|(\.\.)|(@\{)|([\x00-\x20\x7f~^:?*\[\\])|(/\.)|(\.lock$)|([/.]$)|(//)")


def validate_ref(ref: str) -> str:
    """Git's ref-name rules plus 'no leading dash', so a ref can never become an option."""
    if not ref or _BAD_REF.search(ref) or ref == "@":
        raise CodegraphError(
            ErrorCode.INVALID_PAYLOAD, f"ref {ref!r} is not a valid branch or tag name",
            input=ref, fix="use a branch or tag name such as main, release/1.2 or v1.2.0",
        )
    return ref


class GitResource(dg.ConfigurableResource):
    """Runs git: mirrors remotes under `mirrors_dir`, resolves refs, lists trees, streams blobs."""

    mirrors_dir: str = ""  # "" = $CODEGRAPH_HOME/git
    timeout_s: float = 120.0

    def mirror_path(self, repo: str) -> Path:
        root = Path(self.mirrors_dir) if self.mirrors_dir else codegraph_home() / "git"
        return root / f"{hashlib.sha256(repo.encode()).hexdigest()[:12]}-{_safe_name(repo)}.git"

    def git_dir(self, repo: str, kind: RepoKind, location: str) -> Path:
        return Path(location) if kind == "git_local" else self.mirror_path(repo)

    def sync(self, repo: str, kind: RepoKind, location: str) -> None:
        """Clone or fetch a remote into its mirror (serialized by a file lock); no-op for local kinds."""
        if kind != "git_remote":
            if not Path(location).is_dir():
                raise CodegraphError(
                    ErrorCode.PATH_NOT_FOUND,
                    f"repository {repo!r} points at {location}, which does not exist",
                    input=location, fix=f"`codegraph repo add {repo} <path-or-url>` with a reachable location",
                )
            return
        mirror = self.mirror_path(repo)
        mirror.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(mirror.with_suffix(".lock")):
            if (mirror / "HEAD").exists():
                self._run(["fetch", "--prune", "--tags", "--force", "origin"], cwd=mirror, what=f"fetch {repo}")
            else:
                self._run(["clone", "--mirror", "--", location, str(mirror)], cwd=None, what=f"clone {repo}")

    def default_branch(self, repo: str, kind: RepoKind, location: str) -> str | None:
        """The branch HEAD points at (a mirror's HEAD is the remote's default); None if detached."""
        if kind == "directory":
            return WORKTREE_SNAPSHOT
        result = self._run(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=self.git_dir(repo, kind, location),
                           what=f"read the default branch of {repo}", check=False)
        return result.stdout.decode().strip() or None

    def has_commits(self, repo: str, kind: RepoKind, location: str) -> bool:
        """False for a freshly `git init`-ed repository (or an empty clone)."""
        if kind == "directory":
            return True
        result = self._run(["for-each-ref", "--count=1", "--format=%(refname)"],
                           cwd=self.git_dir(repo, kind, location), what=f"list refs of {repo}")
        return bool(result.stdout.strip())

    def resolve_ref(self, repo: str, kind: RepoKind, location: str, ref: str) -> str | None:
        """The commit a branch, tag or full sha names; None when the repo has no such ref."""
        validate_ref(ref)
        if kind == "directory":
            return worktree_commit(self.list_tree(repo, kind, location, "")) if ref == WORKTREE_SNAPSHOT else None
        git_dir = self.git_dir(repo, kind, location)
        candidates = [f"refs/heads/{ref}", f"refs/tags/{ref}"] + ([ref] if _FULL_SHA.match(ref) else [])
        for candidate in candidates:
            result = self._run(
                ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{candidate}^{{commit}}"],
                cwd=git_dir, what=f"resolve {ref} in {repo}", check=False,
            )
            if result.returncode == 0:
                return result.stdout.decode().strip()
        return None

    def list_tree(self, repo: str, kind: RepoKind, location: str, commit: str) -> list[TreeEntry]:
        if kind == "directory":
            return list(_walk_directory(Path(location)))
        out = self._run(
            ["ls-tree", "-r", "-z", "--long", "--full-tree", "--end-of-options", commit],
            cwd=self.git_dir(repo, kind, location), what=f"list files of {repo}@{commit[:12]}",
        ).stdout
        entries = []
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            mode, _type, sha, size = meta.split()
            path = raw_path.decode("utf-8", "surrogateescape")
            entries.append(TreeEntry(path, sha.decode(), int(size) if size != b"-" else 0, mode.decode()))
        return entries

    def read_blobs(
        self, repo: str, kind: RepoKind, location: str, entries: Iterable[TreeEntry]
    ) -> Iterator[tuple[TreeEntry, bytes]]:
        """Stream (entry, content) pairs; one `git cat-file --batch` process for the whole stream."""
        if kind == "directory":
            root = Path(location)
            for entry in entries:
                yield entry, _read_inside(root, entry.path)
            return
        process = subprocess.Popen(
            ["git", "cat-file", "--batch"], cwd=self.git_dir(repo, kind, location),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, **_GIT_ENV},
        )
        try:
            for entry in entries:
                process.stdin.write(entry.blob_sha.encode() + b"\n")
                process.stdin.flush()
                header = process.stdout.readline().split()
                if len(header) != 3:
                    raise CodegraphError(
                        ErrorCode.FILE_ACCESS_ERROR, f"blob {entry.blob_sha} of {entry.path} is missing in {repo}",
                        input=entry.path, fix="the repository is corrupt or shallow; re-clone it",
                    )
                content = process.stdout.read(int(header[2]))
                process.stdout.read(1)  # the newline git appends after each object
                yield entry, content
        finally:
            process.stdin.close()
            process.kill()
            process.wait()

    def _run(self, args: list[str], *, cwd: Path | None, what: str, check: bool = True):
        try:
            result = subprocess.run(
                ["git", "-c", "protocol.ext.allow=never", *args], cwd=cwd, capture_output=True,
                timeout=self.timeout_s, env={**os.environ, **_GIT_ENV},
            )
        except subprocess.TimeoutExpired as exc:
            raise CodegraphError(
                ErrorCode.NETWORK_ERROR, f"git {what} timed out after {self.timeout_s:.0f}s",
                input=what, fix="check the remote is reachable, or raise timeouts.git",
            ) from exc
        if check and result.returncode != 0:
            stderr = _redact_urls(result.stderr.decode("utf-8", "replace").strip())
            remote = args[0] in ("fetch", "clone")
            raise CodegraphError(
                ErrorCode.NETWORK_ERROR if remote else ErrorCode.IR_BUILD_ERROR,
                f"git {what} failed: {stderr[-500:]}", input=what,
                fix="check the location, credentials and network" if remote else "check the repository is intact",
            )
        return result


def worktree_commit(entries: Iterable[TreeEntry]) -> str:
    """A stable stand-in for a commit sha: the hash of the working tree's manifest."""
    digest = hashlib.sha1()
    for entry in sorted(entries, key=lambda e: e.path):
        digest.update(f"{entry.mode} {entry.blob_sha} {entry.path}\0".encode("utf-8", "surrogateescape"))
    return "worktree-" + digest.hexdigest()


def _walk_directory(root: Path) -> Iterator[TreeEntry]:
    """Hash a plain directory like `git hash-object`, recording symlinks without following them."""
    stack = [root]
    while stack:
        directory = stack.pop()
        with os.scandir(directory) as scan:
            for item in scan:
                if item.name == ".git":
                    continue
                relative = Path(item.path).relative_to(root).as_posix()
                if item.is_symlink():
                    target = os.readlink(item.path).encode("utf-8", "surrogateescape")
                    yield TreeEntry(relative, _blob_sha(target), len(target), GIT_MODE_SYMLINK)
                elif item.is_dir(follow_symlinks=False):
                    stack.append(Path(item.path))
                elif item.is_file(follow_symlinks=False):
                    content = Path(item.path).read_bytes()
                    yield TreeEntry(relative, _blob_sha(content), len(content))


def _read_inside(root: Path, relative: str) -> bytes:
    path = root / relative
    # The walk never records symlinked files, but the tree may have changed since: check again.
    if path.is_symlink() or not path.resolve().is_relative_to(root.resolve()):
        raise CodegraphError(
            ErrorCode.FILE_ACCESS_ERROR, f"{relative} became a symlink or left the repository during indexing",
            input=relative, fix="re-run the index once the directory is stable",
        )
    return path.read_bytes()


def _blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _safe_name(repo: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", repo)[:60]


def _redact_urls(text: str) -> str:
    """Strip credentials from URLs git echoes back (https://user:token@host)."""
    return re.sub(r"(\w+://)[^/@\s]+@", r"\1***@", text)


@contextmanager
def _file_lock(path: Path):
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
