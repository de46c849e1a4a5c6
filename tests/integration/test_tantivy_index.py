"""TantivyResource: one immutable index per manifest, built from the previous one by hard links."""

from __future__ import annotations

import pytest

from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.core.ir_parser import parse_document
from codegraph_assets.core.languages import PARSEABLE_LANGUAGES
from codegraph_assets.core.lexical_units import lexical_units
from resources.tantivy_index import LexicalDocument, TantivyResource, UnitFields, file_units

OLD, NEW = "a" * 32, "b" * 32


def _doc(path: str, blob: str, text: str) -> list[UnitFields]:
    units = tuple(lexical_units(text, None, window_lines=40, max_unit_lines=400))
    return file_units(LexicalDocument(path, blob, "python", units))


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


UPLOADS = '''import time


def parse_http_response(raw):
    """Split a raw HTTP response into status and body."""
    head, _, body = raw.partition("\\r\\n\\r\\n")
    return int(head.split()[1]), body


class Uploader:
    def retry_failed_upload(self, path, attempts):
        # back off exponentially between attempts
        for attempt in range(attempts):
            time.sleep(2 ** attempt)
'''
CLIENT = '''export async function fetchUserProfile(id: string) {
  const response = await fetch(`/users/${id}`);
  return parseHTTPResponse(await response.text());
}

export function parseHTTPResponse(raw: string) {
  return raw.split("\\n\\n");
}
'''
NOTES = "Retry failed uploads with backoff.\nParsing HTTP responses is in uploads.py.\n"


def _parsed(path: str, blob: str, text: str, language: str | None) -> list[UnitFields]:
    ir = parse_document(text.encode(), language).symbols if language in PARSEABLE_LANGUAGES else None
    units = tuple(lexical_units(text, ir, window_lines=40, max_unit_lines=400))
    return file_units(LexicalDocument(path, blob, language, units))


@pytest.fixture
def code_index(tmp_path) -> TantivyResource:
    resource = TantivyResource(index_dir=str(tmp_path / "lexical"), writer_heap_bytes=15_000_000)
    with resource.partition_lock("r", "main"):
        resource.build("r", "main", OLD, base_manifest_id=None, remove_paths=[], add=[
            _parsed("src/uploads.py", "1", UPLOADS, "python"), _parsed("web/client.ts", "2", CLIENT, "typescript"),
            _parsed("docs/NOTES.md", "3", NOTES, "markdown")])
    return resource


def _top(index: TantivyResource, query: str, limit: int = 5) -> list[tuple[str, int, int, str | None]]:
    return [(m.path, m.start_line, m.end_line, m.symbol_id) for m in index.search("r", "main", OLD, query, limit)]


def test_hits_are_functions_with_their_line_ranges_and_text(code_index):
    [match] = code_index.search("r", "main", OLD, "retry failed upload lang:python", 1)
    assert (match.path, match.start_line, match.end_line) == ("src/uploads.py", 11, 14)
    assert match.symbol_id == "Uploader#retry_failed_upload()." and match.kind == "method"
    assert match.text.lstrip().startswith("def retry_failed_upload(")


def test_prose_finds_split_identifiers_and_stems_the_words(code_index):
    assert _top(code_index, "parses http responses lang:python")[0][3] == "parse_http_response()."
    assert _top(code_index, "user profiles")[0][:2] == ("web/client.ts", 1)


def test_an_exact_identifier_ranks_its_definition_first(code_index):
    assert _top(code_index, "parseHTTPResponse")[0] == ("web/client.ts", 6, 8, "parseHTTPResponse().")


def test_filters_select_by_path_language_and_defined_symbol(code_index):
    assert {path for path, *_ in _top(code_index, "http response path:web/")} == {"web/client.ts"}
    assert {path for path, *_ in _top(code_index, "http response -path:*.ts")} == {"src/uploads.py", "docs/NOTES.md"}
    assert {path for path, *_ in _top(code_index, "retry lang:md")} == {"docs/NOTES.md"}
    assert _top(code_index, "sym:fetchUserProfile") == [("web/client.ts", 1, 4, "fetchUserProfile().")]


def test_a_phrase_must_appear_with_its_words_in_order(code_index):
    assert [path for path, *_ in _top(code_index, '"uploads with backoff"')] == ["docs/NOTES.md"]
    # Sub-words of an identifier are adjacent, and words are stemmed: "uploads" meets `upload`.
    assert {hit[3] for hit in _top(code_index, '"retry failed uploads"')} == {"Uploader#retry_failed_upload().", None}
    assert _top(code_index, '"upload failed"') == []


def test_files_are_counted_and_listed_once_whatever_their_units(code_index):
    assert code_index.document_count("r", "main", OLD) == 3
    assert code_index.unit_count("r", "main", OLD) > 3
    assert code_index.documents("r", "main", OLD) == [("docs/NOTES.md", "3"), ("src/uploads.py", "1"),
                                                      ("web/client.ts", "2")]


def test_the_settings_an_index_was_built_with_belong_to_that_index_alone(tantivy):
    assert tantivy.built_with("r", "main", OLD) == ""  # the fixture's build named none
    assert tantivy.built_with("r", "main", NEW) is None  # no index
    with tantivy.partition_lock("r", "main"):
        tantivy.build("r", "main", NEW, base_manifest_id=OLD, remove_paths=[], add=[], built_with="window 2")
        tantivy.build("r", "main", OLD, base_manifest_id=NEW, remove_paths=["b.py"], add=[], built_with="window 9")
    # OLD's file was not a hard link of NEW's: rewriting one left the other as it was
    assert (tantivy.built_with("r", "main", NEW), tantivy.built_with("r", "main", OLD)) == ("window 2", "window 9")


def test_a_rebuild_takes_the_old_directorys_place_in_one_exchange(tantivy):
    from resources.tantivy_index import _exchange_directories

    old_inode = tantivy.manifest_dir("r", "main", OLD).stat().st_ino
    with tantivy.partition_lock("r", "main"):
        tantivy.build("r", "main", OLD, base_manifest_id=None, remove_paths=[], add=[_doc("z.py", "7", "zulu")])
    assert tantivy.manifest_dir("r", "main", OLD).stat().st_ino != old_inode
    assert tantivy.documents("r", "main", OLD) == [("z.py", "7")]
    assert sorted(p.name for p in tantivy.partition_dir("r", "main").iterdir()) == [".partition.lock", OLD]
    first, second = tantivy.partition_dir("r", "main") / "first", tantivy.partition_dir("r", "main") / "second"
    for directory in (first, second):
        directory.mkdir()
        (directory / "name").write_text(directory.name)
    _exchange_directories(first, second)
    assert ((first / "name").read_text(), (second / "name").read_text()) == ("second", "first")
