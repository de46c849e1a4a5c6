"""The four assets through dagster.materialize on real git, Tantivy, Qdrant local and the packaged model."""

from __future__ import annotations

import pytest
from indexing import Indexer

PYTHON_SERVICE = '''"""Storage uploads."""
import time


class Uploader:
    """Sends files to object storage."""

    def retry_failed_upload(self, path, attempts=3):
        """Retry a failed upload with exponential backoff."""
        for attempt in range(attempts):
            try:
                return self.send(path)
            except IOError:
                time.sleep(2 ** attempt)

    def send(self, path):
        with open(path, "rb") as handle:
            return handle.read()


def parse_http_response(raw):
    """Split a raw HTTP response into header lines."""
    return raw.split("\\r\\n")
'''

TYPESCRIPT_CLIENT = '''import { request } from "./http";

export interface Profile { id: string; name: string }

export function fetchUserProfile(userId: string): Promise<Profile> {
  return request(`/users/${userId}`).then((r) => r.json());
}

export class ShoppingCart {
  private items: string[] = [];

  addItem(sku: string): void {
    this.items.push(sku);
  }

  totalItems(): number {
    return this.items.length;
  }
}
'''

FILES = {"src/uploads.py": PYTHON_SERVICE, "web/client.ts": TYPESCRIPT_CLIENT, "README.md": "# demo\n"}


@pytest.fixture
def indexed(codegraph_home, make_repo):
    repo = make_repo(FILES)
    indexer = Indexer()
    indexer.register("demo", str(repo.path), ["main"])
    first = indexer.materialize("demo", "main")
    return indexer, repo, first


def test_all_four_assets_materialize_with_the_commit_as_data_version(indexed):
    indexer, repo, first = indexed
    assert first.result.success
    assert first.materialized() == {"ir", "lexical", "chunk", "vector"}
    head = repo.git("rev-parse", "HEAD")
    for asset in ("ir", "lexical", "chunk", "vector"):
        assert first.metadata(asset)["commit"] == head
    events = first.result.get_asset_materialization_events()
    assert {e.event_specific_data.materialization.tags["dagster/data_version"] for e in events} == {head}


def test_first_run_parses_chunks_and_embeds_everything(indexed):
    _indexer, _repo, first = indexed
    ir = first.metadata("ir")
    # ir and lexical share one IR cache; whichever runs first parses (the .py and .ts; README.md has no grammar)
    assert ir["files_parsed"] + first.metadata("lexical")["files_parsed"] == 2
    assert ir["files_indexed"] == 3
    assert ir["languages"] == {"python": 1, "typescript": 1, "markdown": 1}
    vector = first.metadata("vector")
    assert vector["chunks_embedded"] > 0
    assert vector["points_total"] == vector["chunks_total"] == first.metadata("chunk")["chunks_created"]


def test_lexical_search_finds_a_function_by_split_identifier(indexed):
    indexer, _repo, _ = indexed
    hits = indexer.search("http response", "demo", "main", "lexical")
    assert hits[0].path == "src/uploads.py"
    assert "parse_http_response" in hits[0].snippet


def test_vector_search_finds_the_typescript_function_by_meaning(indexed):
    indexer, _repo, _ = indexed
    hits = indexer.search("load a user's profile", "demo", "main", "vector")
    top = hits[0]
    assert top.path == "web/client.ts"
    assert top.start_line <= 5 <= top.end_line  # fetchUserProfile is defined on line 5
    assert top.symbol == "web/client.ts/fetchUserProfile()."


def test_hybrid_search_puts_the_retry_method_first(indexed):
    indexer, _repo, _ = indexed
    hits = indexer.search("retry failed uploads", "demo", "main", "hybrid")
    assert hits[0].path == "src/uploads.py"
    assert hits[0].start_line <= 8 <= hits[0].end_line  # def retry_failed_upload
    assert "retry_failed_upload" in hits[0].snippet
    assert all(h.source == "hybrid" for h in hits)


