"""The one definition of the repo × snapshot partition space. Keys print as `repo|snapshot`."""

from __future__ import annotations

import dagster as dg

REPO_DIMENSION = "repo"
SNAPSHOT_DIMENSION = "snapshot"

REPO_PARTITIONS = dg.DynamicPartitionsDefinition(name=REPO_DIMENSION)
SNAPSHOT_PARTITIONS = dg.DynamicPartitionsDefinition(name=SNAPSHOT_DIMENSION)

# Dimensions are ordered alphabetically in keys: "repo|snapshot".
REPO_SNAPSHOT = dg.MultiPartitionsDefinition(
    {REPO_DIMENSION: REPO_PARTITIONS, SNAPSHOT_DIMENSION: SNAPSHOT_PARTITIONS}
)


def partition_key(repo: str, snapshot: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({REPO_DIMENSION: repo, SNAPSHOT_DIMENSION: snapshot})


def split_partition_key(key: str) -> tuple[str, str]:
    """(repo, snapshot) of a `repo|snapshot` key."""
    if isinstance(key, dg.MultiPartitionKey):
        dims = key.keys_by_dimension
        return dims[REPO_DIMENSION], dims[SNAPSHOT_DIMENSION]
    repo, _, snapshot = key.partition("|")
    return repo, snapshot
