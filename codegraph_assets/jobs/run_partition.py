"""`python -m codegraph_assets.jobs.run_partition`: one Dagster run of the index job for one partition.

The orchestrator starts this in its own process group, so a pipeline timeout can stop the run and
every step process it started. Steps run under Dagster's multiprocess executor: ir and lexical in
parallel, then chunk, then vector.
"""

from __future__ import annotations

import argparse
import json
import sys

import dagster as dg

from codegraph_assets.instance import dagster_instance
from codegraph_assets.partitions import REPO_DIMENSION, SNAPSHOT_DIMENSION


def index_job() -> dg.JobDefinition:
    """The `index_partition` job, rebuilt in each step process (hence a module-level function)."""
    from codegraph_assets.definitions import defs

    return defs.resolve_job_def("index_partition")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--snapshot", required=True)
    parser.add_argument("--tags", required=True, help="JSON object of run tags")
    parser.add_argument("--run-config", required=True, help="JSON run config")
    parser.add_argument("--assets", required=True, help="comma-separated asset keys to materialize")
    args = parser.parse_args(argv)
    tags = json.loads(args.tags) | {
        "dagster/partition": f"{args.repo}|{args.snapshot}",
        f"dagster/partition/{REPO_DIMENSION}": args.repo,
        f"dagster/partition/{SNAPSHOT_DIMENSION}": args.snapshot,
    }
    with dagster_instance() as instance:
        result = dg.execute_job(
            dg.reconstructable(index_job), instance=instance, run_config=json.loads(args.run_config), tags=tags,
            asset_selection=[dg.AssetKey(key) for key in args.assets.split(",")], raise_on_error=False,
        )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