def test_rematerializing_the_same_commit_parses_and_embeds_nothing(indexed):
    indexer, _repo, _ = indexed
    again = indexer.materialize("demo", "main")
    assert again.result.success
    assert again.metadata("ir")["files_parsed"] == 0
    assert again.metadata("lexical")["files_parsed"] == 0
    assert again.metadata("chunk")["chunks_created"] == 0
    assert again.metadata("vector")["chunks_embedded"] == 0
    assert again.metadata("vector")["points_upserted"] == 0


def test_a_new_commit_embeds_only_the_changed_chunks_and_drops_deleted_files(indexed):
    indexer, repo, first = indexed
    repo.git("rm", "-q", "README.md")
    repo.commit({"src/extra.py": "def compute_invoice_total(items):\n    return sum(items)\n"})
    second = indexer.materialize("demo", "main")
    assert second.metadata("vector")["chunks_embedded"] == 1
    assert second.metadata("vector")["points_deleted"] == 1
    assert second.metadata("lexical")["documents_removed"] == 1
    assert not [h for h in indexer.search("demo", "demo", "main", "lexical") if h.path == "README.md"]
    assert indexer.search("invoice total", "demo", "main", "lexical")[0].path == "src/extra.py"


def test_a_ref_missing_in_the_repo_is_skipped_and_the_run_succeeds(indexed):
    indexer, _repo, _ = indexed
    indexer.register("demo", indexer.resources["metadata"].open().get_repo("demo").location, ["v9.9"])
    skipped = indexer.materialize("demo", "v9.9")
    assert skipped.result.success
    assert skipped.materialized() == set()
    skipped_steps = {e.step_key for e in skipped.result.all_events if e.event_type_value == "STEP_SKIPPED"}
    assert skipped_steps == {"chunk", "vector"}
    messages = [entry.user_message for entry in indexer.instance.all_logs(skipped.result.run_id)]
    assert sum("has no branch or tag 'v9.9'" in m for m in messages) == 2  # ir and lexical, one line each


def test_a_deleted_lexical_directory_is_rebuilt_on_the_next_run(indexed):
    indexer, _repo, _ = indexed
    import shutil

    shutil.rmtree(indexer.resources["tantivy"].partition_dir("demo", "main"))
    again = indexer.materialize("demo", "main")
    assert again.metadata("lexical")["documents_total"] == 3
    assert indexer.search("http response", "demo", "main", "lexical")[0].path == "src/uploads.py"


def test_lexical_units_cut_otherwise_rebuild_the_index_of_an_unchanged_commit(indexed):
    indexer, _repo, first = indexed
    units_before = first.metadata("lexical")["units_total"]
    narrow = {"ops": {"lexical": {"config": {"lexical": {"unit_window_lines": 2, "max_unit_lines": 3}}}}}
    again = indexer.materialize("demo", "main", selection=["lexical"], run_config=narrow)
    assert again.metadata("lexical")["documents_added"] == 3  # not reused: its units were cut at up to 400 lines
    assert again.metadata("lexical")["units_total"] > units_before  # the longer definitions now span several
    with __import__("dagster").build_resources({"metadata": indexer.resources["metadata"]}) as r:
        manifest = r.metadata.open().published("demo", "main", "lexical").manifest_id
    assert "window 2, max 3;" in indexer.resources["tantivy"].built_with("demo", "main", manifest)
    same = indexer.materialize("demo", "main", selection=["lexical"], run_config=narrow)
    assert same.metadata("lexical")["documents_added"] == 0  # the same settings reuse it
    assert indexer.search("http response", "demo", "main", "lexical")[0].path == "src/uploads.py"


def test_vector_hits_come_only_from_the_published_manifest(indexed):
    indexer, repo, _ = indexed
    # A run that upserted a new commit's points but was killed before publishing leaves extra points;
    # readers must keep seeing exactly the published snapshot.
    from resources.qdrant_store import ChunkPoint

    with __import__("dagster").build_resources(indexer.resources) as r:
        collection = r.qdrant.collection_name(r.embeddings.model_id())
        ghost = ChunkPoint("demo", "main", "src/ghost.py", "f" * 40, 0, "ghost", 1, 3, None, "python")
        r.qdrant.upsert(collection, [ghost], [r.embeddings.embed_query("retry failed uploads")])
    hits = indexer.search("retry failed uploads", "demo", "main", "vector")
    assert hits and all(h.path != "src/ghost.py" for h in hits)
