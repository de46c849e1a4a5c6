"""lexical: a Tantivy index of the snapshot's files with code-aware tokens; needs files only, not ir."""

import dagster as dg

from codegraph_assets.assets.targets import ASSET_GROUP, output, resolve_target, trace_result, traced_stage
from codegraph_assets.error_policy import classified_failures, run_settings
from codegraph_assets.partitions import REPO_SNAPSHOT
from codegraph_assets.run_config import IndexingRunConfig
from codegraph_assets.stages.lexical_stage import build_lexical
from resources.git import GitResource
from resources.llm import LLMResource
from resources.metadata_store import MetadataStoreResource
from resources.tantivy_index import TantivyResource


@dg.asset(partitions_def=REPO_SNAPSHOT, output_required=False, group_name=ASSET_GROUP,
          kinds={"tantivy"}, description=__doc__)
def lexical(context: dg.AssetExecutionContext, config: IndexingRunConfig, metadata: MetadataStoreResource,
            git: GitResource, tantivy: TantivyResource, llm: LLMResource):
    settings = run_settings(config)
    with classified_failures(context, settings.retry), traced_stage(context) as span:
        store = metadata.open()
        target = resolve_target(context, store, git, settings)
        if target is None:
            return
        stats = build_lexical(target.repo, target.snapshot, store, git, tantivy, settings, llm)
        trace_result(span, target, stats)
    yield output(target, stats)
