"""Every git operation codegraph runs; the only place that runs git. Reads snapshots from git objects, never the work tree.

User input (locations and refs) never reaches git as an option: locations are validated against an
allow-list of schemes, refs against git's ref-name rules, and every git call puts `--` or
`--end-of-options` before user text. Remote repositories are mirrored under CODEGRAPH_HOME/git, one
mirror per (name, location). Plain directories (no git) are walked and hashed like a git tree.

No Dagster here: `resources/git.py` mixes `GitOperations` into the Dagster resource, and `StandaloneGit`
gives the same operations to code that must not pay Dagster's import (the CLI's up-to-date check).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from codegraph_assets.config import codegraph_home
from codegraph_assets.core.source import GIT_MODE_SYMLINK, SkipReason, TreeEntry
from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.file_lock import exclusive_file_lock

RepoKind = Literal["git_local", "git_remote", "directory"]

# A plain directory has no commits; its snapshot is the working tree under this name.
WORKTREE_SNAPSHOT = "local"
_ALLOWED_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:[\w./~-]+$")
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
_WORKTREE_COMMIT = re.compile(r"^worktree-[0-9a-f]{40}$")
_READ_CHUNK = 1 << 20
# What git prints when a remote answers but refuses: a retry gets the same answer, so these are permanent.
_REMOTE_MISSING = re.compile(r"does not appear to be a git repository|repository '[^']*' not found|"
                             r"Repository not found|returned error: 404", re.IGNORECASE)
_REMOTE_DENIED = re.compile(r"Authentication failed|could not read (Username|Password)|Permission denied \(publickey|"
                            r"Host key verification failed|returned error: 40[13]", re.IGNORECASE)
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
        # ssh receives the user and host as arguments: `ssh://-oProxyCommand=...` would be an ssh option.
        authority = unquote(raw.split("://", 1)[1].split("/", 1)[0])
        if any(part.startswith("-") for part in authority.split("@")):
            raise CodegraphError(
                ErrorCode.INVALID_PAYLOAD, f"repository URL {display_location(raw)!r} has a user or host that "
                "starts with '-', which ssh would read as an option", input=display_location(raw),
                fix="give the URL of a real host",
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


def is_full_sha(text: str) -> bool:
    return bool(_FULL_SHA.match(text))


def validate_ref(ref: str) -> str:
    """Git's ref-name rules plus 'no leading dash', so a ref can never become an option, and no `|`,
    which separates the dimensions of a partition key (`repo|snapshot`)."""
    if not ref or _BAD_REF.search(ref) or ref == "@" or "|" in ref:
        raise CodegraphError(
            ErrorCode.INVALID_PAYLOAD, f"ref {ref!r} is not a valid branch or tag name",
            input=ref, fix="use a branch or tag name such as main, release/1.2 or v1.2.0",
        )
    return ref


class GitOperations:
    """Runs git: mirrors remotes under `mirrors_dir`, resolves refs, lists trees, streams blobs.

    A mixin: the class using it provides `mirrors_dir` ("" = $CODEGRAPH_HOME/git), `timeout_s` (every git
    call but clone), `clone_timeout_s` and `_last_walk` (the last directory walk, so `resolve_ref` then
    `list_tree` of the same worktree commit walks once).
    """

    def mirror_path(self, repo: str, location: str) -> Path:
        """The mirror of `location` registered as `repo`; a new location gets a new mirror."""
        root = Path(self.mirrors_dir) if self.mirrors_dir else codegraph_home() / "git"
        identity = hashlib.sha256(f"{repo}\0{location}".encode("utf-8", "surrogateescape")).hexdigest()[:12]
        return root / f"{identity}-{_safe_name(repo)}.git"

    def git_dir(self, repo: str, kind: RepoKind, location: str) -> Path:
        return Path(location) if kind == "git_local" else self.mirror_path(repo, location)

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
        mirror = self.mirror_path(repo, location)
        mirror.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_file_lock(mirror.with_suffix(".lock")):
            if (mirror / "HEAD").exists():
                self._run(["fetch", "--prune", "--tags", "--force", "origin"], cwd=mirror, what=f"fetch {repo}")
            else:
                self._clone(repo, location, mirror)

    def _clone(self, repo: str, location: str, mirror: Path) -> None:
        # Clone beside the mirror and rename on success: a killed clone never leaves a half mirror.
        # Callers hold the mirror's lock, so leftovers of earlier killed clones are safe to remove.
        for leftover in mirror.parent.glob(f".{mirror.name}.tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        if mirror.exists():
            shutil.rmtree(mirror)  # a half mirror (no HEAD) from before clones were atomic
        staging = Path(tempfile.mkdtemp(prefix=f".{mirror.name}.tmp-", dir=mirror.parent))
        try:
            self._run(["clone", "--mirror", "--", location, str(staging)], cwd=None, what=f"clone {repo}",
                      timeout_s=self.clone_timeout_s, timeout_setting="GitResource.clone_timeout_s")
            os.rename(staging, mirror)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def default_branch(self, repo: str, kind: RepoKind, location: str) -> str | None:
        """The branch HEAD points at (a mirror's HEAD is the remote's default); None if detached."""
        if kind == "directory":
            return WORKTREE_SNAPSHOT
        result = self._run(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=self.git_dir(repo, kind, location),
                           what=f"read the default branch of {repo}", check=False)
        return result.stdout.decode().strip() or None

    def head_commit(self, repo: str, kind: RepoKind, location: str) -> str | None:
        """The full sha HEAD names (detached or not); None for an empty repository or a plain directory."""
        if kind == "directory":
            return None
        result = self._run(["rev-parse", "--verify", "--quiet", "--end-of-options", "HEAD^{commit}"],
                           cwd=self.git_dir(repo, kind, location), what=f"read HEAD of {repo}", check=False)
        return (result.stdout.decode().strip() or None) if result.returncode == 0 else None

    def has_commits(self, repo: str, kind: RepoKind, location: str) -> bool:
        """False for a freshly `git init`-ed repository (or an empty clone)."""
        if kind == "directory":
            return True
        result = self._run(["for-each-ref", "--count=1", "--format=%(refname)"],
                           cwd=self.git_dir(repo, kind, location), what=f"list refs of {repo}")
        return bool(result.stdout.strip())

    def list_refs(self, repo: str, kind: RepoKind, location: str) -> dict[str, str]:
        """Every branch and tag name → the commit it names, as the last `sync` left the mirror.

        A branch wins over a tag of the same name, as in `resolve_ref`; tags of trees or blobs and names
        that are not UTF-8 are left out. {} for a plain directory (it has no refs). No user input reaches git."""
        if kind == "directory":
            return {}
        git_dir = self.git_dir(repo, kind, location)
        out = self._run(
            ["for-each-ref", "--format=%(refname)%09%(objecttype)%09%(objectname)%09%(*objecttype)%09%(*objectname)",
             "refs/heads", "refs/tags"],
            cwd=git_dir, what=f"list refs of {repo}",
        ).stdout
        branches: dict[str, str] = {}
        tags: dict[str, str] = {}
        for line in out.splitlines():
            try:
                refname, object_type, sha, peeled_type, peeled_sha = line.decode("utf-8").split("\t")
            except (UnicodeDecodeError, ValueError):
                continue
            if object_type == "commit":
                commit = sha
            elif object_type == "tag" and peeled_type == "commit":
                commit = peeled_sha
            elif object_type == "tag":  # a tag of a tag: let git peel it all the way
                result = self._run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{refname}^{{commit}}"],
                                   cwd=git_dir, what=f"resolve {refname} in {repo}", check=False)
                commit = result.stdout.decode().strip() if result.returncode == 0 else ""
            else:
                commit = ""
            if commit and refname.startswith("refs/heads/"):
                branches[refname.removeprefix("refs/heads/")] = commit
            elif commit:
                tags[refname.removeprefix("refs/tags/")] = commit
        return tags | branches

    def remote_heads(self, repo: str, kind: RepoKind, location: str, *, timeout_s: float,
                     timeout_setting: str) -> dict[str, str]:
        """Every branch and tag name → commit as the remote has them now, without fetching objects.

        `git ls-remote` moves only the ref list, so polling many remotes stays cheap; the run that indexes a
        moved ref fetches into the mirror itself. A local repository is read in place; {} for a directory.
        A branch wins over a tag of the same name, annotated tags give the commit they peel to."""
        if kind != "git_remote":
            if kind == "git_local":
                self.sync(repo, kind, location)  # only checks the path still exists
            return self.list_refs(repo, kind, location)
        out = self._run(["ls-remote", "--heads", "--tags", "--", location], cwd=None, what=f"ls-remote {repo}",
                        timeout_s=timeout_s, timeout_setting=timeout_setting).stdout
        branches: dict[str, str] = {}
        tags: dict[str, str] = {}
        peeled: dict[str, str] = {}
        for line in out.splitlines():
            try:
                sha, refname = line.decode("utf-8").split("\t")
            except (UnicodeDecodeError, ValueError):
                continue
            if refname.startswith("refs/heads/"):
                branches[refname.removeprefix("refs/heads/")] = sha
            elif refname.startswith("refs/tags/") and refname.endswith("^{}"):
                peeled[refname.removeprefix("refs/tags/").removesuffix("^{}")] = sha
            elif refname.startswith("refs/tags/"):
                tags[refname.removeprefix("refs/tags/")] = sha
        return {name: peeled.get(name, sha) for name, sha in tags.items()} | branches

    def verify_commit(self, repo: str, kind: RepoKind, location: str, commit: str) -> str:
        """`commit` itself when it is a full sha of a commit in this repository (a worktree id for
        directories); INVALID_PAYLOAD otherwise, so a pinned commit can never be a ref or an option.

        A remote's mirror is fetched first when it lacks the commit: the push sensor pins what `git
        ls-remote` reported, which no fetch has brought into the mirror yet."""
        fix = "the run tag codegraph/commit must be a full commit sha of this repository"
        if kind == "directory":
            if _WORKTREE_COMMIT.match(commit):
                return commit
            raise CodegraphError(
                ErrorCode.INVALID_PAYLOAD, f"{commit!r} is not a worktree commit of directory {repo!r}",
                input=commit, fix=f"{fix} (worktree-<40 hex> for a plain directory)",
            )
        if _FULL_SHA.match(commit):
            if self._has_commit(repo, kind, location, commit):
                return commit
            if kind == "git_remote":
                self.sync(repo, kind, location)
                if self._has_commit(repo, kind, location, commit):
                    return commit
                fix += " (the remote no longer has it, even after a fetch: was the branch force-pushed?)"
        raise CodegraphError(
            ErrorCode.INVALID_PAYLOAD, f"{commit!r} is not a commit of repository {repo!r}",
            input=commit, fix=fix,
        )

    def _has_commit(self, repo: str, kind: RepoKind, location: str, commit: str) -> bool:
        git_dir = self.git_dir(repo, kind, location)
        if kind == "git_remote" and not (git_dir / "HEAD").exists():
            return False  # not cloned yet
        result = self._run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{commit}^{{commit}}"],
                           cwd=git_dir, what=f"verify {commit} in {repo}", check=False)
        return result.returncode == 0 and result.stdout.decode().strip() == commit

    def resolve_ref(self, repo: str, kind: RepoKind, location: str, ref: str, *,
                    skip_dir: Callable[[str], bool] | None = None, max_file_bytes: int | None = None) -> str | None:
        """The commit a branch, tag or full sha names; None when the repo has no such ref.

        A plain directory is walked now (with `skip_dir`, `max_file_bytes` as in `list_tree`); pass the
        same two to `list_tree` so that it reuses this walk instead of walking again."""
        validate_ref(ref)
        if kind == "directory":
            if ref != WORKTREE_SNAPSHOT:
                return None
            return self._walk(location, skip_dir, max_file_bytes)[0]
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

    def list_tree(self, repo: str, kind: RepoKind, location: str, commit: str, *,
                  skip_dir: Callable[[str], bool] | None = None,
                  max_file_bytes: int | None = None) -> list[TreeEntry]:
        """Every path of `commit`; paths that are not UTF-8 come back escaped with problem=undecodable_path.

        For a plain directory: `skip_dir(dir)` (repo-relative POSIX path) true means the directory is
        not descended; files over `max_file_bytes` are not read (stand-in sha, real size); a file that
        cannot be read is an entry with problem=unreadable. Git trees are listed whole (no content is
        read), so the two options only matter for directories."""
        if kind == "directory":
            key = (location, max_file_bytes, skip_dir is None)
            cached = self._last_walk.get(key)
            # Reuse only the walk that produced `commit`: the commit is the hash of that very listing.
            if cached is not None and cached[0] == commit:
                return list(cached[1])
            return self._walk(location, skip_dir, max_file_bytes)[1]
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
            path, problem = _decode_path(raw_path)
            if size != b"-" and not size.isdigit():  # git prints "BAD" for an object it cannot read
                raise CodegraphError(
                    ErrorCode.FILE_ACCESS_ERROR, f"{path} (blob {sha.decode()}) is missing or corrupt in {repo}",
                    input=path, fix="run `git fsck` in the repository, or re-clone it",
                )
            entries.append(TreeEntry(path, sha.decode(), int(size) if size != b"-" else 0, mode.decode(), problem))
        return entries

    def _walk(self, location: str, skip_dir: Callable[[str], bool] | None,
              max_file_bytes: int | None) -> tuple[str, list[TreeEntry]]:
        """Walk a directory and remember only this last walk (a listing can be large)."""
        entries = list(_walk_directory(Path(location), skip_dir, max_file_bytes))
        commit = worktree_commit(entries)
        self._last_walk.clear()
        self._last_walk[(location, max_file_bytes, skip_dir is None)] = (commit, entries)
        return commit, list(entries)

    def read_blobs(
        self, repo: str, kind: RepoKind, location: str, entries: Iterable[TreeEntry]
    ) -> Iterator[tuple[TreeEntry, bytes]]:
        """Stream (entry, content) pairs; one `git cat-file --batch` process for the whole stream.

        Entries are TreeEntry or ManifestEntry (anything with path and blob_sha). In a plain directory
        a TreeEntry the walk could not read (it has a `problem`) yields b"" instead of failing, and a file
        whose content no longer hashes to the walk's blob sha fails: what is built from it is stored under
        that sha, so content that changed mid-run would stay cached as the old file's for good."""
        if kind == "directory":
            root = Path(location)
            for entry in entries:
                if getattr(entry, "problem", None):
                    yield entry, b""
                    continue
                content = _read_inside(root, entry.path)
                if _blob_sha(content) != entry.blob_sha:
                    raise CodegraphError(
                        ErrorCode.FILE_ACCESS_ERROR, f"{entry.path} changed in {root} while it was being indexed",
                        input=entry.path, fix="re-run the index: a new run walks the directory again",
                    )
                yield entry, content
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
                # A usable answer is "<sha> blob <size>"; anything else ("<sha> missing", a corrupt object)
                # means the repository cannot give us this file.
                if len(header) != 3 or header[1] != b"blob" or not header[2].isdigit():
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

    def _run(self, args: list[str], *, cwd: Path | None, what: str, check: bool = True,
             timeout_s: float | None = None, timeout_setting: str = "timeouts.git") -> subprocess.CompletedProcess:
        timeout = self.timeout_s if timeout_s is None else timeout_s
        if cwd is not None and not cwd.is_dir():
            raise CodegraphError(
                ErrorCode.PATH_NOT_FOUND, f"cannot {what}: {cwd} does not exist",
                input=str(cwd), fix="register the repository again, or run the index once so it is cloned",
            )
        # A session of its own, so a timeout kills git's helpers (ssh, git-remote-https) with it.
        process = subprocess.Popen(
            ["git", "-c", "protocol.ext.allow=never", *args], cwd=cwd, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **_GIT_ENV},
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _kill_group(process)
            if args[0] in _REMOTE_COMMANDS:
                raise CodegraphError(
                    ErrorCode.NETWORK_ERROR, f"git {what} timed out after {timeout:.0f}s",
                    input=what, fix=f"check the remote is reachable, or raise {timeout_setting}",
                ) from exc
            raise CodegraphError(
                ErrorCode.TIMEOUT, f"git {what} timed out after {timeout:.0f}s", input=what,
                fix=f"raise {timeout_setting} for a repository this large, or run when the machine is less busy",
            ) from exc
        except BaseException:
            _kill_group(process)
            raise
        result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
        if check and result.returncode != 0:
            message = _redact_urls(result.stderr.decode("utf-8", "replace").strip())
            remote = args[0] in _REMOTE_COMMANDS
            if remote and _REMOTE_MISSING.search(message):
                raise CodegraphError(ErrorCode.PATH_NOT_FOUND, f"git {what} failed: the remote has no such "
                                     f"repository: {message[-500:]}", input=what,
                                     fix="check the location (`codegraph repo add <name> <location>` replaces "
                                     "it); for a private repository also the credentials: hosts answer 'not found' "
                                     "without them")
            if remote and _REMOTE_DENIED.search(message):
                raise CodegraphError(ErrorCode.REMOTE_ACCESS_DENIED, f"git {what} failed: the remote refused the "
                                     f"credentials: {message[-500:]}", input=what,
                                     fix="give git credentials the remote accepts: a token in the URL "
                                     "(https://user:token@host/...), an SSH key, or a credential helper")
            if remote:
                fix = "check the location, credentials and network"
            elif "promisor remote" in message:  # a partial clone (--filter) fetches missing objects lazily
                fix = ("this partial clone cannot fetch its missing objects: make its origin reachable, "
                       "or index a full clone")
            else:
                fix = "check the repository is intact"
            raise CodegraphError(
                ErrorCode.NETWORK_ERROR if remote else ErrorCode.IR_BUILD_ERROR,
                f"git {what} failed: {message[-500:]}", input=what, fix=fix,
            )
        return result


_REMOTE_COMMANDS = ("fetch", "clone", "ls-remote")


class StandaloneGit(GitOperations):
    """The git operations without Dagster, configured like `GitResource`."""

    def __init__(self, mirrors_dir: str = "", timeout_s: float = 120.0, clone_timeout_s: float = 1800.0) -> None:
        self.mirrors_dir = mirrors_dir
        self.timeout_s = timeout_s
        self.clone_timeout_s = clone_timeout_s
        self._last_walk: dict[tuple, tuple[str, list[TreeEntry]]] = {}


def display_location(location: str) -> str:
    """A location safe to print: user-info (user:token@) in URLs becomes ***@."""
    return _redact_urls(location)


def worktree_commit(entries: Iterable[TreeEntry]) -> str:
    """A stable stand-in for a commit sha: the hash of the working tree's manifest."""
    digest = hashlib.sha1()
    for entry in sorted(entries, key=lambda e: e.path):
        digest.update(f"{entry.mode} {entry.blob_sha} {entry.path}\0".encode("utf-8", "surrogateescape"))
    return "worktree-" + digest.hexdigest()


def _decode_path(raw: bytes) -> tuple[str, str | None]:
    """(path, problem): a path that is not UTF-8 cannot be stored or shown faithfully, so it is escaped."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace"), SkipReason.UNDECODABLE_PATH


def _walk_directory(root: Path, skip_dir: Callable[[str], bool] | None = None,
                    max_file_bytes: int | None = None) -> Iterator[TreeEntry]:
    """Hash a plain directory like `git hash-object`, recording symlinks without following them.

    Never raises for one file: what cannot be read becomes an entry with a `problem`."""
    stack = [""]
    while stack:
        relative_dir = stack.pop()
        try:
            with os.scandir(root / relative_dir if relative_dir else root) as scan:
                items = list(scan)
        except OSError as exc:
            if not relative_dir:
                raise CodegraphError(
                    ErrorCode.PATH_NOT_FOUND, f"directory {root} cannot be listed: {exc.strerror}",
                    input=str(root), fix="pass an existing, readable directory",
                ) from exc
            yield TreeEntry(_escaped(relative_dir), _stand_in_sha("unreadable"), 0, "040000",
                            SkipReason.UNREADABLE)
            continue
        for item in items:
            if not relative_dir and item.name == ".git":
                continue
            relative = f"{relative_dir}/{item.name}" if relative_dir else item.name
            entry = _walk_entry(item, relative, max_file_bytes)
            if entry is not None:
                yield entry
            elif _is_dir(item) and not (skip_dir and skip_dir(_escaped(relative))):
                stack.append(relative)


def _walk_entry(item: os.DirEntry, relative: str, max_file_bytes: int | None) -> TreeEntry | None:
    """The entry for one non-directory; None for a directory or a non-regular file (FIFO, socket, device)."""
    path, problem = _escaped(relative), None if _is_utf8(relative) else SkipReason.UNDECODABLE_PATH
    try:
        info = item.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            return None
        if problem:
            return TreeEntry(path, _stand_in_sha(f"size:{info.st_size}:mtime:{info.st_mtime_ns}"), info.st_size,
                             GIT_MODE_SYMLINK if stat.S_ISLNK(info.st_mode) else "100644", problem)
        if stat.S_ISLNK(info.st_mode):
            target = os.readlink(item.path).encode("utf-8", "surrogateescape")
            return TreeEntry(path, _blob_sha(target), len(target), GIT_MODE_SYMLINK)
        if not stat.S_ISREG(info.st_mode):
            return None
        if max_file_bytes is not None and info.st_size > max_file_bytes:
            return TreeEntry(path, _stand_in_sha(f"size:{info.st_size}:mtime:{info.st_mtime_ns}"), info.st_size)
        sha, size = _hash_file(item.path)
        return TreeEntry(path, sha, size)
    except OSError:
        return TreeEntry(path, _stand_in_sha("unreadable"), 0, problem=SkipReason.UNREADABLE)


def _hash_file(path: str) -> tuple[str, int]:
    """(git blob sha, size), read in chunks; OSError when it is not a regular file or changes meanwhile."""
    # O_NOFOLLOW/O_NONBLOCK: a file swapped for a symlink or a FIFO since the scan is refused, not followed.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with open(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path} is not a regular file")
        digest = hashlib.sha1(b"blob %d\0" % info.st_size)
        read = 0
        while chunk := handle.read(_READ_CHUNK):
            digest.update(chunk)
            read += len(chunk)
        if read != info.st_size:
            raise OSError(f"{path} changed while it was read")
    return digest.hexdigest(), read


def _is_dir(item: os.DirEntry) -> bool:
    try:
        return item.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _is_utf8(name: str) -> bool:
    # os.scandir gives undecodable bytes as lone surrogates (surrogateescape), which no store accepts.
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _escaped(relative: str) -> str:
    return relative if _is_utf8(relative) else os.fsencode(relative).decode("utf-8", "backslashreplace")


def _stand_in_sha(label: str) -> str:
    """A sha for a file whose content was not read; never a real blob sha (no `blob N\\0` header)."""
    return hashlib.sha1(label.encode()).hexdigest()


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()  # not communicate(): a helper that escaped the group could hold the pipes open


def _read_inside(root: Path, relative: str) -> bytes:
    path = root / relative
    try:
        # The walk never records symlinked files, but the tree may have changed since: check again.
        if path.is_symlink() or not path.resolve().is_relative_to(root.resolve()):
            raise CodegraphError(
                ErrorCode.FILE_ACCESS_ERROR, f"{relative} became a symlink or left the repository during indexing",
                input=relative, fix="re-run the index once the directory is stable",
            )
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        with open(fd, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise CodegraphError(
            ErrorCode.IO_ERROR, f"{relative} could not be read from {root}: {exc.strerror or exc}",
            input=relative, fix="re-run when the directory is stable",
        ) from exc


def _blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _safe_name(repo: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", repo)[:60]


def _redact_urls(text: str) -> str:
    """Strip credentials from URLs git echoes back (https://user:token@host)."""
    return re.sub(r"(\w+://)[^/@\s]+@", r"\1***@", text)
