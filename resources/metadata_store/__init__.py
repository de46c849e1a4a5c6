"""MetadataStoreResource: chooses SQLite or PostgreSQL and hands out a migrated `MetadataStore`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import PrivateAttr

from codegraph_assets.config import codegraph_home
from resources.metadata_store.store import (
    INDEX_STAGES,
    SERVING,
    MetadataStore,
    PublishedSnapshot,
    RepoRecord,
    SnapshotChunk,
)

__all__ = [
    "INDEX_STAGES", "SERVING", "MetadataStore", "MetadataStoreResource", "PublishedSnapshot", "RepoRecord",
    "SnapshotChunk",
]


class MetadataStoreResource(dg.ConfigurableResource):
    """`backend`: sqlite, postgres, or auto (= postgres when `postgres_dsn` is set, else sqlite)."""

    backend: Literal["auto", "sqlite", "postgres"] = "auto"
    sqlite_path: str = ""  # "" = $CODEGRAPH_HOME/metadata.db
    postgres_dsn: str | None = None  # wire as dg.EnvVar("CODEGRAPH_POSTGRES_DSN"): it holds a password
    batch_size: int = 500
    busy_timeout_s: float = 30.0  # SQLite: how long a writer waits for another before DB_LOCKED
    _store: MetadataStore | None = PrivateAttr(default=None)

    def url(self) -> str:
        backend = self.backend
        if backend == "auto":
            backend = "postgres" if self.postgres_dsn else "sqlite"
        if backend == "postgres":
            if not self.postgres_dsn:
                raise ValueError("metadata store backend 'postgres' needs postgres_dsn (CODEGRAPH_POSTGRES_DSN)")
            dsn = self.postgres_dsn
            return dsn.replace("postgresql://", "postgresql+psycopg://", 1) if dsn.startswith("postgresql://") else dsn
        path = Path(self.sqlite_path) if self.sqlite_path else codegraph_home() / "metadata.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"

    def open(self) -> MetadataStore:
        """The store for this run, migrated to the newest schema on first use."""
        if self._store is None:
            store = MetadataStore(self.url(), batch_size=self.batch_size, busy_timeout_s=self.busy_timeout_s)
            store.migrate()
            self._store = store
        return self._store

    def teardown_after_execution(self, context) -> None:
        self.close()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
