"""The nightly reindex schedule of the code location, evaluated as Dagster's daemon does: real git repositories,
the real metadata store and a real Dagster instance in DAGSTER_HOME."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from codegraph_assets.assets import ALL_ASSETS, ir, lexical
from codegraph_assets.assets.targets import COMMIT_TAG
from codegraph_assets.automation.schedule import NIGHTLY_SCHEDULE_NAME, build_nightly_schedule
from codegraph_assets.config import AutomationConfig, load_indexing_config
from codegraph_assets.definitions import defs, index_partition_job
from codegraph_assets.errors import CodegraphError
from codegraph_assets.instance import dagster_instance
from codegraph_assets.registry import register_repo
from codegraph_assets.resource_defs import build_resource_defs


class NightlySchedule:
    """The code location's nightly schedule on this test's instance and resources."""

    def __init__(self, automation: AutomationConfig | None = None) -> None:
        self.all_resources = build_resource_defs(load_indexing_config())
        self.instance = dagster_instance()
        self.store = self.all_resources["metadata"].open()
        if automation is None:
            self.repository = defs.get_repository_def()
        else:  # the same job, with a schedule built from other automation settings
            self.repository = dg.Definitions(
                jobs=[index_partition_job], schedules=[build_nightly_schedule(index_partition_job, automation)],
                assets=ALL_ASSETS, resources=self.all_resources).get_repository_def()

    def register(self, name: str, location: str, refs: tuple[str, ...] = ("main",)) -> None:
        register_repo(self.store, self.instance, name, location, list(refs))

    def tick(self):
        resources = {key: self.all_resources[key] for key in ("metadata", "git")}
        with dg.build_schedule_context(instance=self.instance, instance_ref=self.instance.get_ref(),
                                       resources=resources, repository_def=self.repository) as context:
            return self.repository.get_schedule_def(NIGHTLY_SCHEDULE_NAME).evaluate_tick(context)

    def close(self) -> None:
        self.all_resources["metadata"].close()
        self.instance.dispose()


@pytest.fixture
def nightly(codegraph_home):
    schedule = NightlySchedule()
    yield schedule
    schedule.close()


def requested(result) -> list[tuple[str, str, str | None]]:
    return [(r.partition_key, r.run_key, r.tags.get(COMMIT_TAG)) for r in result.run_requests]


def test_one_run_per_tracked_partition_that_exists_pinned_to_its_head(nightly, make_repo):
    origin = make_repo({"app.py": "x = 1\n"})
    origin.git("tag", "-a", "v1.0", "-m", "release 1.0")
    tagged = origin.git("rev-parse", "HEAD")
    head = origin.commit({"app.py": "x = 2\n"})
    nightly.register("shop", f"file://{origin.path}", refs=("main", "v1.0"))
    result = nightly.tick()
    assert requested(result) == [("shop|main", f"shop:main:{head}", head),
                                 ("shop|v1.0", f"shop:v1.0:{tagged}", tagged)]
    assert {r.tags["codegraph/trigger"] for r in result.run_requests} == {"nightly"}


def test_a_tracked_ref_the_repository_lacks_is_not_requested(nightly, make_repo):
    origin = make_repo({"app.py": "x = 1\n"})
    nightly.register("shop", str(origin.path), refs=("main", "v9"))
    other = make_repo({"lib.py": "y = 1\n"})
    nightly.register("lib", str(other.path), refs=("main",))  # lib|v9 is in the grid, and is not tracked either
    head, other_head = origin.git("rev-parse", "HEAD"), other.git("rev-parse", "HEAD")
    assert requested(nightly.tick()) == [("lib|main", f"lib:main:{other_head}", other_head),
                                         ("shop|main", f"shop:main:{head}", head)]


def test_a_repository_without_any_existing_tracked_ref_makes_the_tick_skip(nightly, make_repo):
    origin = make_repo({"app.py": "x = 1\n"})
    nightly.register("shop", str(origin.path), refs=("v9",))
    result = nightly.tick()
    assert result.run_requests == [] and result.skip_message.startswith("no tracked partition exists")


def test_the_commit_is_the_head_at_the_tick_and_a_later_push_does_not_change_what_the_run_indexes(
        nightly, make_repo):
    origin = make_repo({"app.py": "def first():\n    return 1\n"})
    nightly.register("shop", f"file://{origin.path}")
    pushed = origin.commit({"app.py": "def second():\n    return 2\n"})
    (request,) = nightly.tick().run_requests
    assert request.tags[COMMIT_TAG] == pushed
    origin.commit({"app.py": "def third():\n    return 3\n"})  # lands between the tick and the run
    nightly.all_resources["git"].sync("shop", "git_remote", f"file://{origin.path}")  # and is even fetched
    result = dg.materialize([ir, lexical], partition_key=request.partition_key, tags=request.tags,
                            instance=nightly.instance, resources=nightly.all_resources)
    assert result.success
    versions = {e.asset_key.to_user_string(): e.step_materialization_data.materialization.tags["dagster/data_version"]
                for e in result.get_asset_materialization_events()}
    assert versions == {"ir": pushed, "lexical": pushed}


def test_an_unreachable_repository_does_not_stop_the_others(nightly, make_repo, capfd):
    origin = make_repo({"app.py": "x = 1\n"})
    lost = make_repo({"lib.py": "y = 1\n"})
    nightly.register("gone", f"file://{lost.path}")
    nightly.register("shop", f"file://{origin.path}")
    shutil.rmtree(lost.path)
    head = origin.git("rev-parse", "HEAD")
    assert requested(nightly.tick()) == [("shop|main", f"shop:main:{head}", head)]
    assert "could not poll repository 'gone'" in "".join(capfd.readouterr())


def test_a_repository_the_ticks_budget_did_not_reach_gets_runs_that_resolve_their_refs(codegraph_home, make_repo,
                                                                                         capfd):
    nightly = NightlySchedule(AutomationConfig(nightly_tick_budget_s=1e-9))  # spent before the first poll
    try:
        origin = make_repo({"app.py": "x = 1\n"})
        nightly.register("shop", f"file://{origin.path}")
        (request,) = nightly.tick().run_requests
        assert (request.partition_key, request.run_key, request.tags.get(COMMIT_TAG)) == (
            "shop|main", "shop:main:unpinned", None)
        assert "budget ran out before its refs were read" in "".join(capfd.readouterr())
        result = dg.materialize([ir, lexical], partition_key=request.partition_key, tags=request.tags,
                                instance=nightly.instance, resources=nightly.all_resources)
        assert result.success
        assert nightly.store.published("shop", "main", "ir").commit == origin.git("rev-parse", "HEAD")
    finally:
        nightly.close()


def test_a_tracked_full_sha_is_requested_pinned_to_itself(nightly, make_repo):
    origin = make_repo({"app.py": "x = 1\n"})
    first = origin.git("rev-parse", "HEAD")
    origin.commit({"app.py": "x = 2\n"})
    missing = "0" * 40
    nightly.register("local", str(origin.path), refs=(first, missing))  # read in place: the sha is checked
    nightly.register("remote", f"file://{origin.path}", refs=(first,))  # not fetched: the run verifies it
    assert requested(nightly.tick()) == [(f"local|{first}", f"local:{first}:{first}", first),
                                         (f"remote|{first}", f"remote:{first}:{first}", first)]


def test_a_plain_directory_is_requested_without_a_pinned_commit(nightly, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.md").write_text("ship it\n")
    nightly.register("notes", str(tmp_path / "notes"))
    # A run walks the directory again, so a commit taken at the tick would not pin its contents.
    assert requested(nightly.tick()) == [("notes|local", "notes:local:unpinned", None)]


def test_the_cron_timezone_and_default_status_come_from_the_automation_config():
    schedule = defs.get_repository_def().get_schedule_def(NIGHTLY_SCHEDULE_NAME)
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.default_status) == (
        "0 2 * * *", "UTC", dg.DefaultScheduleStatus.STOPPED)
    config = load_indexing_config({"CODEGRAPH_AUTOMATION__NIGHTLY_CRON": "30 3 * * 1-5",
                                   "CODEGRAPH_AUTOMATION__NIGHTLY_TIMEZONE": "Europe/Berlin",
                                   "CODEGRAPH_AUTOMATION__NIGHTLY_ENABLED": "true"}).automation
    schedule = build_nightly_schedule(index_partition_job, config)
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.default_status) == (
        "30 3 * * 1-5", "Europe/Berlin", dg.DefaultScheduleStatus.RUNNING)


def test_an_invalid_cron_or_timezone_is_refused_with_the_setting_to_fix():
    with pytest.raises(CodegraphError) as raised:
        build_nightly_schedule(index_partition_job, AutomationConfig(nightly_cron="every night"))
    assert "CODEGRAPH_AUTOMATION__NIGHTLY_CRON" in raised.value.message
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        AutomationConfig(nightly_timezone="Mars/Olympus")
