"""Reading spans, names, signatures and doc comments out of tree-sitter nodes."""

from __future__ import annotations

import inspect

from tree_sitter import Node

from codegraph_assets.core.ir_model import Span

MAX_SIGNATURE_CHARS = 200

COMMENT_TYPES = frozenset({"comment", "line_comment", "block_comment"})
# Nodes allowed between a doc comment and its definition (Rust `#[derive(..)]`).
BETWEEN_DOC_AND_DEFINITION = frozenset({"attribute_item"})
_LINE_COMMENT_MARKERS = ("///", "//!", "//", "#")


def span_of(node: Node) -> Span:
    """The node's range: lines 1-based inclusive, columns 0-based bytes."""
    start, end = node.start_point, node.end_point
    return Span(start.row + 1, start.column, end.row + 1, end.column)


def span_between(first: Node, last: Node) -> Span:
    """The range from the start of one node to the end of another."""
    start, end = first.start_point, last.end_point
    return Span(start.row + 1, start.column, end.row + 1, end.column)


def text_of(node: Node, content: bytes) -> str:
    """The node's source text; invalid UTF-8 becomes U+FFFD rather than an error."""
    return content[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def signature_of(header: Node, body: Node | None, content: bytes) -> str:
    """The header text before the body (or its first line), whitespace-collapsed and capped."""
    start = header.start_byte
    if body is not None and start < body.start_byte <= header.end_byte:
        end = body.start_byte
    else:
        newline = content.find(b"\n", start, header.end_byte)
        end = header.end_byte if newline < 0 else newline
    text = " ".join(content[start:end].decode("utf-8", errors="replace").split())
    text = text.rstrip("{:;").rstrip()
    return text[:MAX_SIGNATURE_CHARS]


def python_docstring(definition: Node, content: bytes) -> str:
    """The docstring of a Python class or function: its body's leading string literal."""
    body = definition.child_by_field_name("body")
    if body is None:
        return ""
    for statement in body.named_children:
        if statement.type == "comment":
            continue
        if statement.type != "expression_statement" or statement.named_child_count != 1:
            return ""
        literal = statement.named_children[0]
        if literal.type != "string":
            return ""
        parts = [text_of(part, content) for part in literal.named_children if part.type == "string_content"]
        return inspect.cleandoc("".join(parts))
    return ""


def leading_comment(node: Node, content: bytes) -> str:
    """The comment block right above a definition, without comment markers; "" when none."""
    comments: list[Node] = []
    next_start_row = node.start_point.row
    sibling = node.prev_sibling
    while sibling is not None:
        if sibling.type in BETWEEN_DOC_AND_DEFINITION:
            next_start_row = sibling.start_point.row
        elif sibling.type in COMMENT_TYPES and _last_row(sibling) >= next_start_row - 1:
            if _trails_code(sibling):
                break
            comments.append(sibling)
            next_start_row = sibling.start_point.row
        else:
            break
        sibling = sibling.prev_sibling
    lines = [line for comment in reversed(comments) for line in _comment_lines(text_of(comment, content))]
    return "\n".join(lines).strip()


def _last_row(node: Node) -> int:
    # Rust line comments include their newline, so they end at column 0 of the next row.
    end = node.end_point
    return end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row


def _trails_code(comment: Node) -> bool:
    """Whether the comment sits at the end of a line of code, and so documents that line instead."""
    before = comment.prev_sibling
    return (
        before is not None
        and before.type not in COMMENT_TYPES
        and before.end_point.row == comment.start_point.row
    )


def _comment_lines(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("/*"):
        text = text[2:-2] if len(text) >= 4 and text.endswith("*/") else text[2:]
        text = text.lstrip("*!")
        return [line.strip().lstrip("*").strip() for line in text.splitlines()]
    for marker in _LINE_COMMENT_MARKERS:
        if text.startswith(marker):
            return [text[len(marker) :].strip()]
    return [text]
