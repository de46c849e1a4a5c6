"""The four software-defined assets: ir and lexical (from the source snapshot), chunk, vector; and their checks."""

from codegraph_assets.assets.checks import ALL_CHECKS
from codegraph_assets.assets.chunk import chunk
from codegraph_assets.assets.ir import ir
from codegraph_assets.assets.lexical import lexical
from codegraph_assets.assets.vector import vector

ALL_ASSETS = [ir, lexical, chunk, vector]

__all__ = ["ALL_ASSETS", "ALL_CHECKS", "chunk", "ir", "lexical", "vector"]
