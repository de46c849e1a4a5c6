"""The code-graph half of the metadata store on SQLite and the real PostgreSQL: a snapshot's symbols and
interfaces, content-addressed resolutions per manifest, the references they lead to, and their garbage."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from codegraph_assets.config import IndexingConfig
from codegraph_assets.core.ir_parser import parse_document
from codegraph_assets.core.ir_resolve import RepositoryResolver, resolution_key
from codegraph_assets.core.source import ManifestEntry
from codegraph_assets.stages.documents import doc_key, doc_key_prefix
from resources.metadata_store import MetadataStoreResource

CONFIG = IndexingConfig()
RESOLVER = "test-resolver"
FILES = {
    "pkg/core.py": "def helper():\n    return 1\n",
    "app.py": "from pkg.core import helper\nhelper()\n",
    "notes.md": "# not parsed\n",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    if request.param == "sqlite":
        resource = MetadataStoreResource(backend="sqlite", sqlite_path=str(tmp_path / "meta.db"))
    else:
        resource = MetadataStoreResource(backend="postgres", postgres_dsn=request.getfixturevalue("postgres_database"))
    yield resource.open()
    opened = resource.open()
    if opened.engine.dialect.name == "postgresql":  # the session database is shared: leave it empty
        from resources.metadata_store.tables import metadata

        metadata.drop_all(opened.engine)
        with opened.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    resource.close()


def indexed(store, manifest_id: str = "m1", files: dict[str, str] = FILES) -> None:
    entries, documents = [], []
    for path, text in files.items():
        blob = hashlib.sha1(text.encode()).hexdigest()
        language = "python" if path.endswith(".py") else None
        entries.append(ManifestEntry(path, blob, len(text), language))
        if language is not None:
            documents.append((doc_key(blob, CONFIG), blob, "parsed", parse_document(text.encode(), language)))
    store.save_manifest(manifest_id, "repo", "c" * 40, entries)
    store.save_documents(documents)


def resolve(store, manifest_id: str = "m1") -> int:
    resolver = RepositoryResolver(store.snapshot_interfaces(manifest_id, doc_key_prefix(CONFIG)))
    maps = {path: resolver.resolve_document(path) for path in resolver.documents}
    return store.save_resolutions(manifest_id, RESOLVER, {path: (resolution_key(m), m) for path, m in maps.items()
                                                          if m})


def test_snapshot_symbols_by_name_and_path(store):
    indexed(store)
    prefix = doc_key_prefix(CONFIG)
    assert [(p, s.symbol_id) for p, s in store.snapshot_symbols("m1", prefix, name="helper")] == \
        [("pkg/core.py", "helper().")]
    assert store.snapshot_symbols("m1", prefix, path="app.py") == []
    assert store.snapshot_symbols("m1", "ir.other-parser.FULL:", name="helper") == []  # another IR key


def test_interfaces_load_without_occurrences_and_resolve_across_files(store):
    indexed(store)
    interfaces = store.snapshot_interfaces("m1", doc_key_prefix(CONFIG))
    assert set(interfaces) == {"pkg/core.py", "app.py"}  # only parsed documents
    assert interfaces["app.py"].occurrences == []
    assert RepositoryResolver(interfaces).resolve("app.py", "import pkg.core helper") == "pkg/core.py/helper()."


def test_resolutions_are_content_addressed_and_marked_done(store):
    indexed(store)
    assert not store.resolution_done("m1", RESOLVER)
    assert resolve(store) == 1
    assert store.resolution_done("m1", RESOLVER)
    assert store.resolutions_of("m1", RESOLVER, "app.py") == {
        "import pkg.core": "pkg/core.py/", "import pkg.core helper": "pkg/core.py/helper()."}
    indexed(store, "m2")
    assert resolve(store, "m2") == 0  # same files, same maps: nothing new to write
    assert store.expressions_resolving_to("m2", RESOLVER, "pkg/core.py/helper().") == \
        [("app.py", "import pkg.core helper")]


def test_garbage_collection_drops_resolutions_of_collected_manifests(store):
    indexed(store)
    resolve(store)
    removed = store.collect_garbage(datetime.now(timezone.utc) + timedelta(hours=1))
    assert removed["manifest_resolutions"] == 1 and removed["resolved_manifests"] == 1
    assert removed["ir_resolutions"] == 2 and removed["ir_document_graphs"] == 2
    assert not store.resolution_done("m1", RESOLVER)
