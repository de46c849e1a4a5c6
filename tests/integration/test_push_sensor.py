"""The push sensor of the code location, evaluated tick by tick as Dagster's daemon does: real git repositories
(reached through file:// URLs: a tick reads their refs with `git ls-remote`, the run it requests fetches), the
real metadata store and a real Dagster instance in DAGSTER_HOME."""

from __future__ import annotations

import json
import shutil
import socket
import threading

import dagster as dg
import pytest
from dagster import DagsterRunStatus

from codegraph_assets.assets import ALL_ASSETS
from codegraph_assets.assets.targets import COMMIT_TAG
from codegraph_assets.automation.sensor import PUSH_SENSOR_NAME, build_push_sensor
from codegraph_assets.config import AutomationConfig, load_indexing_config
from codegraph_assets.definitions import defs, index_partition_job
from codegraph_assets.instance import dagster_instance
from codegraph_assets.registry import register_repo
from codegraph_assets.resource_defs import build_resource_defs
from resources.metadata_store import INDEX_STAGES


class PushSensor:
    """The code location's push sensor on this test's instance and resources, one tick at a time."""

    def __init__(self, automation: AutomationConfig | None = None) -> None:
        resources = build_resource_defs(load_indexing_config())
        self.resources = {key: resources[key] for key in ("metadata", "git")}
        self.instance = dagster_instance()
        self.store = self.resources["metadata"].open()
        if automation is None:
            self.repository = defs.get_repository_def()
        else:  # the same job and assets, with a sensor built from other automation settings
            self.repository = dg.Definitions(
                assets=ALL_ASSETS, jobs=[index_partition_job], sensors=[build_push_sensor(index_partition_job, automation)],
                resources=resources).get_repository_def()
        self.cursor: str | None = None

    def register(self, name: str, location: str, refs: tuple[str, ...] = ("main",),
                 patterns: tuple[str, ...] = ()) -> None:
        register_repo(self.store, self.instance, name, location, list(refs), list(patterns))

    def tick(self):
        with dg.build_sensor_context(instance=self.instance, instance_ref=self.instance.get_ref(), cursor=self.cursor,
                                     resources=self.resources, repository_def=self.repository) as context:
            result = self.repository.get_sensor_def(PUSH_SENSOR_NAME).evaluate_tick(context)
        # What the daemon does with a tick: keep its cursor, apply its partition requests.
        self.cursor = result.cursor
        for request in result.dynamic_partitions_requests:
            self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        return result

    def close(self) -> None:
        self.resources["metadata"].close()
        self.instance.dispose()


@pytest.fixture
def sensor(codegraph_home):
    push_sensor = PushSensor()
    yield push_sensor
    push_sensor.close()


def requested(result) -> list[tuple[str, str, str]]:
    return [(r.partition_key, r.run_key, r.tags[COMMIT_TAG]) for r in result.run_requests]


def daemon_creates_runs(sensor: PushSensor, result, status: DagsterRunStatus) -> None:
    """What the daemon does with a tick's requests: create the runs, tagged with the run key and the sensor."""
    job = defs.resolve_job_def(index_partition_job.name)
    for request in result.run_requests:
        sensor.instance.create_run_for_job(job, status=status, tags={
            **request.tags, "dagster/run_key": request.run_key, "dagster/sensor_name": PUSH_SENSOR_NAME})


def test_a_ref_moved_back_to_a_commit_indexed_before_gets_an_unspent_run_key(sensor, make_repo):
    origin = make_repo({"app.py": "x = 1\n"})
    first = origin.git("rev-parse", "HEAD")
    sensor.register("shop", f"file://{origin.path}")
    daemon_creates_runs(sensor, sensor.tick(), DagsterRunStatus.SUCCESS)
    pushed = origin.commit({"app.py": "x = 2\n"})
    daemon_creates_runs(sensor, sensor.tick(), DagsterRunStatus.SUCCESS)
    for stage in INDEX_STAGES:  # the pushed commit is what searches serve now
        sensor.store.publish("shop", "main", stage, pushed, "manifest-of-push")
    origin.git("reset", "-q", "--hard", first)  # a force-push back to the first commit
    # Dagster would drop a second request keyed shop:main:<first> as a duplicate of the first run.
    assert requested(sensor.tick()) == [("shop|main", f"shop:main:{first}:2", first)]


