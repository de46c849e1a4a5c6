"""`codegraph gc`: delete index data no published snapshot or tracked partition needs any more."""

from __future__ import annotations

import json

from codegraph_assets.cli.context import cli_resources
from codegraph_assets.stages.garbage import collect_garbage


def run(args) -> int:
    with cli_resources() as (config, _defs, resources):
        if args.grace_hours is not None:
            config = config.model_copy(update={"garbage": config.garbage.model_copy(
                update={"grace_hours": args.grace_hours})})
        stats = collect_garbage(resources.metadata.open(), resources.tantivy, resources.qdrant,
                                resources.embeddings, config)
    figures = stats.as_dict()
    print(json.dumps(figures, indent=2) if args.json else
          ", ".join(f"{k}={v}" for k, v in figures.items() if v))
    return 0
