"""Shared fixtures: real git repositories in temp dirs, an isolated CODEGRAPH_HOME, real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

POSTGRES_ADMIN_URL = os.environ.get("CODEGRAPH_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


class GitRepo:
    """A real git repository in a temp dir, with helpers to write files and commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
        return subprocess.run(["git", *args], cwd=self.path, env=env, check=True, capture_output=True,
                              text=True).stdout.strip()

    def write(self, files: dict[str, str | bytes]) -> None:
        for relative, content in files.items():
            target = self.path / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else content.encode())

    def commit(self, files: dict[str, str | bytes] | None = None, message: str = "change") -> str:
        self.write(files or {})
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def make_repo(tmp_path: Path):
    counter = iter(range(1000))

    def _make(files: dict[str, str | bytes] | None = None, name: str | None = None) -> GitRepo:
        repo = GitRepo(tmp_path / (name or f"repo{next(counter)}"))
        if files is not None:
            repo.commit(files, "initial")
        return repo

    return _make


@pytest.fixture
def codegraph_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """All local state of the test under one temp dir, as a user's CODEGRAPH_HOME would be."""
    home = tmp_path / "codegraph-home"
    monkeypatch.setenv("CODEGRAPH_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster-home"))
    return home


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """A new database on the real PostgreSQL at 127.0.0.1:5432, dropped (connections cut) afterwards."""
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh database for the test session, dropped after it."""
    with fresh_postgres_database("codegraph_test") as url:
        yield url