def test_a_run_still_in_flight_is_not_requested_again_by_a_tick_that_lost_the_cursor(sensor, make_repo):
    origin = make_repo({"app.py": "x = 1\n"})
    sensor.register("shop", f"file://{origin.path}")
    daemon_creates_runs(sensor, sensor.tick(), DagsterRunStatus.STARTED)
    sensor.cursor = None  # the daemon died after launching the run, before storing the cursor
    result = sensor.tick()
    assert result.run_requests == [] and result.skip_message == "no tracked ref moved"


def test_a_push_requests_exactly_one_run_pinned_to_the_new_commit(sensor, make_repo):
    origin = make_repo({"app.py": "x = 1\n"})
    sensor.register("shop", f"file://{origin.path}")
    sensor.tick()
    pushed = origin.commit({"app.py": "x = 2\n"})
    result = sensor.tick()
    assert requested(result) == [("shop|main", f"shop:main:{pushed}", pushed)]
    assert result.run_requests[0].tags["dagster/partition/repo"] == "shop"


def run_requested(sensor: PushSensor, request: dg.RunRequest) -> str:
    """Run the ir stage of what a tick requested, with the request's tags, as the daemon's run would; the
    commit it published."""
    repo, ref = request.partition_key.split("|")
    dg.materialize(ALL_ASSETS, selection=["ir"], partition_key=request.partition_key, tags=request.tags,
                   instance=sensor.instance, resources=build_resource_defs(load_indexing_config()))
    return sensor.store.published(repo, ref, "ir").commit


def test_the_runs_a_push_requests_index_the_pushed_commit_of_a_remote_the_tick_did_not_fetch(sensor, make_repo):
    origin = make_repo({"app.py": "x = 1\n"})
    sensor.register("shop", f"file://{origin.path}")
    (first_run,) = sensor.tick().run_requests  # the tick read the refs with ls-remote: nothing cloned yet
    assert run_requested(sensor, first_run) == origin.git("rev-parse", "HEAD")
    pushed = origin.commit({"app.py": "x = 2\n"})
    (push_run,) = sensor.tick().run_requests  # the mirror does not have the pushed commit yet
    assert run_requested(sensor, push_run) == pushed


def test_the_first_tick_requests_each_tracked_ref_that_exists_and_is_not_indexed(sensor, make_repo):
    origin = make_repo({"app.py": "x = 1\n"})
    origin.git("branch", "dev")
    head = origin.git("rev-parse", "HEAD")
    sensor.register("shop", f"file://{origin.path}", refs=("main", "dev", "v9"))
    assert requested(sensor.tick()) == [("shop|dev", f"shop:dev:{head}", head),
                                        ("shop|main", f"shop:main:{head}", head)]


def test_without_a_push_a_tick_requests_nothing(sensor, make_repo):
    origin = make_repo({"app.py": "x = 1\n"})
    sensor.register("shop", f"file://{origin.path}")
    assert len(sensor.tick().run_requests) == 1
    result = sensor.tick()
    assert result.run_requests == []
    assert result.skip_message == "no tracked ref moved"


def test_the_cursor_maps_repo_and_ref_to_the_commit_and_carries_over_ticks(sensor, make_repo):
    origin = make_repo({"app.py": "x = 1\n"})
    sensor.register("shop", f"file://{origin.path}")
    first = origin.git("rev-parse", "HEAD")
    sensor.tick()
    assert json.loads(sensor.cursor)["refs"] == {"shop": {"main": first}}
    pushed = origin.commit({"app.py": "x = 2\n"})
    sensor.tick()
    assert json.loads(sensor.cursor)["refs"] == {"shop": {"main": pushed}}
    assert sensor.tick().run_requests == []


