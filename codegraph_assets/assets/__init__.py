"""The four software-defined assets: ir and lexical (from the source snapshot), chunk, vector."""

from codegraph_assets.assets.chunk import chunk
from codegraph_assets.assets.ir import ir
from codegraph_assets.assets.lexical import lexical
from codegraph_assets.assets.vector import vector

ALL_ASSETS = [ir, lexical, chunk, vector]

__all__ = ["ALL_ASSETS", "chunk", "ir", "lexical", "vector"]
