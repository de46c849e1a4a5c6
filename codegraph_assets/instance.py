"""The Dagster instance codegraph runs on outside `dagster dev`: the one in DAGSTER_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from codegraph_assets.config import codegraph_home


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