def test_a_commit_already_indexed_is_not_requested_again(sensor, make_repo):
    origin = make_repo({"app.py": "x = 1\n"})
    sensor.register("shop", f"file://{origin.path}")
    for stage in INDEX_STAGES:  # the commit is fully indexed: searches already serve it
        sensor.store.publish("shop", "main", stage, origin.git("rev-parse", "HEAD"), "manifest-of-head")
    assert sensor.tick().run_requests == []  # no cursor yet: the serving head says it is indexed
    pushed = origin.commit({"app.py": "x = 2\n"})
    assert requested(sensor.tick()) == [("shop|main", f"shop:main:{pushed}", pushed)]


def test_new_refs_matching_a_pattern_become_tracked_partitions_with_a_run(sensor, make_repo):
    origin = make_repo({"app.py": "x = 1\n"})
    sensor.register("shop", f"file://{origin.path}", patterns=("release/*", "v*"))
    sensor.tick()
    origin.git("branch", "release/2.0")
    origin.git("branch", "feature/x")
    origin.git("tag", "-a", "v2.0", "-m", "release 2.0")  # annotated: the run gets the commit, not the tag object
    head = origin.git("rev-parse", "HEAD")
    result = sensor.tick()
    assert requested(result) == [("shop|release/2.0", f"shop:release/2.0:{head}", head),
                                 ("shop|v2.0", f"shop:v2.0:{head}", head)]
    assert [(r.partitions_def_name, list(r.partition_keys)) for r in result.dynamic_partitions_requests] == [
        ("snapshot", ["release/2.0", "v2.0"])]
    assert sensor.store.get_repo("shop").refs == ("main", "release/2.0", "v2.0")
    assert sensor.tick().run_requests == []
    origin.git("checkout", "-q", "release/2.0")
    pushed = origin.commit({"app.py": "x = 3\n"})
    assert requested(sensor.tick()) == [("shop|release/2.0", f"shop:release/2.0:{pushed}", pushed)]


def test_a_branch_and_a_tag_of_one_name_resolve_to_the_branch_as_the_assets_do(sensor, make_repo):
    origin = make_repo({"app.py": "x = 1\n"})
    origin.git("tag", "-a", "stable", "-m", "old stable")
    branch_head = origin.commit({"app.py": "x = 2\n"})
    origin.git("branch", "stable")
    sensor.register("shop", str(origin.path), refs=("stable",))
    assert requested(sensor.tick()) == [("shop|stable", f"shop:stable:{branch_head}", branch_head)]


def test_an_unreachable_remote_is_reported_by_name_and_the_others_are_still_served(sensor, make_repo, capfd):
    origin = make_repo({"app.py": "x = 1\n"})
    lost = make_repo({"lib.py": "y = 1\n"})
    sensor.register("gone", f"file://{lost.path}")
    sensor.register("shop", f"file://{origin.path}")
    shutil.rmtree(lost.path)
    result = sensor.tick()
    head = origin.git("rev-parse", "HEAD")
    assert requested(result) == [("shop|main", f"shop:main:{head}", head)]
    assert "could not poll repository 'gone'" in "".join(capfd.readouterr())
    assert json.loads(sensor.cursor)["refs"] == {"shop": {"main": head}}


def test_a_tick_where_every_remote_fails_names_them_without_credentials(sensor):
    sensor.register("private", "https://builder:s3cr3t@127.0.0.1:1/org/private.git")
    result = sensor.tick()
    assert result.run_requests == []
    assert "could not poll repository 'private' at https://***@127.0.0.1:1/org/private.git" in result.skip_message
    assert "NETWORK_ERROR" in result.skip_message and "s3cr3t" not in result.skip_message


