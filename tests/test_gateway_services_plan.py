"""What the gateway plan and the resolved services promise users: routes, probes, refusals, overrides and swarm placement."""

from __future__ import annotations

from typing import Any

import pytest

from components.catalog.endpoint import Endpoint
from components.catalog.services import CATALOG, DOCKER_SOCKET, Check, DataVolume, HostMount
from components.model.base import ConfigError
from components.model.mesh import parse_mesh_config
from components.plan.gateway import GatewayCredentials, kong_config, plan_gateway
from components.plan.services import floating_image_warnings, resolve_services
from components.render.kong import KongConfig, Plugin, Route
from tests.gateway_fixtures import CREDENTIALS, config_of, plan_of, with_backend

UIS = "(UIs: grafana, prometheus, alertmanager, jaeger, consul, rabbitmq)"


def kong_of(raw: dict[str, Any], *, mcp: bool = True) -> KongConfig:
    return kong_config(plan_of(raw, mcp=mcp), CREDENTIALS)


def route(config: KongConfig, name: str) -> Route:
    return next(r for s in config.services for r in s.routes if r.name == name)


def refusal(message: str) -> tuple[Plugin, ...]:
    return (Plugin("request-termination", {"status_code": 403, "message": message}),)


def search_endpoint(check: Check | None) -> Endpoint:
    """A plain (not MCP) service routed under /search, with the given discovery check."""
    return Endpoint(
        service="search",
        instance="search",
        address="search.mesh",
        port=8080,
        check=check,
        metrics=None,
        blackbox=False,
        category="core",
        kind="core",
        route_path="/search",
    )


def test_backend_health_answers_get_and_head_without_auth_and_services_forward_to_their_root() -> None:
    config = kong_of(with_backend({"ui": ["grafana"]}), mcp=False)
    health = route(config, "backend-health")
    assert (health.paths, health.methods, health.plugins) == (("/health",), ("GET", "HEAD"), ())
    assert (config.service("backend").path, config.service("grafana").path) == ("/", "/")


def test_ui_admin_paths_and_writes_are_refused_at_the_proxy_with_a_403_that_says_why() -> None:
    config = kong_of({"gateway": {"ui": ["alertmanager", "prometheus"]}}, mcp=False)
    blocked, writes = route(config, "alertmanager-ui-blocked"), route(config, "alertmanager-ui-write")
    assert (blocked.paths, blocked.methods) == (("/-/reload",), None)
    assert (writes.paths, writes.methods) == (None, ("POST", "PUT", "PATCH", "DELETE"))
    assert route(config, "prometheus-ui-blocked").paths == ("/-/quit", "/-/reload", "/api/v1/admin")
    for refused in (blocked, writes, route(config, "prometheus-ui-blocked")):
        assert refused.plugins == refusal("not available through the gateway")


def test_uis_are_not_rate_limited_and_a_limit_of_one_request_per_minute_is_enforced() -> None:
    config = kong_of(with_backend({"ui": ["grafana"], "upstreams": {"backend": {"rateLimitPerMinute": 1}}}), mcp=False)
    assert config.service("grafana").plugins == ()
    assert config.service("backend").plugins == (Plugin("rate-limiting", {"minute": 1, "policy": "local", "limit_by": "consumer"}),)


def test_probe_interval_and_tracing_sampling_rate_follow_config() -> None:
    plan = plan_of(with_backend({"upstreams": {"backend": {"probeIntervalS": 3}}, "tracingSamplingRate": 0.25}))
    assert plan.service("backend").breaker.probe_interval_s == 3
    assert plan.service("mcp-files").breaker.probe_interval_s == 10
    assert (plan.dns_valid_ttl_s, plan.sampling_rate) == (3, 0.25)
    assert kong_config(plan, CREDENTIALS).upstream("backend-upstream").healthchecks.active.healthy.interval == 3


