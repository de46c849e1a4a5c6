"""Which partitions the push sensor and the nightly schedule request. Plain Python: no Dagster, no git.

The callers read the repositories' current heads (branch or tag name → commit) and the published
heads; these functions only decide. A run always carries the commit it was requested for, so a push
between the decision and the run cannot make one run index two commits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from codegraph_assets.errors import CodegraphError, ErrorCode

# The push sensor's cursor: repository → {ref → the commit last requested or found indexed}.
Cursor = dict[str, dict[str, str]]

_PATTERN_FIX = "use a glob over branch and tag names, such as main, release/* or v*"


@dataclass(frozen=True, slots=True)
class PartitionRun:
    """One run of the index job for repo|ref, pinned to `commit` (None: the run resolves the ref itself, as for
    a plain directory, walked by the run)."""

    repo: str
    ref: str
    commit: str | None

    @property
    def run_key(self) -> str:
        """Deduplicates requests: one run per (repo, ref, commit), however many ticks see it."""
        return f"{self.repo}:{self.ref}:{self.commit or 'unpinned'}"


@dataclass(frozen=True, slots=True)
class PushPlan:
    """What one poll of one repository asks for."""

    runs: tuple[PartitionRun, ...]
    new_refs: tuple[str, ...]  # refs matched by a pattern that the repository does not track yet
    seen: dict[str, str]  # the repository's next cursor entry


def validate_ref_pattern(pattern: str) -> str:
    """A tracking pattern: an fnmatch glob matched in Python against branch and tag names, never given to git."""
    if (not pattern or pattern.startswith("-") or len(pattern) > 500 or "|" in pattern
            or any(ord(c) <= 32 or ord(c) == 127 for c in pattern)):
        raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"ref pattern {pattern!r} is not allowed",
                             input=pattern, fix=_PATTERN_FIX)
    return pattern


def matches_any(ref: str, patterns: Iterable[str]) -> bool:
    """fnmatch on the whole name, case-sensitive; `*` also crosses `/` (release/* matches release/1.2/rc)."""
    return any(fnmatchcase(ref, pattern) for pattern in patterns)


def plan_pushes(repo: str, tracked: Iterable[str], patterns: Sequence[str], heads: Mapping[str, str],
                seen: Mapping[str, str], is_indexed: Callable[[str, str], bool],
                is_trackable: Callable[[str], bool]) -> PushPlan:
    """The runs a poll of `repo` requests: one per watched ref whose head is neither the commit the cursor
    saw (`seen`) nor the commit already indexed (`is_indexed(ref, commit)`).

    Watched refs are the tracked ones plus every branch or tag in `heads` that matches a pattern and that
    `is_trackable` accepts as a partition key; a tracked ref the repository does not have is left out."""
    tracked = set(tracked)
    matched = {ref for ref in heads if ref not in tracked and matches_any(ref, patterns) and is_trackable(ref)}
    runs: list[PartitionRun] = []
    next_seen: dict[str, str] = {}
    for ref in sorted(tracked | matched):
        commit = heads.get(ref)
        if commit is None:
            continue
        next_seen[ref] = commit
        if seen.get(ref) != commit and not is_indexed(ref, commit):
            runs.append(PartitionRun(repo, ref, commit))
    return PushPlan(tuple(runs), tuple(sorted(matched)), next_seen)


def plan_nightly(repo: str, tracked: Iterable[str], heads: Mapping[str, str | None]) -> list[PartitionRun]:
    """One run per tracked ref that the repository has (`heads` maps it to its commit, None for a directory)."""
    return [PartitionRun(repo, ref, heads[ref]) for ref in sorted(tracked) if ref in heads]


@dataclass(slots=True)
class SensorCursor:
    """What the push sensor keeps between ticks: the refs it saw, and when it last polled each repository
    (epoch seconds), so a tick that runs out of time starts the next one with the repositories it missed."""

    refs: Cursor = field(default_factory=dict)
    polled: dict[str, float] = field(default_factory=dict)


_CURSOR_VERSION = 2


def parse_cursor(raw: str | None) -> SensorCursor:
    """The cursor a previous tick stored; anything unreadable counts as no cursor (every head is new).
    A version-1 cursor (the bare `{repo: {ref: commit}}` map) is read as refs never polled."""
    try:
        value = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return SensorCursor()
    if not isinstance(value, dict):
        return SensorCursor()
    if value.get("v") == _CURSOR_VERSION:
        refs, polled = value.get("refs"), value.get("polled")
    else:
        refs, polled = value, {}
    refs = refs if isinstance(refs, dict) else {}
    polled = polled if isinstance(polled, dict) else {}
    return SensorCursor(
        {repo: {ref: commit for ref, commit in seen.items() if isinstance(commit, str)}
         for repo, seen in refs.items() if isinstance(seen, dict)},
        {repo: float(at) for repo, at in polled.items() if isinstance(at, (int, float))},
    )


def dump_cursor(cursor: SensorCursor) -> str:
    return json.dumps({"v": _CURSOR_VERSION, "refs": cursor.refs, "polled": cursor.polled},
                      sort_keys=True, separators=(",", ":"))


def poll_order(repos: Iterable[str], polled: Mapping[str, float]) -> list[str]:
    """Repositories never polled first, then the longest unpolled: a tick cut short by its time budget
    never starves the repositories at the end of the list."""
    return sorted(repos, key=lambda repo: (repo in polled, polled.get(repo, 0.0), repo))
