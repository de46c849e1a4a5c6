"""The seed's job payload: which repository, which snapshot, which semantic tier."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from codegraph_assets.config import IndexingConfig, SemanticTier
from codegraph_assets.errors import CodegraphError, ErrorCode


class IndexingPayload(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)  # the seed's payloads carry extra keys; kept

    repo_path: str
    repo_id: str
    snapshot_id: str | None = None  # default: IndexingConfig.defaults.snapshot_id
    semantic_tier: SemanticTier | None = None  # default: IndexingConfig.defaults.semantic_tier

    @classmethod
    def parse(cls, payload: Mapping[str, Any] | None) -> IndexingPayload:
        if not isinstance(payload, Mapping):
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"payload must be a mapping, got {type(payload).__name__}",
                                 input=repr(payload)[:200], fix="pass a dict with repo_path and repo_id")
        try:
            return cls.model_validate(dict(payload))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "payload"
            raise CodegraphError(
                ErrorCode.INVALID_PAYLOAD, f"payload field {where!r}: {first['msg']}", input=where,
                fix="payloads need repo_path and repo_id; snapshot_id and semantic_tier (BASE|EXTENDED|FULL) "
                    "are optional",
            ) from exc

    def effective_config(self, config: IndexingConfig) -> IndexingConfig:
        """The config with this payload's semantic tier applied (the tier is part of every IR key)."""
        if self.semantic_tier is None:
            return config
        defaults = config.defaults.model_copy(update={"semantic_tier": self.semantic_tier})
        return config.model_copy(update={"defaults": defaults})

    def snapshot(self, config: IndexingConfig) -> str:
        return self.snapshot_id or config.defaults.snapshot_id
