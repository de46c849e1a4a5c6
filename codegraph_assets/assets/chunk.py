"""chunk: AST-aware chunks of every indexed file, built from the published IR and cached per blob."""

import dagster as dg

from codegraph_assets.assets.ir import ir
from codegraph_assets.assets.targets import ASSET_GROUP, output, trace_result, traced_stage, upstream_target
from codegraph_assets.error_policy import classified_failures, run_settings
from codegraph_assets.partitions import REPO_SNAPSHOT
from codegraph_assets.run_config import IndexingRunConfig
from codegraph_assets.stages.chunk_stage import build_chunks
from resources.embeddings import EmbeddingResource
from resources.git import GitResource
from resources.metadata_store import MetadataStoreResource


@dg.asset(partitions_def=REPO_SNAPSHOT, deps=[ir], group_name=ASSET_GROUP, kinds={"python"},
          description=__doc__)
def chunk(context: dg.AssetExecutionContext, config: IndexingRunConfig, metadata: MetadataStoreResource,
          git: GitResource, embeddings: EmbeddingResource):
    settings = run_settings(config)
    with classified_failures(context, settings.retry), traced_stage(context) as span:
        store = metadata.open()
        target = upstream_target(context, store, "ir")
        stats = build_chunks(target.repo, target.snapshot, store, git, settings, embeddings)
        trace_result(span, target, stats)
    return output(target, stats)
