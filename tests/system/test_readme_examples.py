"""The README's job-API examples run as written, from inside a real git repository."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _examples() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    return [b for b in blocks if "codegraph_assets.jobs.handlers" in b]


def test_the_readme_has_both_job_api_examples():
    assert len(_examples()) == 2


@pytest.mark.parametrize("index", [0, 1])
def test_readme_example_runs(index, codegraph_home, make_repo):
    repo = make_repo({"src/app.py": "def handle_request(request):\n    return request\n"})
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", _examples()[index]], cwd=repo.path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "INVALID" not in result.stdout and "Error" not in result.stdout
    if index == 0:
        assert "BUILD_IR ir:my-repo:main" in result.stdout and "BUILD_CHUNK chunk:my-repo:main" in result.stdout
    else:
        assert result.stdout.startswith("ok ")
