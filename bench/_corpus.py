"""Real codebases for the benches: PyPI sdists and local trees committed into temp git repositories."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

_GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]


def download(package: str, version: str, into: Path) -> Path:
    """The sdist of one release (its own folder: sdist names are normalized differently across projects)."""
    folder = into / version
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                    f"{package}=={version}", "-d", str(folder)], check=True)
    (sdist,) = [f for f in folder.iterdir() if f.name.endswith((".tar.gz", ".zip"))]
    return sdist


def new_repo(path: Path) -> Path:
    """An empty git repository on branch main."""
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    return path


def commit_release(repo: Path, sdist: Path, version: str) -> str:
    """Replace the work tree with the sdist's contents and commit it."""
    for child in repo.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    with tempfile.TemporaryDirectory() as unpacked:
        shutil.unpack_archive(sdist, unpacked, filter="data")
        (top,) = Path(unpacked).iterdir()
        for item in top.iterdir():
            shutil.move(str(item), repo / item.name)
    return _commit(repo, f"release {version}")


def unpack(sdist: Path, into: Path) -> Path:
    """The sdist's top folder, unpacked under `into`."""
    into.mkdir(parents=True, exist_ok=True)
    shutil.unpack_archive(sdist, into, filter="data")
    (top,) = into.iterdir()
    return top


def commit_files(repo: Path, root: Path, files: Iterable[Path], message: str) -> str:
    """Copy `files` (under `root`) into the work tree at their paths relative to `root`, and commit."""
    for source in files:
        target = repo / source.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return _commit(repo, message)


def _commit(repo: Path, message: str) -> str:
    subprocess.run(_GIT + ["add", "-A"], cwd=repo, check=True)
    subprocess.run(_GIT + ["commit", "-q", "--no-verify", "-m", message], cwd=repo, check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


def print_figures(figures: dict, as_json: bool) -> None:
    """A bench's figures as JSON, or as an aligned name / value table."""
    if as_json:
        print(json.dumps(figures, indent=2))
        return
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")
