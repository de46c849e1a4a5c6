"""What every CLI command needs: the config, the Dagster instance, and initialized resources."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from codegraph_assets.config import IndexingConfig, codegraph_home, load_indexing_config
from codegraph_assets.resource_defs import build_resource_defs


def dagster_instance() -> dg.DagsterInstance:
    """The instance under DAGSTER_HOME; defaults to $CODEGRAPH_HOME/dagster so runs show up in `dagster dev`."""
    if not os.environ.get("DAGSTER_HOME"):
        os.environ["DAGSTER_HOME"] = str(codegraph_home() / "dagster")
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():  # Dagster's SQLite defaults; `make ui` replaces it with the repo's dagster.yaml
        config.write_text("# Created by codegraph: Dagster's default SQLite storage under DAGSTER_HOME.\n"
                          "telemetry:\n  enabled: false\n")
    return dg.DagsterInstance.get()


@contextmanager
def cli_resources(config: IndexingConfig | None = None) -> Iterator[tuple[IndexingConfig, dict, object]]:
    """(config, resource definitions, initialized resources); Dagster resolves EnvVars and tears down."""
    config = config or load_indexing_config()
    defs = build_resource_defs(config)
    with dg.build_resources(defs) as initialized:
        yield config, defs, initialized
