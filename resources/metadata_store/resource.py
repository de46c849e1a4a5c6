"""MetadataStoreResource: the Dagster resource that hands out a migrated `MetadataStore`."""

from __future__ import annotations

from typing import Literal

import dagster as dg
from pydantic import PrivateAttr

from resources.metadata_store.store import MetadataStore, store_url


class MetadataStoreResource(dg.ConfigurableResource):
    """`backend`: sqlite, postgres, or auto (= postgres when `postgres_dsn` is set, else sqlite)."""

    backend: Literal["auto", "sqlite", "postgres"] = "auto"
    sqlite_path: str = ""  # "" = $CODEGRAPH_HOME/metadata.db
    postgres_dsn: str | None = None  # wire as dg.EnvVar("CODEGRAPH_POSTGRES_DSN"): it holds a password
    batch_size: int = 500
    busy_timeout_s: float = 30.0  # SQLite: how long a writer waits for another before DB_LOCKED
    _store: MetadataStore | None = PrivateAttr(default=None)

    def url(self) -> str:
        return store_url(self.backend, self.sqlite_path, self.postgres_dsn)

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
