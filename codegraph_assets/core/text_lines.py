"""Lines as git, tree-sitter and editors count them: split on "\\n" only.

`str.splitlines()` also breaks at \\f, \\v, \\x1c-\\x1e, \\x85, U+2028 and U+2029, which drifts line
numbers away from the IR's (tree-sitter rows count "\\n" only) on files that contain them.
"""

from __future__ import annotations


def split_lines(text: str) -> list[str]:
    """The text's lines without terminators: "\\n" ends a line, one "\\r" before it is dropped (CRLF)."""
    if not text:
        return []
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()  # the terminator of the last line, not the start of another
    return [line[:-1] if line.endswith("\r") else line for line in lines]
