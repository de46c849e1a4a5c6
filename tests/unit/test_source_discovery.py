"""Which files of a tree are indexed, and the reason for each one that is not."""

from __future__ import annotations

from codegraph_assets.config import DiscoveryConfig, ExcludePatternsConfig, IndexingConfig
from codegraph_assets.core.source import (
    GIT_MODE_SUBMODULE,
    GIT_MODE_SYMLINK,
    ManifestEntry,
    TreeEntry,
    classify_tree,
    diff_manifests,
    is_binary,
    manifest_id_for,
)


def _entry(path, size=10, mode="100644"):
    return TreeEntry(path, path.encode().hex()[:40].ljust(40, "0"), size, mode)


def _reasons(entries, gitignores=None, config=None):
    manifest = classify_tree(entries, gitignores or {}, config or IndexingConfig())
    return {e.path: e.skip_reason for e in manifest}


def test_symlinks_and_submodules_are_never_followed():
    reasons = _reasons([_entry("link", mode=GIT_MODE_SYMLINK), _entry("vendor_sub", mode=GIT_MODE_SUBMODULE)])
    assert reasons == {"link": "symlink", "vendor_sub": "submodule"}


def test_default_excludes_skip_virtualenvs_and_node_modules():
    reasons = _reasons([_entry("venv/lib/x.py"), _entry("web/node_modules/a.js"), _entry("src/app.py")])
    assert reasons == {"venv/lib/x.py": "excluded", "web/node_modules/a.js": "excluded", "src/app.py": None}


def test_nested_gitignore_applies_relative_to_its_directory():
    reasons = _reasons(
        [_entry("app/generated/x.py"), _entry("generated/y.py"), _entry("debug.log"), _entry("app/keep.py")],
        {"": b"*.log\n", "app": b"generated/\n"},
    )
    assert reasons == {"app/generated/x.py": "gitignored", "generated/y.py": None, "debug.log": "gitignored",
                       "app/keep.py": None}


def test_oversized_files_are_skipped_with_a_reason():
    config = IndexingConfig(discovery=DiscoveryConfig(max_file_bytes=100))
    assert _reasons([_entry("big.py", size=101), _entry("ok.py", size=100)], config=config) == {
        "big.py": "too_large", "ok.py": None}


def test_configured_excludes_are_honoured():
    config = IndexingConfig(exclude_patterns=ExcludePatternsConfig(default=["docs/"]))
    assert _reasons([_entry("docs/a.md"), _entry("venv/x.py")], config=config) == {"docs/a.md": "excluded",
                                                                                     "venv/x.py": None}


def test_binary_detection_looks_for_nul_bytes():
    assert is_binary(b"\x89PNG\r\n\x1a\n\0\0", 8192)
    assert not is_binary("héllo".encode(), 8192)


def test_manifest_identity_includes_discovery_options():
    small = IndexingConfig(discovery=DiscoveryConfig(max_file_bytes=10))
    assert manifest_id_for("r", "c", IndexingConfig()) != manifest_id_for("r", "c", small)
    assert manifest_id_for("r", "c", IndexingConfig()) == manifest_id_for("r", "c", IndexingConfig())


def test_diff_reports_added_changed_and_removed_paths():
    old = [ManifestEntry("a.py", "1" * 40, 1, "python"), ManifestEntry("b.py", "2" * 40, 1, "python")]
    new = [ManifestEntry("a.py", "1" * 40, 1, "python"), ManifestEntry("b.py", "3" * 40, 1, "python"),
           ManifestEntry("c.py", "4" * 40, 1, "python")]
    added, removed = diff_manifests(old, new)
    assert {(e.path, e.blob_sha[0]) for e in added} == {("b.py", "3"), ("c.py", "4")}
    assert {(e.path, e.blob_sha[0]) for e in removed} == {("b.py", "2")}


def test_a_deeper_gitignore_can_reinclude_what_a_parent_ignores():
    reasons = _reasons([_entry("gen/keep.py"), _entry("gen/drop.py"), _entry("top.py")],
                       {"": b"*.py\n", "gen": b"!keep.py\n"})
    assert reasons == {"gen/keep.py": None, "gen/drop.py": "gitignored", "top.py": "gitignored"}


def test_build_outputs_are_excluded_only_at_the_root():
    reasons = _reasons([_entry("build/out.js"), _entry("src/build/rules.go"), _entry("pkg/env/settings.py")])
    assert reasons == {"build/out.js": "excluded", "src/build/rules.go": None, "pkg/env/settings.py": None}


def test_listing_problems_become_skip_reasons():
    entry = TreeEntry("caf\\xe9.py", "0" * 40, 3, problem="undecodable_path")
    assert _reasons([entry]) == {"caf\\xe9.py": "undecodable_path"}