@pytest.mark.parametrize(
    ("check", "probe"),
    [
        pytest.param(Check("http", 8080, "/ready"), ("http", "/ready"), id="http-check-on-its-port"),
        pytest.param(Check("http", 8080), ("http", "/"), id="http-check-without-a-path"),
        pytest.param(Check("http", 9000, "/ready"), ("tcp", "/"), id="http-check-on-another-port"),
        pytest.param(Check("tcp", 8080), ("tcp", "/"), id="tcp-check"),
        pytest.param(None, ("tcp", "/"), id="no-check"),
    ],
)
def test_active_probes_use_http_only_where_the_services_check_is_http_on_the_routed_port(
    check: Check | None, probe: tuple[str, str]
) -> None:
    plan = plan_gateway(config_of({}), [search_endpoint(check)])
    active = kong_config(plan, CREDENTIALS).upstream("search-upstream").healthchecks.active
    assert (active.type, active.http_path) == probe


def test_consistent_hashing_on_the_path_is_allowed_on_a_ui_host_and_refused_for_one_path() -> None:
    ui = plan_of({"gateway": {"ui": ["grafana"], "upstreams": {"grafana": {"algorithm": "consistent-hashing"}}}}, mcp=False)
    assert (ui.service("grafana").algorithm, ui.service("grafana").hash_on) == ("consistent-hashing", "path")
    config = config_of({"gateway": {"upstreams": {"search": {"algorithm": "consistent-hashing"}}}})
    with pytest.raises(ConfigError) as caught:
        plan_gateway(config, [search_endpoint(None)])
    assert str(caught.value) == (
        "mesh:gateway.upstreams.search.algorithm: hashing on the path sends all of search's traffic to one target: "
        "every request goes to its one endpoint (use round-robin or least-connections)"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            {"gateway": {"ui": ["grafana", "grafana"]}},
            "mesh:gateway.ui[1]: grafana is listed twice",
            id="ui-listed-twice",
        ),
        pytest.param(
            {"gateway": {"ui": ["grafana"], "paths": {"grafana": "/grafana"}}},
            "mesh:gateway.paths.grafana: grafana's UI is routed by host name (grafana.localhost), not by path",
            id="path-for-a-published-ui",
        ),
        pytest.param(
            with_backend({"ui": ["backend"]}),
            f"mesh:gateway.ui[0]: backend has no UI to publish {UIS}",
            id="ui-of-a-service-without-one",
        ),
        pytest.param(
            {"gateway": {"paths": {"mcp-files": "/mcp/memory"}}},
            "mesh:gateway.paths.mcp-files: route path /mcp/memory is already the route of mcp-memory; give mcp-files another path",
            id="configured-path-taking-a-default-one-blames-the-configured-key",
        ),
        pytest.param(
            {"gateway": {"paths": {"mcp-files": "/tools", "mcp-memory": "/tools"}}},
            "mesh:gateway.paths.mcp-memory: route path /tools is already the route of mcp-files; give mcp-memory another path",
            id="two-configured-paths-blame-the-later-key",
        ),
        pytest.param(
            with_backend({"upstreams": {"backend": {"weights": {"backend-3": 10}}}}, backend={"enabled": True, "replicas": 2}),
            "mesh:gateway.upstreams.backend.weights.backend-3: backend has no instance 'backend-3' (instances: backend, backend-2)",
            id="weight-of-unknown-instance-lists-every-instance",
        ),
    ],
)
def test_bad_gateway_entries_fail_with_one_line_naming_the_key(raw: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        plan_of(raw)
    assert str(caught.value) == expected


def test_a_published_ui_without_its_password_is_refused_naming_every_such_ui() -> None:
    plan = plan_of({"gateway": {"ui": ["grafana", "prometheus"]}}, mcp=False)
    with pytest.raises(ValueError) as caught:
        kong_config(plan, GatewayCredentials(jwt_secret="j" * 32, api_key="k" * 32))
    assert str(caught.value) == "no basic-auth password for the UI(s) grafana, prometheus"


def resolved(raw: dict[str, Any]) -> dict[str, Any]:
    return {service.name: service.spec for service in resolve_services(parse_mesh_config(raw))}


def refused(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        resolve_services(parse_mesh_config(raw))
    return str(caught.value)


def test_host_ports_move_only_the_published_ports_and_the_top_of_a_range_is_allowed() -> None:
    specs = resolved({"services": {"rabbitmq": {"hostPorts": [10017, 10099]}}})
    assert [(port.name, port.internal, port.host) for port in specs["rabbitmq"].ports] == [
        ("amqp", 5672, 10017),
        ("management", 15672, 10099),
        ("prometheus", 15692, None),
    ]


def test_a_user_set_host_port_that_takes_a_default_one_blames_the_users_key() -> None:
    assert refused({"services": {"postgres": {"hostPorts": [10001]}}}) == (
        "mesh:services.postgres.hostPorts[0]: host port 10001 is used by both postgres and redis (mesh:services.redis.hostPorts[0])"
    )


def test_an_override_replaces_only_the_fields_it_sets() -> None:
    specs = resolved({"services": {"postgres": {"memoryMb": 2048}, "redis": {"image": "redis:8.2.10-alpine"}}})
    assert (specs["postgres"].image, specs["postgres"].memory_mb) == (CATALOG["postgres"].image, 2048)
    assert (specs["redis"].image, specs["redis"].memory_mb) == ("redis:8.2.10-alpine", CATALOG["redis"].memory_mb)


@pytest.mark.parametrize(
    ("image", "data_path"),
    [("postgres:18.1-alpine", "/var/lib/postgresql"), ("postgres:17.12-alpine", "/var/lib/postgresql/data")],
)
def test_a_postgres_image_override_moves_the_data_volume_with_its_major_version(image: str, data_path: str) -> None:
    specs = resolved({"services": {"postgres": {"image": image}}})
    assert specs["postgres"].volumes == (DataVolume("data", data_path),)


def test_on_a_swarm_docker_clients_mount_their_nodes_socket_instead_of_the_proxy() -> None:
    specs = resolved({"platform": "swarm"})
    assert "docker-socket-proxy" not in specs
    cadvisor, alloy = specs["cadvisor"], specs["alloy"]
    socket = HostMount(DOCKER_SOCKET, DOCKER_SOCKET)
    assert cadvisor.host_mounts == (*CATALOG["cadvisor"].host_mounts, socket)
    # cAdvisor's --docker flag pointed at the proxy; without it cAdvisor reads the mounted socket
    assert (cadvisor.command, cadvisor.needs, cadvisor.starts_after) == ((), (), ())
    assert (alloy.host_mounts, alloy.command, alloy.needs) == ((socket,), CATALOG["alloy"].command, ("loki",))


def test_an_unknown_service_is_refused_listing_the_known_ones() -> None:
    assert refused({"services": {"billing": {}}}) == f"mesh:services.billing: unknown service (known: {', '.join(CATALOG)})"


@pytest.mark.parametrize(
    ("services", "warnings"),
    [
        pytest.param(
            {"backend": {"image": "service-mesh/backend:0.2"}},
            [
                "mesh:services.backend.image: image 'service-mesh/backend:0.2' floats: it moves with each release of its line; "
                "pin a full version (service-mesh/backend:1.1.1) or a digest (the catalog pins service-mesh/backend:0.1.0)"
            ],
            id="two-part-tag-of-an-unchecked-image",
        ),
        pytest.param({"backend": {"image": "service-mesh/backend:0.2.0"}}, [], id="three-part-tag-of-an-unchecked-image"),
        pytest.param({"postgres": {"memoryMb": 2048}}, [], id="override-without-an-image"),
    ],
)
def test_a_floating_image_override_is_warned_about_once(services: dict[str, Any], warnings: list[str]) -> None:
    assert floating_image_warnings(parse_mesh_config({"services": services}), []) == warnings
