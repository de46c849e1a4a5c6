"""The metadata store: `MetadataStore` (plain SQLAlchemy, SQLite or PostgreSQL) and its Dagster resource.

`MetadataStoreResource` is loaded on first use, so that code needing only the store (the CLI's
up-to-date check) does not import Dagster.
"""

from __future__ import annotations

from resources.metadata_store.store import (
    INDEX_STAGES,
    SERVING,
    MetadataStore,
    PublishedSnapshot,
    RepoRecord,
    SnapshotChunk,
    store_url,
)

__all__ = [
    "INDEX_STAGES", "SERVING", "MetadataStore", "MetadataStoreResource", "PublishedSnapshot", "RepoRecord",
    "SnapshotChunk", "store_url",
]


def __getattr__(name: str):
    if name == "MetadataStoreResource":
        from resources.metadata_store.resource import MetadataStoreResource

        return MetadataStoreResource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
