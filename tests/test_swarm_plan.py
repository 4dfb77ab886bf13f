"""The swarm plan as plain data (`components.plan.swarm`): how each service is scheduled, updated and published on a
swarm, and the swarm config mistakes it refuses. Pure and fast; `tests/test_swarm.py` checks the registered services."""

from __future__ import annotations

from typing import Any

import pytest

from components.model.base import ConfigError
from components.model.mesh import parse_mesh_config
from components.plan.services import resolve_services
from components.plan.stack import plan_stack
from components.plan.swarm import SwarmPlan, go_duration, plan_swarm, swarm_endpoints

BACKEND_IMAGE = {"backend": {"enabled": True, "image": "registry.local/backend:1.0"}}


def swarm_plan(**config: Any) -> SwarmPlan:
    raw = {"platform": "swarm", **config}
    raw["services"] = {**BACKEND_IMAGE, **config.get("services", {})}
    swarm = plan_stack(parse_mesh_config(raw)).swarm
    assert swarm is not None
    return swarm


def swarm_error(**config: Any) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        swarm_plan(**config)
    return error.value


def test_the_swarm_plan_exists_only_on_the_swarm_platform_and_covers_every_deployed_service():
    assert plan_stack(parse_mesh_config({})).swarm is None
    config = parse_mesh_config({"platform": "swarm", "services": BACKEND_IMAGE})
    plan = plan_stack(config)
    assert plan.swarm is not None
    assert [service.name for service in plan.swarm.services] == list(plan.service_names)
    assert (plan.swarm.subnet, plan.swarm.encrypted) == ("10.201.0.0/16", False)
    encrypted = swarm_plan(swarm={"encryptedOverlay": True, "subnet": "10.77.0.0/16"})
    assert (encrypted.subnet, encrypted.encrypted) == ("10.77.0.0/16", True)


def test_stateless_services_run_replicated_tasks_that_start_before_the_old_ones_stop():
    plan = swarm_plan(swarm={"replicas": 3}, services={"backend": {**BACKEND_IMAGE["backend"], "replicas": 4}})
    for name in ("blackbox-exporter", "postgres-exporter", "redis-exporter", "consul-exporter"):
        service = plan.service(name)
        assert (service.scheduling, service.replicas) == ("replicated", 3)
        assert (service.update.order, service.update.failure_action) == ("start-first", "rollback")
        assert (service.rollback.order, service.rollback.failure_action) == ("start-first", "pause")
        assert service.placement.max_replicas == 0
    assert plan.service("backend").replicas == 4


def test_a_stateful_service_runs_one_task_on_the_node_labelled_for_its_data_and_stops_first():
    plan = swarm_plan()
    for name in ("postgres", "redis", "neo4j", "prometheus", "loki"):
        service = plan.service(name)
        assert (service.scheduling, service.replicas) == ("pinned", 1)
        assert service.placement.constraints == (f"node.labels.mesh.data.{name}==true",)
        assert service.data_label == f"mesh.data.{name}"
        assert (service.update.order, service.rollback.order) == ("stop-first", "stop-first")


def test_consul_servers_spread_one_per_node_over_zones_and_name_their_node_after_it():
    consul = swarm_plan(swarm={"consulServers": 5}).service("consul")
    assert (consul.scheduling, consul.replicas) == ("clustered", 5)
    assert consul.placement.prefs == ("node.labels.mesh.zone",)
    assert consul.placement.max_replicas == 1
    assert consul.hostname == "consul-{{.Node.Hostname}}"


def test_node_agents_are_global_and_single_instance_services_run_one_task():
    plan = swarm_plan()
    for name in ("node-exporter", "cadvisor", "alloy"):
        assert (plan.service(name).scheduling, plan.service(name).replicas) == ("global", None)
    for name in ("jaeger", "consul-esm"):
        assert (plan.service(name).scheduling, plan.service(name).replicas) == ("single", 1)
    assert all(service.hostname is None for service in plan.services if service.name != "consul")


def test_edge_ports_are_published_from_edge_nodes_once_per_node():
    plan = swarm_plan()
    kong = plan.service("kong")
    assert [(port.internal, port.published, port.name) for port in kong.ports] == [(8000, 10005, "proxy")]
    assert kong.placement.constraints == ("node.labels.mesh.edge==true",)
    # a host-mode port binds once per node; a stateless service with one then also stops its old task first
    assert (kong.placement.max_replicas, kong.update.order) == (1, "stop-first")
    grafana = plan.service("grafana")
    assert [(port.internal, port.published) for port in grafana.ports] == [(3000, 10201)]
    assert grafana.placement.max_replicas == 1 and grafana.placement.constraints == ("node.labels.mesh.data.grafana==true",)
    assert plan.service("backend").ports == () and plan.service("backend").placement.constraints == ()
    # a disabled service publishes nothing, and its edge port is no mistake
    without_grafana = swarm_plan(services={"grafana": {"enabled": False}})
    assert all(service.name != "grafana" for service in without_grafana.services)


