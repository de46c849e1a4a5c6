"""`codegraph`: register repositories, index them through Dagster, search them."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

import dagster as dg

from codegraph_assets.cli import export_command, gc_command, index_command, navigation_command, repo_commands, search_command
from codegraph_assets.cli import serve_command
from codegraph_assets.errors import CodegraphError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codegraph", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    repo = commands.add_parser("repo", help="manage the repository registry").add_subparsers(
        dest="repo_command", required=True)
    add = repo.add_parser("add", help="register a repository and add its partitions")
    add.add_argument("name")
    add.add_argument("location", metavar="PATH_OR_URL")
    add.add_argument("--ref", action="append", default=[], help="branch or tag to track (repeatable)")
    add.add_argument("--track", action="append", default=[], metavar="PATTERN",
                     help="glob over branch and tag names, e.g. 'release/*' or 'v*': the push sensor starts "
                          "tracking matching refs when they appear (repeatable)")
    add.set_defaults(handler=repo_commands.add)
    listing = repo.add_parser("list", help="list registered repositories")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=repo_commands.list_repos)
    remove = repo.add_parser("remove", help="forget a repository and its partitions")
    remove.add_argument("name")
    remove.set_defaults(handler=repo_commands.remove)

    index = commands.add_parser("index", help="register if needed and materialize all four assets")
    index.add_argument("location", metavar="PATH_OR_URL")
    index.add_argument("--repo", help="repository name (default: from the path or URL)")
    index.add_argument("--snapshot", help="branch or tag (default: the repository's HEAD branch)")
    index.add_argument("--json", action="store_true", help="print the summary as JSON")
    index.set_defaults(handler=index_command.run)

    search = commands.add_parser("search", help="search one indexed repo|snapshot")
    search.add_argument("query", nargs="?")
    search.add_argument("--repo", help="default: the only registered repository")
    search.add_argument("--snapshot", help="default: the repository's only tracked ref")
    search.add_argument("--mode", choices=["lexical", "vector", "hybrid"], default="hybrid")
    search.add_argument("--limit", type=int)
    search.add_argument("--json", action="store_true", help="print a JSON array of hits")
    search.add_argument("--queries-file", help='JSONL of {"qid", "query"}; prints JSONL {"qid", "hits"}')
    search.set_defaults(handler=search_command.run)
    gc = commands.add_parser("gc", help="delete data no published snapshot or tracked partition needs")
    gc.add_argument("--grace-hours", type=_non_negative_hours,
                    help="spare anything used more recently (default: config)")
    gc.add_argument("--json", action="store_true")
    gc.set_defaults(handler=gc_command.run)
    navigation_command.register(commands)
    export_command.register(commands)
    serve_command.register(commands)
    return parser


def _non_negative_hours(text: str) -> float:
    """A negative grace would put the cutoff in the future and collect what runs in flight still use."""
    hours = float(text)
    if hours < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative: give 0 or more hours")
    return hours


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The CLI shows its own summary; Dagster's beta notices and model-loading bars are noise here.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        return args.handler(args) or 0
    except CodegraphError as error:
        print(error.message, file=sys.stderr)
        if getattr(args, "json", False):
            print(json.dumps({"error": error.metadata() | {"message": error.problem}}))
        return 2


if __name__ == "__main__":
    sys.exit(main())
