"""The codegraph code location: four partitioned assets and their checks, the job, schedule and sensor
that run them, and the resources they run on."""

import dagster as dg

from codegraph_assets.assets import ALL_ASSETS, ALL_CHECKS
from codegraph_assets.automation.schedule import build_nightly_schedule
from codegraph_assets.automation.sensor import build_push_sensor
from codegraph_assets.config import load_indexing_config
from codegraph_assets.partitions import REPO_SNAPSHOT
from codegraph_assets.resource_defs import build_resource_defs

index_partition_job = dg.define_asset_job(
    "index_partition", selection=ALL_ASSETS, partitions_def=REPO_SNAPSHOT,
    description="ir and lexical in parallel, then chunk, then vector, for one repo|snapshot.",
)

config = load_indexing_config()
defs = dg.Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=[index_partition_job],
    schedules=[build_nightly_schedule(index_partition_job, config.automation)],
    sensors=[build_push_sensor(index_partition_job, config.automation)],
    resources=build_resource_defs(config),
)