def test_an_edge_service_must_be_deployed_and_an_edge_port_published_and_never_the_admin_api():
    assert str(swarm_error(swarm={"edgeServices": ["kong", "ollama"]})) == "mesh:swarm.edgeServices[1]: ollama is not a deployed service"
    assert str(swarm_error(swarm={"edgePorts": ["kong:8000", "kong:8001"]})) == (
        "mesh:swarm.edgePorts[1]: kong:8001 is never published on a swarm (host mode binds every interface of the node)"
    )
    assert str(swarm_error(swarm={"edgePorts": ["kong:9999"]})) == (
        "mesh:swarm.edgePorts[0]: kong publishes no port 9999 (its published ports: kong:8000, kong:8100)"
    )


def test_only_stateless_services_take_replicas_and_the_backend_needs_a_registry_image():
    error = swarm_error(services={"redis": {"replicas": 2}})
    assert error.key == "mesh:services.redis.replicas" and error.message.startswith("redis runs pinned on a swarm; only ")
    assert "backend, blackbox-exporter, consul-exporter, kong, postgres-exporter, redis-exporter run several tasks" in error.message
    assert swarm_plan(services={"redis": {"replicas": 1}}).service("redis").replicas == 1
    config = parse_mesh_config({"platform": "swarm", "services": {"backend": {"enabled": True}}})
    with pytest.raises(ConfigError) as missing:
        plan_swarm(config, resolve_services(config))
    assert missing.value.key == "mesh:services.backend.image"
    assert missing.value.message == (
        "every swarm node pulls its own images: push the backend image (docker build backend/) to a registry the nodes reach "
        "and name it here"
    )


def test_credentials_become_secret_files_and_a_probe_only_credential_is_read_from_its_file():
    plan = swarm_plan()
    postgres = plan.service("postgres")
    assert [(secret.env, secret.file_env, secret.path) for secret in postgres.secret_envs] == [
        ("POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE", "/run/secrets/postgres_password")
    ]
    assert (
        postgres.probe == next(service for service in plan_stack(parse_mesh_config({})).services if service.name == "postgres").spec.probe
    )
    redis = plan.service("redis")
    assert redis.probe.test == ("CMD-SHELL", 'REDISCLI_AUTH="$(cat /run/secrets/rediscli_auth)" redis-cli ping | grep -q PONG')
    assert (redis.probe.tool, redis.probe.interval_s, redis.probe.timeout_s, redis.probe.retries, redis.probe.start_period_s) == (
        "redis-cli",
        10,
        5,
        6,
        30,
    )
    (exporter_secret,) = plan.service("redis-exporter").secret_envs
    assert exporter_secret.render("s3cret") == '{"redis://redis:6379": "s3cret"}'


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (1, "1s"),
        (10, "10s"),
        (60, "1m"),
        (600, "10m"),
        (90, "1m30s"),
        (3600, "1h"),
        (36000, "10h"),
        (3660, "1h1m"),
        (3601, "1h0m1s"),
    ],
)
def test_durations_are_written_as_the_provider_reads_them_back(seconds, text):
    assert go_duration(seconds) == text


def test_each_service_is_one_endpoint_at_its_service_name():
    config = parse_mesh_config({"platform": "swarm", "services": BACKEND_IMAGE})
    services = resolve_services(config)
    endpoints = swarm_endpoints(services)
    assert [endpoint.service for endpoint in endpoints] == [service.name for service in services]
    for endpoint, service in zip(endpoints, services, strict=True):
        assert (endpoint.instance, endpoint.address, endpoint.port) == (service.name, service.name, service.spec.ports[0].internal)
        assert (endpoint.check, endpoint.metrics, endpoint.blackbox) == (service.spec.check, service.spec.metrics, service.spec.blackbox)
        assert (endpoint.category, endpoint.kind) == (service.spec.category, service.spec.kind)
    assert plan_stack(config).endpoints[: len(endpoints)] == tuple(endpoints)


def test_an_edge_port_of_a_disabled_service_is_skipped_and_the_next_one_still_published():
    plan = swarm_plan(services={"grafana": {"enabled": False}}, swarm={"edgePorts": ["grafana:3000", "kong:8000"]})
    assert [(port.internal, port.published) for port in plan.service("kong").ports] == [(8000, 10005)]
    assert str(swarm_error(swarm={"edgePorts": ["consul-esm:8080"]})) == (
        "mesh:swarm.edgePorts[0]: consul-esm publishes no port 8080 (its published ports: none)"
    )
