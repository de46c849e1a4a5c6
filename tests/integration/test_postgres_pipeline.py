"""The whole pipeline with the metadata store on the real PostgreSQL, and concurrent first runs."""

from __future__ import annotations

import multiprocessing
import os

import pytest
from indexing import Indexer

from codegraph_assets.config import load_indexing_config
from resources.metadata_store import MetadataStoreResource

pytestmark = pytest.mark.postgres

FILES = {"core/cache.py": "def evict_least_recently_used(cache):\n    return cache.popitem()\n",
         "web/api.ts": "export function listInvoices(): string[] {\n  return [];\n}\n"}


@pytest.fixture
def postgres_store(postgres_database):
    resource = MetadataStoreResource(backend="postgres", postgres_dsn=postgres_database)
    yield resource
    from resources.metadata_store.tables import metadata

    store = resource.open()
    metadata.drop_all(store.engine)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    resource.close()


def test_index_and_search_with_the_postgres_metadata_store(codegraph_home, make_repo, postgres_store):
    repo = make_repo(FILES)
    indexer = Indexer(resource_overrides={"metadata": postgres_store})
    indexer.register("pg", str(repo.path), ["main"])
    first = indexer.materialize("pg", "main")
    assert first.result.success
    assert first.metadata("vector")["points_total"] == first.metadata("vector")["chunks_total"] >= 2
    assert indexer.search("least recently used", "pg", "main", "hybrid")[0].path == "core/cache.py"
    again = indexer.materialize("pg", "main")
    assert again.metadata("ir")["files_parsed"] == 0 and again.metadata("vector")["chunks_embedded"] == 0


def _first_run(stage: str, repo_path: str, dsn: str | None, barrier, results) -> None:
    """One process doing what the ir or lexical step does first: migrate, then build the manifest."""
    from codegraph_assets.stages.snapshot import load_snapshot, resolve_commit
    from resources.git import GitResource

    config = load_indexing_config()
    resource = (MetadataStoreResource(backend="postgres", postgres_dsn=dsn) if dsn
                else MetadataStoreResource(backend="sqlite", sqlite_path=str(config.metadata_db_path())))
    barrier.wait()  # both processes open a fresh database at the same moment
    try:
        store = resource.open()
        repo = store.add_repo("race", repo_path, "git_local", ["main"])
        git = GitResource()
        snapshot = load_snapshot(repo, "main", resolve_commit(repo, "main", git, config), store, git, config)
        results[stage] = len(snapshot.entries)
    except Exception as exc:  # noqa: BLE001 - reported to the parent and asserted there
        results[stage] = f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_first_runs_migrate_and_save_one_manifest(backend, codegraph_home, make_repo, request):
    dsn = None
    if backend == "postgres":
        dsn = request.getfixturevalue("postgres_store").postgres_dsn
    repo = make_repo(FILES)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier, results = manager.Barrier(2), manager.dict()
        workers = [context.Process(target=_first_run, args=(stage, str(repo.path), dsn, barrier, results))
                   for stage in ("ir", "lexical")]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=300)
        assert dict(results) == {"ir": 2, "lexical": 2}
    assert os.environ["CODEGRAPH_HOME"]  # the spawned processes inherited the test's isolated home
