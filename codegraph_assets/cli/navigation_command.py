"""`codegraph def | refs | symbols`: navigation over the stored IR of one indexed repo|snapshot."""

from __future__ import annotations

import json
import re

from codegraph_assets.cli.context import cli_resources
from codegraph_assets.cli.search_command import _default_partition
from codegraph_assets.navigation import Navigator, SymbolLocation


_POSITION = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+)(?::(?P<column>\d+))?$")


def register(commands) -> None:
    """Add the three navigation subcommands to the `codegraph` parser."""
    for name, argument, help_text, handler in (
        ("def", "symbol", "where a symbol is defined: a SCIP id (pkg/mod.py/Class#method().), a dotted name "
         "(pkg.mod.Class.method, Class.method), a bare name, or PATH:LINE[:COLUMN] to go to the definition of "
         "what is written there (1-based line, 0-based byte column)", _definitions),
        ("refs", "symbol", "every reference the IR bound to a symbol (given as for `def`)", _references),
        ("symbols", "path", "the symbols a file defines, in source order", _symbols),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument(argument, metavar=argument.upper())
        command.add_argument("--repo", help="default: the only registered repository")
        command.add_argument("--snapshot", help="default: the repository's only tracked ref")
        command.add_argument("--json", action="store_true", help="print a JSON array of locations")
        if name == "refs":
            command.add_argument("--include-unresolved", action="store_true",
                                 help="also names the IR could not bind that merely match (resolved: false)")
        command.set_defaults(handler=handler)


def _definitions(args) -> int:
    position = _POSITION.match(args.symbol)

    def ask(navigator, repo, snapshot):
        if position is not None:
            column = position["column"]
            return navigator.definition_at(repo, snapshot, position["path"], int(position["line"]),
                                           None if column is None else int(column))
        return navigator.definitions(repo, snapshot, args.symbol)

    return _answer(args, ask, f"no definition of {args.symbol!r}")


def _references(args) -> int:
    return _answer(args, lambda navigator, repo, snapshot: navigator.references(
        repo, snapshot, args.symbol, include_unresolved=args.include_unresolved), f"no references to {args.symbol!r}")


def _symbols(args) -> int:
    return _answer(args, lambda navigator, repo, snapshot: navigator.symbols(repo, snapshot, args.path),
                   f"no symbols in {args.path!r}")


def _answer(args, ask, nothing: str) -> int:
    with cli_resources() as (config, _defs, resources):
        store = resources.metadata.open()
        repo, snapshot = _default_partition(store, args.repo, args.snapshot)
        locations = ask(Navigator(store, config), repo, snapshot)
    if args.json:
        print(json.dumps([location.to_json() for location in locations], indent=2))
    elif not locations:
        print(f"{nothing} in {repo}|{snapshot}")
    for location in [] if args.json else locations:
        print(_line(location))
    return 0


def _line(location: SymbolLocation) -> str:
    span = (f"{location.start_line}" if location.start_line == location.end_line
            else f"{location.start_line}-{location.end_line}")
    unresolved = "  (unresolved: matched by name)" if not location.resolved else ""
    return f"{location.path}:{span}  {location.kind:<10} {location.symbol}{unresolved}"
