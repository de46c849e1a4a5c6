"""vector: embeddings of the published chunks in Qdrant; each distinct text is embedded once, ever."""

import dagster as dg

from codegraph_assets.assets.chunk import chunk
from codegraph_assets.assets.lexical import lexical
from codegraph_assets.assets.targets import (
    ASSET_GROUP, PROGRESS_PREFIX, output, trace_result, traced_stage, upstream_target,
)
from codegraph_assets.error_policy import classified_failures, run_settings
from codegraph_assets.partitions import REPO_SNAPSHOT
from codegraph_assets.run_config import IndexingRunConfig
from codegraph_assets.stages.vector_stage import build_vectors
from resources.embeddings import EmbeddingResource
from resources.llm import LLMResource
from resources.metadata_store import MetadataStoreResource
from resources.qdrant_store import QdrantResource

# Qdrant local mode locks its directory for one client: one vector step at a time per instance.
QDRANT_POOL = "qdrant"


# vector also waits for lexical (which runs beside ir and chunk and finishes long before them): its
# publish is then the one that completes the snapshot, so searches switch to the new commit and the
# previous snapshot's points go within this step.
@dg.asset(partitions_def=REPO_SNAPSHOT, deps=[chunk, lexical], group_name=ASSET_GROUP, kinds={"qdrant"},
          pool=QDRANT_POOL, description=__doc__)
def vector(context: dg.AssetExecutionContext, config: IndexingRunConfig, metadata: MetadataStoreResource,
           qdrant: QdrantResource, embeddings: EmbeddingResource, llm: LLMResource):
    settings = run_settings(config)
    with classified_failures(context, settings.retry), traced_stage(context) as span:
        store = metadata.open()
        target = upstream_target(context, store, "chunk")
        stats = build_vectors(target.snapshot, store, qdrant, embeddings, settings, llm, progress=lambda done, total:
                              context.log.info(f"{PROGRESS_PREFIX}embedded {done} of {total} chunks"))
        trace_result(span, target, stats)
    return output(target, stats)
