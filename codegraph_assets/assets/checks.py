"""Asset checks per repo|snapshot partition: each runs as its own step after the asset it checks.

They run in every run of the index_partition job, and can run alone (selected without their assets, for
a partition) to re-verify the stores, or freshness, later. A check uses the settings its asset ran with in
the same run (that asset's run config), else the code location's configuration: the Launchpad needs no
config for them, and a run that changed, say, the semantic tier checks what it built.
"""

import warnings

import dagster as dg

from codegraph_assets.assets.ir import ir
from codegraph_assets.assets.lexical import lexical
from codegraph_assets.assets.vector import QDRANT_POOL, vector
from codegraph_assets.config import IndexingConfig
from codegraph_assets.partitions import REPO_SNAPSHOT, split_partition_key
from codegraph_assets.run_config import IndexingRunConfig
from codegraph_assets.stages import checks
from codegraph_assets.stages.chunk_stage import chunk_set_keys
from resources.embeddings import EmbeddingResource
from resources.git import GitResource
from resources.metadata_store import MetadataStoreResource
from resources.qdrant_store import QdrantResource
from resources.tantivy_index import TantivyResource

# Partitioned checks are "preview" in Dagster 1.13 (may change in a patch release). dagster is pinned
# exactly, so the warning would only repeat on every CLI call and code-location load.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec",
                        category=dg.PreviewWarning)


@dg.asset_check(asset=vector, name="points_match_chunks", partitions_def=REPO_SNAPSHOT, pool=QDRANT_POOL,
                description="ERROR unless Qdrant holds exactly one point per chunk of every file of the "
                "vector head's manifest (a mismatch means a failed write or corruption).")
def vector_points_match_chunks(context: dg.AssetCheckExecutionContext, metadata: MetadataStoreResource,
                               qdrant: QdrantResource, embeddings: EmbeddingResource) -> dg.AssetCheckResult:
    config = _settings(context, vector)
    with qdrant.writing():  # local mode admits one client: wait for a vector step of another run
        outcome = checks.vector_points_match_chunks(metadata.open(), qdrant, qdrant.collection_name(
            embeddings.model_id()), *split_partition_key(context.partition_key), config,
            chunk_set_keys(config, embeddings))
    return _result(context, outcome)


@dg.asset_check(asset=lexical, name="documents_match_files", partitions_def=REPO_SNAPSHOT,
                description="ERROR unless the lexical head's Tantivy index holds exactly one document per "
                "indexed text file of its manifest, at the manifest's blob.")
def lexical_documents_match_files(context: dg.AssetCheckExecutionContext, metadata: MetadataStoreResource,
                                  git: GitResource, tantivy: TantivyResource) -> dg.AssetCheckResult:
    outcome = checks.lexical_documents_match_files(metadata.open(), git, tantivy,
                                                   *split_partition_key(context.partition_key),
                                                   _settings(context, lexical))
    return _result(context, outcome)


@dg.asset_check(asset=ir, name="parse_error_rate", partitions_def=REPO_SNAPSHOT,
                description="WARN when more of the ir head's parsed files than checks.max_parse_error_rate "
                "have tree-sitter parse errors (their symbols may be incomplete).")
def ir_parse_error_rate(context: dg.AssetCheckExecutionContext,
                        metadata: MetadataStoreResource) -> dg.AssetCheckResult:
    outcome = checks.parse_error_rate(metadata.open(), *split_partition_key(context.partition_key),
                                      _settings(context, ir))
    return _result(context, outcome)


@dg.asset_check(asset=vector, name="index_is_fresh", partitions_def=REPO_SNAPSHOT,
                description="WARN when the commit searches serve is not the commit the partition's branch or "
                "tag names now (remote repositories are fetched first).")
def vector_index_is_fresh(context: dg.AssetCheckExecutionContext, metadata: MetadataStoreResource,
                          git: GitResource) -> dg.AssetCheckResult:
    # ir and lexical of the same run fetched the remote minutes ago; a check run alone fetches it itself.
    fetched_in_run = bool({ir.key, lexical.key} & set(context.run.asset_selection or ()))
    outcome = checks.index_is_fresh(metadata.open(), git, *split_partition_key(context.partition_key),
                                    _settings(context, vector), fetch=not fetched_in_run)
    return _result(context, outcome)


ALL_CHECKS = [ir_parse_error_rate, lexical_documents_match_files, vector_points_match_chunks, vector_index_is_fresh]


def _settings(context: dg.AssetCheckExecutionContext, asset: dg.AssetsDefinition) -> IndexingConfig:
    """The configuration `asset` ran with in this run: its run config over the code location's."""
    op_config = context.run.run_config.get("ops", {}).get(asset.op.name, {}).get("config") or {}
    return IndexingRunConfig(**op_config).to_indexing_config()


def _result(context: dg.AssetCheckExecutionContext, outcome: checks.CheckOutcome) -> dg.AssetCheckResult:
    metadata: dict[str, object] = {"partition": context.partition_key, "commit": outcome.commit or "",
                                   "expected": _value(outcome.expected), "actual": _value(outcome.actual)}
    metadata.update({name: _value(value) for name, value in outcome.details.items()})
    return dg.AssetCheckResult(passed=outcome.passed, severity=dg.AssetCheckSeverity(outcome.severity),
                               description=outcome.description, metadata=metadata)


def _value(value: object) -> object:
    if value is None:
        return dg.MetadataValue.null()
    return dg.MetadataValue.json(value) if isinstance(value, (list, dict)) else value
