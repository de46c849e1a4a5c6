"""Repository kinds (local git, file:// remote, plain directory) and how errors reach Dagster."""

from __future__ import annotations

import os
import shutil

import dagster as dg
from indexing import Indexer

from codegraph_assets.partitions import REPO_DIMENSION, SNAPSHOT_DIMENSION
from codegraph_assets.registry import register_repo, unregister_repo

FILES = {"lib/math_utils.py": "def add_numbers(a, b):\n    return a + b\n"}


def test_a_file_url_is_cloned_into_the_managed_mirror_and_indexed(codegraph_home, make_repo):
    origin = make_repo(FILES)
    indexer = Indexer()
    indexer.register("remote", f"file://{origin.path}", ["main"])
    indexed = indexer.materialize("remote", "main")
    assert indexed.result.success
    assert indexed.metadata("ir")["commit"] == origin.git("rev-parse", "HEAD")
    assert list((codegraph_home / "git").glob("*-remote.git/HEAD"))
    origin.commit({"lib/more.py": "def multiply_numbers(a, b):\n    return a * b\n"})
    again = indexer.materialize("remote", "main")  # the mirror is fetched: the new commit is seen
    assert again.metadata("ir")["commit"] == origin.git("rev-parse", "HEAD")
    assert indexer.search("multiply numbers", "remote", "main", "lexical")[0].path == "lib/more.py"


def test_a_plain_directory_is_indexed_under_snapshot_local_without_following_symlinks(codegraph_home, tmp_path):
    tree = tmp_path / "plain"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "geometry.py").write_text("def circle_area(radius):\n    return 3.14159 * radius ** 2\n")
    outside = tmp_path / "secret.py"
    outside.write_text("def leaked_secret():\n    return 'x'\n")
    os.symlink(outside, tree / "pkg" / "link.py")
    indexer = Indexer()
    indexer.register("plain", str(tree), ["ignored-for-directories"])
    indexed = indexer.materialize("plain", "local")
    assert indexed.result.success
    assert indexed.metadata("ir")["skipped"] == {"symlink": 1}
    assert indexer.search("leaked secret", "plain", "local", "lexical") == []
    assert indexer.search("circle area", "plain", "local", "lexical")[0].path == "pkg/geometry.py"


def test_registering_adds_dynamic_partitions_and_removing_takes_them_away(codegraph_home, make_repo):
    repo = make_repo(FILES)
    indexer = Indexer()
    with dg.build_resources({"metadata": indexer.resources["metadata"]}) as r:
        store = r.metadata.open()
        register_repo(store, indexer.instance, "one", str(repo.path), ["main", "v1"])
        register_repo(store, indexer.instance, "two", str(repo.path), ["main"])
        assert set(indexer.instance.get_dynamic_partitions(REPO_DIMENSION)) == {"one", "two"}
        assert set(indexer.instance.get_dynamic_partitions(SNAPSHOT_DIMENSION)) == {"main", "v1"}
        assert unregister_repo(store, indexer.instance, "one")
        assert indexer.instance.get_dynamic_partitions(REPO_DIMENSION) == ["two"]
        assert indexer.instance.get_dynamic_partitions(SNAPSHOT_DIMENSION) == ["main"]  # still tracked by two


def test_a_vanished_repository_fails_permanently_without_retries(codegraph_home, make_repo):
    repo = make_repo(FILES)
    indexer = Indexer()
    indexer.register("gone", str(repo.path), ["main"])
    shutil.rmtree(repo.path)
    failed = indexer.materialize("gone", "main", raise_on_error=False)
    assert not failed.result.success
    events = failed.result.all_events
    assert not [e for e in events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    failure = next(e for e in events if e.event_type_value == "STEP_FAILURE")
    assert "PERMANENT PATH_NOT_FOUND" in failure.event_specific_data.error.message
    assert "codegraph repo add gone" in failure.event_specific_data.error.message


def test_a_held_tantivy_writer_lock_is_transient_and_retried(codegraph_home, make_repo):
    repo = make_repo(FILES)
    indexer = Indexer()
    indexer.register("locked", str(repo.path), ["main"])
    tantivy_resource = indexer.resources["tantivy"]
    retry = {"retry": {"max_retries": 2, "base_delay_s": 0.0}}
    with tantivy_resource.partition_lock("locked", "main"):  # another run is writing this partition
        result = indexer.materialize("locked", "main", raise_on_error=False,
                                     run_config={"ops": {"lexical": {"config": retry}}})
    events = result.result.all_events
    retries = [e for e in events if e.event_type_value == "STEP_UP_FOR_RETRY" and e.step_key == "lexical"]
    assert len(retries) == 2
    failure = next(e for e in events if e.event_type_value == "STEP_FAILURE" and e.step_key == "lexical")
    assert "TRANSIENT INDEX_LOCKED" in failure.event_specific_data.error.message
    # released, the same partition succeeds
    assert indexer.materialize("locked", "main").result.success


def test_committed_files_are_indexed_even_when_gitignore_matches_them(codegraph_home, make_repo):
    repo = make_repo({".gitignore": "generated/\n"})
    repo.write({"generated/schema.py": "def generated_schema():\n    return {}\n"})
    repo.git("add", "-f", "generated/schema.py")  # tracked on purpose: git never ignores tracked files
    repo.commit()
    indexer = Indexer()
    indexer.register("forced", str(repo.path), ["main"])
    indexed = indexer.materialize("forced", "main")
    assert indexed.metadata("ir")["skipped"] == {}
    assert indexer.search("generated schema", "forced", "main", "lexical")[0].path == "generated/schema.py"


def test_a_working_tree_honours_gitignore_with_negation(codegraph_home, tmp_path):
    tree = tmp_path / "worktree"
    (tree / "logs").mkdir(parents=True)
    (tree / ".gitignore").write_text("*.log\nlogs/\n")
    (tree / "logs" / "a.txt").write_text("noise\n")
    (tree / "app.py").write_text("def serve_forever():\n    pass\n")
    (tree / "debug.log").write_text("noise\n")
    indexer = Indexer()
    indexer.register("wt", str(tree), [])
    indexed = indexer.materialize("wt", "local")
    assert indexed.metadata("ir")["skipped"] == {"gitignored": 2}
