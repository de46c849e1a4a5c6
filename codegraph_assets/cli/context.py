"""What every CLI command needs: the config and initialized resources."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from codegraph_assets.config import IndexingConfig, load_indexing_config
from codegraph_assets.resource_defs import build_resource_defs


@contextmanager
def cli_resources(config: IndexingConfig | None = None) -> Iterator[tuple[IndexingConfig, dict, object]]:
    """(config, resource definitions, initialized resources); Dagster resolves EnvVars and tears down."""
    config = config or load_indexing_config()
    defs = build_resource_defs(config)
    with dg.build_resources(defs) as initialized:
        yield config, defs, initialized
