"""IndexingConfig as Dagster run config: the Launchpad schema is derived from the pydantic tree.

There is one source of tunables (`config.IndexingConfig`); this module only mirrors its shape as
`dg.Config` classes, with the environment-overridden values as defaults.
"""

from __future__ import annotations

import typing

import dagster as dg
from pydantic import BaseModel, Field, ValidationError, create_model

from codegraph_assets.config import LOAD_TIME, IndexingConfig, load_indexing_config
from codegraph_assets.errors import CodegraphError, ErrorCode


def _dagster_type(annotation):
    # Dagster's config system has no Literal; the pydantic tree validates the choice afterwards.
    return str if typing.get_origin(annotation) is typing.Literal else annotation


def _mirror(model: BaseModel, name: str) -> type[dg.Config]:
    fields = {}
    for field_name, info in type(model).model_fields.items():
        if info.json_schema_extra == LOAD_TIME:
            continue
        value = getattr(model, field_name)
        if isinstance(value, BaseModel):
            section = _mirror(value, f"{type(value).__name__}Schema")
            fields[field_name] = (section, Field(default_factory=section, description=info.description))
        else:
            default = list(value) if isinstance(value, list) else value
            fields[field_name] = (_dagster_type(info.annotation),
                                  Field(default_factory=lambda d=default: d, description=info.description))
    return create_model(name, __base__=dg.Config, **fields)


class _Converts:
    def to_indexing_config(self) -> IndexingConfig:
        """Validate the run config against the real tree; errors name the field and the fix."""
        merged = load_indexing_config().model_dump()  # load-time fields keep their environment values
        for section, values in self.model_dump().items():  # type: ignore[attr-defined]
            merged[section].update(values)
        try:
            return IndexingConfig.model_validate(merged)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise CodegraphError(
                ErrorCode.INVALID_PAYLOAD, f"run config field {where!r} is invalid: {first['msg']}",
                input=where, fix="correct the value in the Launchpad or the run config YAML",
            ) from exc


IndexingRunConfig: type[dg.Config] = type(
    "IndexingRunConfig", (_mirror(load_indexing_config(), "_IndexingRunConfigBase"), _Converts),
    {"__doc__": "Every tunable of codegraph (see codegraph_assets/config.py for meanings and defaults)."},
)
