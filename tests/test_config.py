"""Every user mistake in the stack config: one line naming the key, and nothing registered."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.model.base import ConfigError
from components.model.mesh import DEFAULT_PORT_RANGES, parse_mesh_config
from components.offline.synth import try_synthesize
from components.plan.host import check_cpus_fit
from components.plan.mcp import resolve_mcp
from components.plan.services import resolve_services
from components.stack.program import local_docker_cpus

MISTAKES = [
    ({"services": {"redis": {"hostPorts": [70000]}}}, "mesh:services.redis.hostPorts[0]: 70000 is not a TCP port (1-65535)"),
    ({"services": {"redis": {"hostPorts": ["abc"]}}}, 'mesh:services.redis.hostPorts[0]: expected an integer, got "abc"'),
    ({"services": {"redis": {"memoryMb": "lots"}}}, 'mesh:services.redis.memoryMb: expected an integer, got "lots"'),
    ({"services": {"redis": {"enabled": "maybe"}}}, 'mesh:services.redis.enabled: expected true or false, got "maybe"'),
    ({"services": {"redis": {"hostPorts": [20000]}}}, "mesh:services.redis.hostPorts[0]: 20000 is outside the core range 10000-10099"),
    (
        {"services": {"redis": {"hostPorts": [10000]}}},
        "mesh:services.redis.hostPorts[0]: host port 10000 is used by both redis and postgres",
    ),
    ({"services": {"redsi": {}}}, "mesh:services.redsi: unknown service"),
    ({"services": {"redis": {"hostPort": [10001]}}}, "mesh:services.redis.hostPort: unknown key"),
    ({"bogus": True}, "mesh:bogus: unknown key"),
    ({"services": {"redis": {"image": "redis"}}}, "mesh:services.redis.image: image 'redis' has no tag"),
    ({"services": {"redis": {"image": "redis:latest"}}}, "mesh:services.redis.image: image 'redis:latest' uses 'latest'"),
    ({"bindAddress": "localhost"}, "mesh:bindAddress: 'localhost' is not an IP address"),
    ({"bindAddress": "127.0.0.300"}, "mesh:bindAddress: '127.0.0.300' is not an IP address"),
    ({"services": {"neo4j": {"hostPorts": [10050]}}}, "mesh:services.neo4j.hostPorts: neo4j publishes 2 port(s) (7474, 7687)"),
    ({"services": {"redis": {"replicas": 2}}}, "mesh:services.redis.replicas: redis keeps state"),
    ({"services": {"redis": {"enabled": False}}}, "mesh:services.redis.enabled: redis-exporter needs redis"),
    ({"portRanges": {"core": [10099, 10000]}}, "mesh:portRanges.core: range start 10099 is above its end 10000"),
    ({"portRanges": {"gpu": [1, 2]}}, "mesh:portRanges.gpu: unknown category"),
]


@pytest.mark.parametrize(("raw_config", "expected"), MISTAKES, ids=[expected.split(":")[1] for _, expected in MISTAKES])
def test_each_config_mistake_gives_one_line_naming_the_key_and_registers_nothing(raw_config, expected):
    capture, error = try_synthesize(raw_config)
    assert error is not None
    message = str(error)
    assert message.startswith(expected)
    assert "\n" not in message
    assert capture.resources == []


def test_a_port_collision_names_both_services_and_blames_the_key_the_user_set():
    _, error = try_synthesize({"services": {"postgres": {"hostPorts": [10001]}}})
    assert str(error) == "mesh:services.postgres.hostPorts[0]: host port 10001 is used by both postgres and redis"


def test_defaults_reproduce_the_documented_port_ranges():
    config = parse_mesh_config({})
    assert config.port_ranges == DEFAULT_PORT_RANGES
    assert config.bind_address == "127.0.0.1"
    assert config.proxy_bind_address == "127.0.0.1"


@settings(max_examples=60, deadline=None)
@given(port=st.integers())
def test_any_integer_host_port_is_accepted_exactly_when_it_is_a_tcp_port(port):
    try:
        parse_mesh_config({"services": {"redis": {"hostPorts": [port]}}})
    except ValueError as error:
        assert not 1 <= port <= 65535
        assert str(error) == f"mesh:services.redis.hostPorts[0]: {port} is not a TCP port (1-65535)"
    else:
        assert 1 <= port <= 65535


@settings(max_examples=40, deadline=None)
@given(port=st.integers(min_value=1, max_value=65535))
def test_a_host_port_override_is_deployed_exactly_when_it_is_free_and_in_range(port):
    from components.catalog.services import CATALOG
    from components.model.base import ConfigError
    from components.plan.services import resolve_services

    taken = {p.host for spec in CATALOG.values() if spec.enabled and spec.name != "redis" for p in spec.published_ports}
    config = parse_mesh_config({"services": {"redis": {"hostPorts": [port]}}})
    try:
        services = resolve_services(config)
    except ConfigError as error:
        assert port in taken or not 10000 <= port <= 10099
        assert error.key == "mesh:services.redis.hostPorts[0]"
    else:
        assert port not in taken and 10000 <= port <= 10099
        redis = next(service for service in services if service.name == "redis")
        assert redis.spec.ports[0].host == port


# --- CPU limits against the Docker host (`pulumi up` on the Docker host itself) ---


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"services": {"kong": {"cpus": 3}}}, "mesh:services.kong.cpus"),
        ({"mcpOrchestrator": {"cpus": 4}}, "mesh:mcpOrchestrator.cpus"),
        ({"mcpServers": {"docs": {"cpus": 2.5}}}, "mesh:mcpServers.docs.cpus"),
    ],
)
def test_a_cpu_limit_above_the_docker_hosts_cpus_is_a_config_error_before_anything_is_registered(config, key):
    parsed = parse_mesh_config(config)
    services = resolve_services(parsed)
    with pytest.raises(ConfigError) as error:
        check_cpus_fit(services, resolve_mcp(parsed, services), host_cpus=2)
    assert error.value.key == key and "the Docker host has 2" in error.value.message


def test_the_defaults_fit_a_one_cpu_host_and_an_unknown_host_is_not_checked():
    for config in ({}, {"services": {"ollama": {"enabled": True}}}):
        parsed = parse_mesh_config(config)
        services = resolve_services(parsed)
        check_cpus_fit(services, resolve_mcp(parsed, services), host_cpus=1)
    parsed = parse_mesh_config({"services": {"kong": {"cpus": 64}}})
    services = resolve_services(parsed)
    check_cpus_fit(services, resolve_mcp(parsed, services), host_cpus=None)


def test_the_host_cpu_count_is_used_only_when_the_docker_host_is_local(monkeypatch):
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert local_docker_cpus() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("DOCKER_HOST", "unix:///var/run/docker.sock")
    assert local_docker_cpus() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("DOCKER_HOST", "tcp://build-server:2376")
    assert local_docker_cpus() is None
