"""The deploy/ examples hold together: YAML parses, instance configs pass Dagster's schema (and, on the real
PostgreSQL, store events), and the Docker Compose, Dockerfile, instance and Helm files agree with each
other and with the code. Nothing here needs Docker or Kubernetes."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from importlib import metadata
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

from codegraph_assets.partitions import REPO_SNAPSHOT

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKER = DEPLOY / "docker"
INSTANCE_CONFIGS = [ROOT / "dagster.yaml", DEPLOY / "dagster.postgres.yaml", DOCKER / "dagster.yaml"]
POSTGRES_INSTANCE_CONFIGS = [DEPLOY / "dagster.postgres.yaml", DOCKER / "dagster.yaml"]
PG_VARIABLES = ["DAGSTER_PG_HOST", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"]
# dagster_docker's DOCKER_CONFIG_SCHEMA (dagster-docker is not installed here), and the container_kwargs
# that DockerRunLauncher refuses because other keys own them.
DOCKER_RUN_LAUNCHER_KEYS = {"image", "network", "networks", "registry", "env_vars", "container_kwargs"}
DOCKER_RESERVED_CONTAINER_KWARGS = {"image", "environment", "network"}
# Top-level keys of the Dagster Helm chart's values (its DagsterHelmValues schema).
HELM_TOP_LEVEL_KEYS = {
    "global", "dagsterWebserver", "dagster-user-deployments", "postgresql", "generatePostgresqlPasswordSecret",
    "generateCeleryConfigSecret", "rabbitmq", "redis", "flower", "ingress", "imagePullSecrets",
    "computeLogManager", "scheduler", "runLauncher", "pythonLogs", "dagsterDaemon", "busybox", "migrate",
    "telemetry", "serviceAccount", "retention", "concurrency", "additionalInstanceConfig",
}


def _yaml(path: Path):
    return yaml.safe_load(path.read_text())


def _compose() -> dict:
    return _yaml(DOCKER / "docker-compose.yaml")


def _docker_launcher() -> dict:
    return _yaml(DOCKER / "dagster.yaml")["run_launcher"]


def _code_location_module() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]


def _variables_the_code_reads() -> set[str]:
    sources = "".join(p.read_text() for p in (ROOT / "codegraph_assets").rglob("*.py"))
    return set(re.findall(r"\b(?:CODEGRAPH|QDRANT)_[A-Z_]+\b", sources))


@pytest.fixture
def pg_environment(monkeypatch):
    for name in PG_VARIABLES:
        monkeypatch.setenv(name, "placeholder")


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.yaml")), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_under_deploy_parses(path):
    documents = list(yaml.safe_load_all(path.read_text()))
    assert documents and all(isinstance(d, dict) for d in documents)


@pytest.mark.parametrize("path", INSTANCE_CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_instance_configs_pass_dagsters_instance_schema(path, tmp_path, pg_environment):
    shutil.copy(path, tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))  # raises DagsterInvalidConfigError with the reasons
    assert config["concurrency"]["pools"]["default_limit"] >= 1  # pool "qdrant" of the vector asset is bounded
    assert config["run_monitoring"]["free_slots_after_run_end_seconds"] > 0  # slots of dead runs come back


@pytest.mark.postgres
@pytest.mark.parametrize("path", POSTGRES_INSTANCE_CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_postgres_instance_configs_queue_runs_and_store_events_in_postgresql(path, tmp_path, postgres_database,
                                                                          monkeypatch):
    from sqlalchemy.engine import make_url

    url = make_url(postgres_database)
    for name, value in zip(PG_VARIABLES, [url.host, url.username, url.password or "", url.database]):
        monkeypatch.setenv(name, value)
    config = _yaml(path)
    config.pop("run_launcher", None)  # dagster-docker is not installed here; its block is checked below
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert [limit["key"] for limit in limits] == ["dagster/partition/repo"]
        instance.report_runless_asset_event(dg.AssetMaterialization("deploy_config_probe"))
        assert instance.get_latest_materialization_event(dg.AssetKey("deploy_config_probe")) is not None


def test_per_repository_limits_use_the_tag_dagster_puts_on_partition_runs():
    tags = REPO_SNAPSHOT.get_tags_for_partition_key("payments|main")
    instance_limits = [_yaml(p)["concurrency"]["runs"]["tag_concurrency_limits"] for p in POSTGRES_INSTANCE_CONFIGS]
    helm_limits = _yaml(DEPLOY / "k8s" / "values.yaml")["concurrency"]["runs"]["tagConcurrencyLimits"]
    keys = [limit["key"] for limits in [*instance_limits, helm_limits] for limit in limits]
    assert keys == ["dagster/partition/repo"] * 3
    assert tags["dagster/partition/repo"] == "payments"


def test_the_docker_run_launcher_block_fits_dagster_docker():
    launcher = _docker_launcher()
    assert (launcher["module"], launcher["class"]) == ("dagster_docker", "DockerRunLauncher")
    assert set(launcher["config"]) <= DOCKER_RUN_LAUNCHER_KEYS
    assert not set(launcher["config"]["container_kwargs"]) & DOCKER_RESERVED_CONTAINER_KWARGS
    assert all("=" not in name for name in launcher["config"]["env_vars"])  # values never written in the file


def test_compose_services_reference_what_the_file_declares():
    compose = _compose()
    services = compose["services"]
    for name, service in services.items():
        assert set(service.get("depends_on", {})) <= set(services), name
        assert set(service.get("networks", [])) <= set(compose["networks"]), name
        named = {v.split(":")[0] for v in service.get("volumes", []) if not v.startswith(("/", "."))}
        assert named <= set(compose["volumes"]), name
        for mount in (v.split(":")[0] for v in service.get("volumes", []) if v.startswith(".")):
            assert (DOCKER / mount).is_file(), mount
    build = services["code-location"]["build"]
    assert (DOCKER / build["context"] / build["dockerfile"]).resolve() == DOCKER / "Dockerfile"


def test_run_containers_join_the_compose_network_and_volume_with_the_daemons_variables():
    compose, launcher = _compose(), _docker_launcher()["config"]
    assert launcher["network"] in {n.get("name") for n in compose["networks"].values()}
    fixed_volume_names = {v.get("name") for v in compose["volumes"].values() if v}
    assert {v.split(":")[0] for v in launcher["container_kwargs"]["volumes"]} <= fixed_volume_names
    # The launcher reads their values from its own environment: the daemon's.
    assert set(launcher["env_vars"]) <= set(compose["services"]["daemon"]["environment"])


def test_webserver_and_daemon_load_the_code_location_the_image_serves():
    compose = _compose()
    services = compose["services"]
    server = _yaml(DOCKER / "workspace.yaml")["load_from"][0]["grpc_server"]
    dockerfile = (DOCKER / "Dockerfile").read_text()
    command = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))
    dagster_home = re.search(r"DAGSTER_HOME=(\S+)", dockerfile).group(1)
    assert server["host"] == "code-location" and server["location_name"] == "codegraph"
    assert command[:3] == ["dagster", "api", "grpc"]
    assert command[command.index("-p") + 1] == str(server["port"])
    assert command[command.index("-m") + 1] == _code_location_module()
    image = services["code-location"]["image"]
    assert services["code-location"]["environment"]["DAGSTER_CURRENT_IMAGE"] == image  # runs use this image
    for name in ("webserver", "daemon"):
        assert services[name]["image"] == image
        entrypoint = services[name]["entrypoint"]
        assert entrypoint[entrypoint.index("-w") + 1] == f"{dagster_home}/workspace.yaml"


def test_the_metadata_store_and_dagster_storage_use_separate_databases():
    environment = _compose()["services"]["daemon"]["environment"]
    assert environment["CODEGRAPH_POSTGRES_DSN"].rsplit("/", 1)[1] != environment["DAGSTER_PG_DB"]


def test_deploy_examples_set_only_variables_the_code_reads():
    known = _variables_the_code_reads()
    compose_env = _compose()["services"]["daemon"]["environment"]
    helm_env = _yaml(DEPLOY / "k8s" / "values.yaml")["dagster-user-deployments"]["deployments"][0]["env"]
    ours = {name for name in [*compose_env, *helm_env] if name.startswith(("CODEGRAPH_", "QDRANT_"))}
    assert ours and ours <= known, ours - known


def test_the_image_installs_cpu_torch_first_and_launchers_matching_dagster():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    torch = dockerfile.index("pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu")
    package = dockerfile.index("pip install -c requirements.lock .")
    assert torch < package
    library_version = metadata.version("dagster-postgres")
    assert f"dagster-docker=={library_version}" in dockerfile and f"dagster-k8s=={library_version}" in dockerfile


def test_helm_values_run_our_image_with_queued_limits_and_the_k8s_launcher():
    values = _yaml(DEPLOY / "k8s" / "values.yaml")
    assert set(values) <= HELM_TOP_LEVEL_KEYS
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("-m") + 1] == _code_location_module()
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    # Limits live in `concurrency`; the chart refuses them in both places.
    assert not values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert values["concurrency"]["enabled"] and values["concurrency"]["pools"]["defaultLimit"] >= 1
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
