"""`codegraph def | refs | symbols` as a user runs them, on a repository indexed by `codegraph index`."""

from __future__ import annotations

import json
import os

import pytest

from test_cli import codegraph  # tests/system is on sys.path (rootdir conftest layout)

FILES = {
    "lib/geometry.py": "def area(width, height):\n    return width * height\n",
    "app.py": "from lib.geometry import area\n\nprint(area(2, 3))\n",
    "web/units.ts": "export function toCm(inches: number): number {\n  return inches * 2.54;\n}\n",
    "web/page.ts": "import { toCm } from \"./units\";\n\nexport const width = toCm(3);\n",
}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from conftest import GitRepo

    root = tmp_path_factory.mktemp("navigation-cli")
    repo = GitRepo(root / "geo")
    repo.commit(FILES, "initial")
    environment = {**os.environ, "CODEGRAPH_HOME": str(root / "home"), "DAGSTER_HOME": str(root / "dagster"),
                   "HF_HUB_OFFLINE": "1"}
    codegraph("index", str(repo.path), "--json", env=environment)
    return environment


def run_json(env, *args) -> list[dict]:
    return json.loads(codegraph(*args, "--repo", "geo", "--snapshot", "main", "--json", env=env).stdout)


def test_def_prints_locations_like_search_hits_with_symbol_and_kind(env):
    [found] = run_json(env, "def", "area")
    assert {"path": "lib/geometry.py", "start_line": 1, "end_line": 2, "symbol": "lib/geometry.py/area().",
            "kind": "function", "name": "area", "line": 1, "column": 4}.items() <= found.items()


def test_refs_follow_imports_in_python_and_typescript(env):
    python = run_json(env, "refs", "lib/geometry.py/area().")
    assert [(r["path"], r["start_line"], r["roles"]) for r in python] == [
        ("app.py", 1, ["import"]), ("app.py", 3, ["read", "reference"])]
    typescript = run_json(env, "refs", "toCm")
    assert [(r["path"], r["start_line"]) for r in typescript] == [("web/page.ts", 1), ("web/page.ts", 3)]


def test_def_at_a_position_goes_to_the_definition_in_another_file(env):
    [found] = run_json(env, "def", "web/page.ts:3:21")
    assert (found["path"], found["symbol"]) == ("web/units.ts", "web/units.ts/toCm().")


def test_symbols_lists_a_file_and_plain_output_is_one_line_each(env):
    assert [s["symbol"] for s in run_json(env, "symbols", "web/units.ts")] == ["web/units.ts/toCm()."]
    plain = codegraph("symbols", "lib/geometry.py", env=env).stdout.strip().splitlines()
    assert plain == ["lib/geometry.py:1-2  function   lib/geometry.py/area()."]


def test_an_unknown_path_fails_with_the_input_and_the_fix(env):
    result = codegraph("symbols", "nowhere.py", "--json", env=env, check=False)
    assert result.returncode == 2
    assert "PATH_NOT_FOUND" in result.stderr and "Fix:" in result.stderr
