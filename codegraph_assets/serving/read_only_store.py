"""The metadata store as a server reads it: never created and never migrated (indexing runs do both)."""

from __future__ import annotations

from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

import resources.metadata_store as metadata_store_package
from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.metadata_store import MetadataStore, MetadataStoreResource

_MIGRATIONS = Path(metadata_store_package.__file__).parent / "migrations"


def open_read_only_store(resource: MetadataStoreResource) -> MetadataStore:
    """A store for reading only; PATH_NOT_FOUND when nothing was ever indexed there, DB_ERROR when its
    schema is not the one this codegraph reads (migrating is a write, so the server leaves it to a run)."""
    url = make_url(resource.url())
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise CodegraphError(
            ErrorCode.PATH_NOT_FOUND, f"there is no metadata store at {url.database}: nothing was indexed with "
            "this CODEGRAPH_HOME", input=str(url.database),
            fix="index a repository first (`codegraph index PATH`), or set CODEGRAPH_HOME (or "
            "CODEGRAPH_POSTGRES_DSN) to the store your indexing runs use")
    store = MetadataStore(url.render_as_string(hide_password=False), batch_size=resource.batch_size,
                          busy_timeout_s=resource.busy_timeout_s)
    try:
        with store.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        store.close()
        raise CodegraphError(ErrorCode.DB_ERROR, f"the metadata store {shown} cannot be read: "
                             f"{str(getattr(exc, 'orig', None) or exc).strip()[:300]}", input=shown,
                             fix="check the database is running and reachable") from exc
    expected = ScriptDirectory(str(_MIGRATIONS)).get_current_head()
    if current != expected:
        store.close()
        raise CodegraphError(
            ErrorCode.DB_ERROR, f"the metadata store {shown} has schema revision {current or 'none'}, this "
            f"codegraph reads {expected}", input=shown,
            fix="run `codegraph repo list` once (it migrates the store), or let an indexing run do it")
    return store
