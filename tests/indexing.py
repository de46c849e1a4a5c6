"""Helpers for integration tests: materialize a partition through Dagster with real resources."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from codegraph_assets.assets import ALL_ASSETS
from codegraph_assets.config import IndexingConfig, load_indexing_config
from codegraph_assets.partitions import partition_key
from codegraph_assets.registry import register_repo
from codegraph_assets.resource_defs import build_resource_defs
from codegraph_assets.search import CodeSearch


@dataclass
class Indexed:
    result: dg.ExecuteInProcessResult

    def metadata(self, asset: str) -> dict:
        for event in self.result.get_asset_materialization_events():
            materialization = event.event_specific_data.materialization
            if materialization.asset_key.to_user_string() == asset:
                return {k: v.value for k, v in materialization.metadata.items()}
        raise KeyError(f"{asset} was not materialized")

    def materialized(self) -> set[str]:
        return {e.event_specific_data.materialization.asset_key.to_user_string()
                for e in self.result.get_asset_materialization_events()}


class Indexer:
    """Registers repos in a real (ephemeral) Dagster instance and materializes the four assets."""

    def __init__(self, config: IndexingConfig | None = None, resource_overrides: dict | None = None) -> None:
        self.config = config or load_indexing_config()
        self.instance = dg.DagsterInstance.ephemeral()
        self.resources = {**build_resource_defs(self.config), **(resource_overrides or {})}

    def register(self, name: str, location: str, refs: list[str]) -> None:
        with dg.build_resources({"metadata": self.resources["metadata"]}) as r:
            register_repo(r.metadata.open(), self.instance, name, location, refs)

    def materialize(self, repo: str, snapshot: str, **kwargs) -> Indexed:
        result = dg.materialize(ALL_ASSETS, partition_key=partition_key(repo, snapshot), instance=self.instance,
                                resources=self.resources, **kwargs)
        return Indexed(result)

    def search(self, query: str, repo: str, snapshot: str, mode: str, limit: int = 5):
        with dg.build_resources(self.resources) as r:
            search = CodeSearch(r.metadata.open(), r.tantivy, r.qdrant, r.embeddings, self.config)
            return search.search(query, repo=repo, snapshot=snapshot, mode=mode, limit=limit)
