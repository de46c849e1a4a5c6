"""A tree-sitter tree seen at line granularity: the children of a node as tiles of whole lines.

Chunks are line ranges, so siblings that share a line (`} else {`, `a = 1; b = 2`) are glued into one
tile, a comment block directly above the next sibling is glued to it (it documents it), and the lines
between tiles (blank lines) belong to the tile above. Tiles cover their parent's lines exactly. Nodes are
expanded only when a chunk must split them, so large files never become Python objects node by node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from codegraph_assets.core.ir_grammars import grammar_for, parser_for
from codegraph_assets.core.ir_node_text import COMMENT_TYPES


@dataclass
class Tile:
    start: int  # 1-based inclusive lines
    end: int
    nodes: list[Node] = field(default_factory=list)

    @property
    def splittable(self) -> bool:
        """Whether any node of it has children to split along (else only line windows can cut it)."""
        return any(node.child_count for node in self.nodes)


def parse_root(content: bytes, language: str) -> Node:
    return parser_for(grammar_for(language)).parse(content).root_node


def node_lines(node: Node) -> tuple[int, int]:
    """1-based first and last line of a node; one ending at column 0 ends on the line before."""
    start, end = node.start_point, node.end_point
    last = end.row if end.column == 0 and end.row > start.row else end.row + 1
    return start.row + 1, last


def tiles(start: int, end: int, nodes: list[Node]) -> list[Tile]:
    """The children of `nodes` (a leaf stands for itself) as tiles covering lines start..end exactly."""
    children = [child for node in nodes for child in (node.children if node.child_count else [node])
                if child.end_byte > child.start_byte]
    out: list[Tile] = []
    for child in children:
        first, last = node_lines(child)
        first, last = max(first, start), min(last, end)
        if first > last:
            continue
        if out and first <= out[-1].end:  # shares a line with the previous tile
            out[-1].end = max(out[-1].end, last)
            out[-1].nodes.append(child)
        else:
            out.append(Tile(first, last, [child]))
    for i in range(len(out) - 2, -1, -1):  # a comment block right above a sibling documents it
        if all(n.type in COMMENT_TYPES for n in out[i].nodes) and out[i].end + 1 == out[i + 1].start:
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
    while comments < len(tile.nodes) - 1 and tile.nodes[comments].type in COMMENT_TYPES:
        comments += 1
    if not comments:
        return []
    comment_end = node_lines(tile.nodes[comments - 1])[1]
    if comment_end >= tile.end:
        return []
    return [Tile(tile.start, comment_end, tile.nodes[:comments]), Tile(comment_end + 1, tile.end, tile.nodes[comments:])]