@pytest.fixture
def unresponsive_remote():
    """An HTTP "git server" on loopback that accepts connections and never answers: a remote that hangs."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    closing = threading.Event()

    def accept() -> None:
        while not closing.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/org/hung.git"
    closing.set()
    listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not on Linux
    listener.close()
    thread.join()
    for connection in held:
        connection.close()


def test_a_hung_remote_costs_one_tick_budget_and_the_repositories_it_held_up_go_first_next_tick(
        codegraph_home, make_repo, unresponsive_remote):
    sensor = PushSensor(AutomationConfig(push_sensor_tick_budget_s=3, push_sensor_concurrency=1))
    try:
        origin = make_repo({"app.py": "x = 1\n"})
        sensor.register("hung", unresponsive_remote)  # sorts first: polled first on the first tick
        sensor.register("shop", f"file://{origin.path}")
        first = sensor.tick()
        assert first.run_requests == []
        assert "could not poll repository 'hung'" in first.skip_message
        assert "timed out" in first.skip_message and "automation.push_sensor_tick_budget_s" in first.skip_message
        assert "budget ran out before polling 'shop'" in first.skip_message
        head = origin.git("rev-parse", "HEAD")
        assert requested(sensor.tick()) == [("shop|main", f"shop:main:{head}", head)]  # shop's turn came first
    finally:
        sensor.close()


def test_polls_run_side_by_side_so_a_hung_remote_does_not_hold_up_the_others(
        codegraph_home, make_repo, unresponsive_remote):
    sensor = PushSensor(AutomationConfig(push_sensor_tick_budget_s=3, push_sensor_concurrency=2))
    try:
        origin = make_repo({"app.py": "x = 1\n"})
        sensor.register("hung", unresponsive_remote)
        sensor.register("shop", f"file://{origin.path}")
        result = sensor.tick()
        head = origin.git("rev-parse", "HEAD")
        assert requested(result) == [("shop|main", f"shop:main:{head}", head)]
        assert json.loads(sensor.cursor)["refs"] == {"shop": {"main": head}}
        assert set(json.loads(sensor.cursor)["polled"]) == {"hung", "shop"}
    finally:
        sensor.close()


def test_the_poll_interval_and_default_status_come_from_the_automation_config():
    sensor = defs.get_repository_def().get_sensor_def(PUSH_SENSOR_NAME)
    assert (sensor.minimum_interval_seconds, sensor.default_status) == (60, dg.DefaultSensorStatus.STOPPED)
    config = load_indexing_config({"CODEGRAPH_AUTOMATION__PUSH_SENSOR_INTERVAL_S": "15",
                                   "CODEGRAPH_AUTOMATION__PUSH_SENSOR_ENABLED": "true"}).automation
    sensor = build_push_sensor(index_partition_job, config)
    assert (sensor.minimum_interval_seconds, sensor.default_status) == (15, dg.DefaultSensorStatus.RUNNING)


def test_repo_add_track_stores_patterns_that_repo_list_shows_and_repo_remove_forgets(codegraph_home, make_repo,
                                                                                     capsys):
    from codegraph_assets.cli.main import main

    origin = make_repo({"app.py": "x = 1\n"})
    assert main(["repo", "add", "shop", str(origin.path), "--ref", "main",
                 "--track", "release/*", "--track", "v*"]) == 0
    assert "refs: main; tracking: release/*, v*" in capsys.readouterr().out
    assert main(["repo", "list", "--json"]) == 0
    assert [(r["name"], r["refs"], r["track"]) for r in json.loads(capsys.readouterr().out)] == [
        ("shop", ["main"], ["release/*", "v*"])]
    assert main(["repo", "list"]) == 0
    assert capsys.readouterr().out.rstrip("\n").endswith("\tmain\ttrack:release/*,v*")
    assert main(["repo", "add", "odd", str(origin.path), "--track=-x"]) == 2
    assert "ref pattern '-x' is not allowed" in capsys.readouterr().err
    assert main(["repo", "remove", "shop"]) == 0
    assert main(["repo", "add", "shop", str(origin.path)]) == 0
    assert "tracking" not in capsys.readouterr().out
