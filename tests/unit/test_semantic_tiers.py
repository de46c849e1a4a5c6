"""The semantic tier is selectable in run config and part of every IR cache key: changing it is a different
IR (parsed again, resolved again), never a stale one."""

from __future__ import annotations

import pytest

from codegraph_assets.config import IndexingConfig
from codegraph_assets.run_config import IndexingRunConfig
from codegraph_assets.stages.documents import doc_key
from codegraph_assets.stages.ir_stage import cross_file_enabled, resolver_key


def tiered(tier: str, **ir_build) -> IndexingConfig:
    config = IndexingConfig()
    return config.model_copy(update={
        "defaults": config.defaults.model_copy(update={"semantic_tier": tier}),
        "ir_build": config.ir_build.model_copy(update=ir_build)})


@pytest.mark.parametrize("first, second", [("BASE", "EXTENDED"), ("EXTENDED", "FULL"), ("BASE", "FULL")])
def test_each_tier_has_its_own_document_and_resolution_keys(first, second):
    assert doc_key("a" * 40, tiered(first)) != doc_key("a" * 40, tiered(second))
    assert resolver_key(tiered(first)) != resolver_key(tiered(second))


def test_cross_file_resolution_runs_from_extended_on_unless_switched_off():
    assert not cross_file_enabled(tiered("BASE"))
    assert cross_file_enabled(tiered("EXTENDED")) and cross_file_enabled(tiered("FULL"))
    assert not cross_file_enabled(tiered("FULL", cross_file=False))


def test_the_tier_is_a_run_config_field_with_the_three_values():
    assert IndexingRunConfig(defaults={"semantic_tier": "EXTENDED"}).defaults.semantic_tier == "EXTENDED"
