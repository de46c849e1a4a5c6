"""Nested byte-range scopes as the binders (`ir_python`, `ir_lexical`) walk them in source order.

A scope is anything with `start` and `end` bytes (end exclusive) and a settable `parent`; a document's
scopes are sorted by (start, -end), the first one enclosing all the others (the module)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar


class ByteScope(Protocol):
    start: int
    end: int


Scope = TypeVar("Scope", bound=ByteScope)
Payload = TypeVar("Payload")


def nest(scopes: list[Scope]) -> list[Scope]:
    """Sort the scopes by (start, -end) and set each one's `parent` to the innermost scope holding it."""
    scopes.sort(key=lambda s: (s.start, -s.end))
    stack: list[Scope] = []
    for scope in scopes:
        while stack and stack[-1].end <= scope.start:
            stack.pop()
        scope.parent = stack[-1] if stack else None
        stack.append(scope)
    return scopes


class ScopeCursor:
    """The innermost scope holding a byte, for bytes asked in increasing order: one pass over the scopes
    whatever the number of bytes (the binders ask once per identifier)."""

    __slots__ = ("_stack", "_following", "_upcoming")

    def __init__(self, scopes: list[ByteScope]) -> None:
        self._stack = [scopes[0]]
        self._following = iter(scopes[1:])
        self._upcoming = next(self._following, None)

    def at(self, byte: int) -> ByteScope:
        stack, upcoming = self._stack, self._upcoming
        if upcoming is not None and upcoming.start <= byte:
            while upcoming is not None and upcoming.start <= byte:  # enter the scopes opened since
                while stack[-1].end <= upcoming.start:
                    stack.pop()
                stack.append(upcoming)
                upcoming = next(self._following, None)
            self._upcoming = upcoming
        while stack[-1].end <= byte:  # leave the scopes closed since
            stack.pop()
        return stack[-1]


def sweep(scopes: list[Scope], events: Iterable[tuple[int, int, Payload]]) -> Iterator[tuple[Payload, int, Scope]]:
    """(payload, tag, innermost scope) of (start byte, tag, payload) events, in source order (then tag)."""
    cursor = ScopeCursor(scopes)
    for start, tag, payload in sorted(events, key=lambda event: (event[0], event[1])):
        yield payload, tag, cursor.at(start)
