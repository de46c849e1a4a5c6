"""TantivyResource: one immutable index per manifest, built from the previous one by hard links."""

from __future__ import annotations

import pytest

from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.tantivy_index import LexicalDocument, TantivyResource

OLD, NEW = "a" * 32, "b" * 32


def _doc(path: str, blob: str, text: str) -> LexicalDocument:
    return LexicalDocument(path, blob, "python", text, ())


@pytest.fixture
def tantivy(tmp_path) -> TantivyResource:
    resource = TantivyResource(index_dir=str(tmp_path / "lexical"), writer_heap_bytes=15_000_000)
    with resource.partition_lock("r", "main"):
        resource.build("r", "main", OLD, base_manifest_id=None, remove_paths=[],
                       add=[_doc("a.py", "1", "alpha"), _doc("b.py", "2", "bravo")])
    return resource


def test_a_new_manifest_starts_from_the_old_one_and_leaves_it_untouched(tantivy):
    with tantivy.partition_lock("r", "main"):
        added = tantivy.build("r", "main", NEW, base_manifest_id=OLD, remove_paths=["a.py"],
                              add=[_doc("c.py", "3", "charlie")])
    assert added == 1
    assert tantivy.documents("r", "main", NEW) == [("b.py", "2"), ("c.py", "3")]
    assert tantivy.documents("r", "main", OLD) == [("a.py", "1"), ("b.py", "2")]  # readers of OLD see OLD
    assert [m.path for m in tantivy.search("r", "main", OLD, "alpha", 5)] == ["a.py"]
    assert tantivy.search("r", "main", NEW, "alpha", 5) == []
    old_files = {f.name: f.stat().st_ino for f in tantivy.manifest_dir("r", "main", OLD).iterdir()}
    shared = {f.name for f in tantivy.manifest_dir("r", "main", NEW).iterdir()
              if old_files.get(f.name) == f.stat().st_ino}
    assert any(name.endswith(".store") for name in shared)  # unchanged segments are shared, not copied


def test_a_failed_build_publishes_nothing_and_leaves_no_staging_directory(tantivy):
    def documents():
        yield _doc("c.py", "3", "charlie")
        raise OSError("the disk went away")

    with pytest.raises(CodegraphError), tantivy.partition_lock("r", "main"):
        tantivy.build("r", "main", NEW, base_manifest_id=OLD, remove_paths=["a.py"], add=documents())
    assert not tantivy.has_index("r", "main", NEW)
    assert sorted(p.name for p in tantivy.partition_dir("r", "main").iterdir()) == [".partition.lock", OLD]
    assert tantivy.documents("r", "main", OLD) == [("a.py", "1"), ("b.py", "2")]


def test_a_second_writer_of_a_partition_is_a_transient_index_locked(tantivy):
    with tantivy.partition_lock("r", "main"):
        with pytest.raises(CodegraphError) as error, tantivy.partition_lock("r", "main"):
            pass
    assert error.value.code is ErrorCode.INDEX_LOCKED
    with tantivy.partition_lock("r", "other"):  # other partitions never wait
        pass


def test_retain_and_garbage_collection_keep_exactly_what_they_are_told(tantivy):
    with tantivy.partition_lock("r", "main"):
        tantivy.build("r", "main", NEW, base_manifest_id=OLD, remove_paths=[], add=[])
        assert tantivy.retain("r", "main", {NEW}) == 1
    assert not tantivy.has_index("r", "main", OLD) and tantivy.has_index("r", "main", NEW)
    with tantivy.partition_lock("gone", "main"):
        tantivy.build("gone", "main", OLD, base_manifest_id=None, remove_paths=[], add=[_doc("x", "9", "x")])
    with tantivy.partition_lock("r", "main"):  # a partition being written is skipped
        assert tantivy.remove_unreferenced(set, {("r", "main")}) == 1
    assert not tantivy.partition_dir("gone", "main").exists()
    assert tantivy.has_index("r", "main", NEW)
    assert tantivy.remove_unreferenced(lambda: {("r", "main", NEW)}, {("r", "main")}) == 0
    assert tantivy.has_index("r", "main", NEW)


def test_a_missing_index_is_a_clear_error_naming_the_fix(tantivy):
    with pytest.raises(CodegraphError) as error:
        tantivy.search("r", "main", NEW, "alpha", 5)
    assert error.value.code is ErrorCode.INDEX_CORRUPTED
    assert "re-materialize the lexical asset" in str(error.value)
