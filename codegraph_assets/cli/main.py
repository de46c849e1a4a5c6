"""`codegraph`: register repositories, index them through Dagster, search them."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

from codegraph_assets.errors import CodegraphError


def build_parser() -> argparse.ArgumentParser:
    # The commands (and Dagster with them) are imported here, not at the top: `codegraph index` of an
    # up-to-date partition is answered before any of them is needed (cli/up_to_date.py).
    from codegraph_assets.cli import export_command, gc_command, index_command, navigation_command, repo_commands
    from codegraph_assets.cli import search_command, serve_command

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
    add_index_arguments(index)
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


def add_index_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("location", metavar="PATH_OR_URL")
    parser.add_argument("--repo", help="repository name (default: from the path or URL)")
    parser.add_argument("--snapshot", help="branch or tag (default: the repository's HEAD branch)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--force", action="store_true",
                        help="run the pipeline even when the partition is up to date with this commit and "
                             "configuration (it then re-checks every stage's caches)")


class _IndexArgumentsOnly(argparse.ArgumentParser):
    """Parses `codegraph index ...` alone; anything it cannot parse goes to the full parser for the message."""

    class Refused(Exception):
        pass

    def error(self, message: str):
        raise self.Refused(message)


def _up_to_date_index(argv: list[str]) -> dict | None:
    """The summary of `codegraph index` when its partition is up to date, answered without Dagster."""
    if argv[:1] != ["index"] or any(a in ("-h", "--help") for a in argv):
        return None
    parser = _IndexArgumentsOnly(prog="codegraph index", add_help=False)
    add_index_arguments(parser)
    try:
        args = parser.parse_args(argv[1:])
    except _IndexArgumentsOnly.Refused:
        return None
    if args.force:
        return None
    from codegraph_assets.cli.up_to_date import answer_if_up_to_date

    summary = answer_if_up_to_date(args)
    if summary is not None:
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            print(f"up to date: {summary['repo']}|{summary['snapshot']} @ {summary['commit'][:12]}, indexed "
                  f"{summary['indexed_at']}; nothing to do (--force runs the pipeline anyway)")
    return summary


def _non_negative_hours(text: str) -> float:
    """A negative grace would put the cutoff in the future and collect what runs in flight still use."""
    hours = float(text)
    if hours < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative: give 0 or more hours")
    return hours


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    args = None
    try:
        if _up_to_date_index(argv) is not None:
            return 0
        args = build_parser().parse_args(argv)
        import dagster as dg

        # The CLI shows its own summary; Dagster's beta notices and model-loading bars are noise here.
        warnings.filterwarnings("ignore", category=dg.BetaWarning)
        return args.handler(args) or 0
    except CodegraphError as error:
        print(error.message, file=sys.stderr)
        # An error of the up-to-date check comes before the full parse: read --json from argv then.
        if getattr(args, "json", False) or (args is None and "--json" in argv):
            print(json.dumps({"error": error.metadata() | {"message": error.problem}}))
        return 2
    except BrokenPipeError:
        # The reader left (`codegraph refs x --json | head`): no traceback, and none at exit when Python
        # flushes stdout again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
