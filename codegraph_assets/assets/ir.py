"""ir: tree-sitter IR (symbols, occurrences, imports) for every indexed blob of the snapshot."""

import dagster as dg

from codegraph_assets.assets.targets import ASSET_GROUP, output, resolve_target, trace_result, traced_stage
from codegraph_assets.error_policy import classified_failures, run_settings
from codegraph_assets.partitions import REPO_SNAPSHOT
from codegraph_assets.run_config import IndexingRunConfig
from codegraph_assets.stages.ir_stage import build_ir
from resources.git import GitResource
from resources.metadata_store import MetadataStoreResource


@dg.asset(partitions_def=REPO_SNAPSHOT, output_required=False, group_name=ASSET_GROUP,
          kinds={"python"}, description=__doc__)
def ir(context: dg.AssetExecutionContext, config: IndexingRunConfig, metadata: MetadataStoreResource,
       git: GitResource):
    settings = run_settings(config)
    with classified_failures(context, settings.retry), traced_stage(context) as span:
        store = metadata.open()
        target = resolve_target(context, store, git, settings)
        if target is None:
            return
        stats = build_ir(target.repo, target.snapshot, store, git, settings)
        trace_result(span, target, stats)
    yield output(target, stats)
