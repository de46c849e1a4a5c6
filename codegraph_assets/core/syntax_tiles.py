"""A tree-sitter tree seen at line granularity: the children of a node as tiles of whole lines.

Chunks are line ranges, so siblings that share a line (`} else {`, `a = 1; b = 2`) are glued into one
tile, a comment block directly above the next sibling is glued to it (it documents it), and the lines
between tiles (blank lines) belong to the tile above. Tiles cover their parent's lines exactly.

The chunker never parses: the parse worker, which already holds the tree in a child process under the
parse timeout, stores the tree's *outline* with the document IR (`syntax_outline`), and the chunker cuts
along that (`read_outline`). The outline keeps what tiles read of a node (its lines, whether it is a
comment, its children of non-zero width) for every node that spans several lines and for their children;
a node on one line stands for itself. That loses nothing: a tile on one line can only be cut into line
windows, however deep its nodes go, and below a multi-line node its one-line children keep their place.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from tree_sitter import Node

from codegraph_assets.core.ir_node_text import COMMENT_TYPES

_FIELDS = 4  # per node, in pre-order: first line, last line, (kept children << 1) | is a comment, subtree size


class SyntaxNode:
    """One node of an outline: 1-based inclusive lines, and its children, read from the packed outline
    only when asked for (the chunker splits few nodes: most fit whole)."""

    __slots__ = ("first", "last", "comment", "child_count", "_values", "_at", "_children")

    def __init__(self, values: array, at: int) -> None:
        base = at * _FIELDS
        self.first, self.last, flags = values[base], values[base + 1], values[base + 2]
        self.comment, self.child_count = bool(flags & 1), flags >> 1  # 0: it stands for itself
        self._values, self._at = values, at
        self._children: list[SyntaxNode] | None = None

    @property
    def children(self) -> list[SyntaxNode]:
        if self._children is None:
            values, at, children = self._values, self._at + 1, []
            for _ in range(self.child_count):
                children.append(SyntaxNode(values, at))
                at += values[at * _FIELDS + 3]  # past that child's subtree
            self._children = children
        return self._children


@dataclass
class Tile:
    start: int  # 1-based inclusive lines
    end: int
    nodes: list[SyntaxNode] = field(default_factory=list)

    @property
    def splittable(self) -> bool:
        """Whether any node of it has children to split along (else only line windows can cut it)."""
        return any(node.child_count for node in self.nodes)


def node_lines(node: Node) -> tuple[int, int]:
    """1-based first and last line of a node; one ending at column 0 ends on the line before."""
    start, end = node.start_point, node.end_point
    last = end.row if end.column == 0 and end.row > start.row else end.row + 1
    return start.row + 1, last


def syntax_outline(root: Node, *, whole_tree: bool = False) -> bytes:
    """The outline of a parsed tree, packed (uint32 quadruples in pre-order). `whole_tree` keeps the
    children of one-line nodes too: the tree exactly as tiles saw it before outlines, for tests to compare."""
    # The parse worker runs this on every file: node_lines inlined, and a child of zero width (a MISSING
    # token) found by its points, which it reads anyway.
    values = array("I")
    pending: list[tuple] = [(root, root.start_point, root.end_point)]
    while pending:
        node, start, end = pending.pop()
        if node is None:  # past the subtree of the node at index `start`: its size is known
            values[start * _FIELDS + 3] = len(values) // _FIELDS - start
            continue
        first = start.row + 1
        last = end.row if end.column == 0 and end.row > start.row else end.row + 1
        kept = []
        if (whole_tree or last > first) and node.child_count:
            for child in node.children:
                child_start, child_end = child.start_point, child.end_point
                if child_start != child_end:
                    kept.append((child, child_start, child_end))
        at = len(values) // _FIELDS
        values.extend((first, last, len(kept) << 1 | (node.type in COMMENT_TYPES), 1))
        if kept:
            pending.append((None, at, None))
            kept.reverse()
            pending += kept
    return values.tobytes()


def read_outline(packed: bytes) -> SyntaxNode:
    """The root of a `syntax_outline`."""
    values = array("I")
    values.frombytes(packed)
    if not values:
        raise ValueError("an empty syntax outline")
    return SyntaxNode(values, 0)


def tiles(start: int, end: int, nodes: list[SyntaxNode]) -> list[Tile]:
    """The children of `nodes` (a node without any stands for itself) as tiles covering lines start..end
    exactly."""
    out: list[Tile] = []
    for node in nodes:
        for child in node.children if node.child_count else (node,):
            first, last = max(child.first, start), min(child.last, end)
            if first > last:
                continue
            if out and first <= out[-1].end:  # shares a line with the previous tile
                out[-1].end = max(out[-1].end, last)
                out[-1].nodes.append(child)
            else:
                out.append(Tile(first, last, [child]))
    for i in range(len(out) - 2, -1, -1):  # a comment block right above a sibling documents it
        if all(n.comment for n in out[i].nodes) and out[i].end + 1 == out[i + 1].start:
            out[i + 1] = Tile(out[i].start, out[i + 1].end, out[i].nodes + out[i + 1].nodes)
            del out[i]
    if not out:
        return [Tile(start, end, [])]
    out[0].start = start
    for previous, following in zip(out, out[1:]):
        previous.end = following.start - 1
    out[-1].end = end
    return out


def unglue_comments(tile: Tile) -> list[Tile]:
    """A tile whose leading comment block was glued on, as [comments, the rest]; [] when it has none."""
    comments = 0
    while comments < len(tile.nodes) - 1 and tile.nodes[comments].comment:
        comments += 1
    if not comments:
        return []
    comment_end = tile.nodes[comments - 1].last
    if comment_end >= tile.end:
        return []
    return [Tile(tile.start, comment_end, tile.nodes[:comments]), Tile(comment_end + 1, tile.end, tile.nodes[comments:])]
