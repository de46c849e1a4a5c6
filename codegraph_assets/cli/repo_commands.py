"""`codegraph repo add | list | remove`."""

from __future__ import annotations

import json

from codegraph_assets.cli.context import cli_resources
from codegraph_assets.instance import dagster_instance
from codegraph_assets.registry import register_repo, unregister_repo
from resources.git import display_location


def add(args) -> int:
    with cli_resources() as (config, _defs, resources):
        refs = args.ref or [config.defaults.snapshot_id]
        store = resources.metadata.open()
        record = register_repo(store, dagster_instance(), args.name, args.location, refs, args.track)
        patterns = store.ref_patterns().get(record.name, ())
    print(f"registered {record.name} ({record.kind}) at {display_location(record.location)}; "
          f"refs: {', '.join(record.refs)}" + (f"; tracking: {', '.join(patterns)}" if patterns else ""))
    return 0


def list_repos(args) -> int:
    with cli_resources() as (_config, _defs, resources):
        store = resources.metadata.open()
        repos, patterns = store.list_repos(), store.ref_patterns()
    if args.json:
        print(json.dumps([{"name": r.name, "location": display_location(r.location), "kind": r.kind,
                           "refs": list(r.refs), "track": list(patterns.get(r.name, ()))}
                          for r in repos], indent=2))
    elif not repos:
        print("no repositories registered; `codegraph repo add NAME PATH_OR_URL --ref main`")
    for r in repos if not args.json else []:
        track = patterns.get(r.name, ())
        print(f"{r.name}\t{r.kind}\t{display_location(r.location)}\t{','.join(r.refs)}"
              + (f"\ttrack:{','.join(track)}" if track else ""))
    return 0


def remove(args) -> int:
    with cli_resources() as (_config, _defs, resources):
        removed = unregister_repo(resources.metadata.open(), dagster_instance(), args.name)
    print(f"removed {args.name}" if removed else f"{args.name} was not registered")
    return 0 if removed else 1
