"""What the MCP, swarm and stack plans hand on, value for value: orchestrator settings, MCP endpoints, port blame,
npm pins and swarm placements, checked without Pulumi (`make mutate` breaks each rule one at a time)."""

from __future__ import annotations

from typing import Any

import pytest

from components.catalog.endpoint import Endpoint
from components.catalog.services import Check
from components.model.base import ConfigError
from components.model.mesh import parse_mesh_config
from components.plan.mcp import McpPlan, OrchestratorSettings, mcp_endpoint, orchestrator_endpoint, resolve_mcp, server_names
from components.plan.services import resolve_services
from components.plan.stack import plan_stack
from components.plan.swarm import Placement, SwarmPlan, plan_swarm

BACKEND_IMAGE = {"backend": {"enabled": True, "image": "registry.local/backend:1.0"}}


def mcp_plan(raw: dict[str, Any]) -> McpPlan:
    config = parse_mesh_config(raw)
    return resolve_mcp(config, resolve_services(config))


def mcp_refusal(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as error:
        mcp_plan(raw)
    return str(error.value)


def swarm_plan(swarm: dict[str, Any]) -> SwarmPlan:
    config = parse_mesh_config({"platform": "swarm", "services": BACKEND_IMAGE, "swarm": swarm})
    return plan_swarm(config, resolve_services(config))


# --- the orchestrator: its settings, its certificate's names, its endpoint ---


@pytest.mark.parametrize(
    ("raw", "settings"),
    [
        (
            {},
            OrchestratorSettings(
                image="docker:29.7.2-dind",
                host_port=12376,
                docker_host="tcp://127.0.0.1:12376",
                memory_mb=4096,
                cpus=None,
                san_dns_names=("localhost", "mcp-orchestrator"),
                san_ip_addresses=("127.0.0.1",),
            ),
        ),
        (
            {
                "bindAddress": "10.0.0.2",
                "mcpOrchestrator": {
                    "image": "docker:28.5.1-dind",
                    "hostPort": 12400,
                    "dockerHost": "tcp://dind.lan:12400",
                    "memoryMb": 8192,
                    "cpus": 2.5,
                },
            },
            OrchestratorSettings(
                image="docker:28.5.1-dind",
                host_port=12400,
                docker_host="tcp://dind.lan:12400",
                memory_mb=8192,
                cpus=2.5,
                san_dns_names=("dind.lan", "localhost", "mcp-orchestrator"),
                san_ip_addresses=("10.0.0.2", "127.0.0.1"),
            ),
        ),
    ],
)
def test_the_orchestrator_takes_each_setting_given_and_its_certificate_covers_the_bind_address_and_docker_host(
    raw: dict[str, Any], settings: OrchestratorSettings
) -> None:
    assert mcp_plan(raw).orchestrator == settings


@pytest.mark.parametrize(
    ("docker_host", "bind_address", "names"),
    [
        ("tcp://Xserve.lan:12376", "127.0.0.1", (("Xserve.lan", "localhost", "mcp-orchestrator"), ("127.0.0.1",))),
        ("tcp://[fd00::5]:12376", "0.0.0.0", (("localhost", "mcp-orchestrator"), ("127.0.0.1", "fd00::5"))),
        ("tcp://10.0.0.9:12376", "box.lan", (("box.lan", "localhost", "mcp-orchestrator"), ("10.0.0.9", "127.0.0.1"))),
    ],
)
def test_the_certificate_names_the_docker_host_exactly_as_written_without_its_brackets(
    docker_host: str, bind_address: str, names: tuple[tuple[str, ...], tuple[str, ...]]
) -> None:
    assert server_names(docker_host, bind_address) == names


def test_the_orchestrator_is_one_blackbox_endpoint_checked_over_tcp_on_its_tls_port() -> None:
    assert orchestrator_endpoint() == Endpoint(
        service="mcp-orchestrator",
        instance="mcp-orchestrator",
        address="mcp-orchestrator",
        port=2376,
        check=Check("tcp", 2376),
        metrics=None,
        blackbox=True,
        category="orchestration",
        kind="orchestration",
    )


# --- each MCP server as the mesh reaches it ---


@pytest.mark.parametrize(
    ("raw", "name", "port", "health_port", "service_path"),
    [
        ({}, "docs", 3017, 3117, "/mcp"),
        ({}, "claude-flow", 3001, 3101, "/mcp"),
        ({"mcpServers": {"time": {"port": 3020, "package": "t@1.0.0", "bin": "t", "mcpPath": "/rpc"}}}, "time", 3020, 3120, "/rpc"),
    ],
)
def test_an_mcp_server_is_reached_through_the_orchestrator_alias_checked_on_its_probe_face_and_routed_to_its_path(
    raw: dict[str, Any], name: str, port: int, health_port: int, service_path: str
) -> None:
    server = next(server for server in mcp_plan(raw).servers if server.name == name)
    assert mcp_endpoint(server) == Endpoint(
        service=f"mcp-{name}",
        instance=f"mcp-{name}",
        address="mcp-orchestrator",
        port=port,
        check=Check("http", health_port, "/health"),
        metrics=None,
        blackbox=True,
        category="mcp",
        kind="mcp",
        route_path=f"/mcp/{name}",
        service_path=service_path,
    )


# --- MCP config mistakes, word for word ---


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        (
            {"mcpServers": {"Bad_Name": {"enabled": False}}},
            "mesh:mcpServers.Bad_Name: an MCP server name is lowercase letters, digits and dashes",
        ),
        # a server moved onto a service's host port
        (
            {"portRanges": {"mcp": [3000, 10099]}, "mcpServers": {"docs": {"hostPort": 10000}}},
            "mesh:mcpServers.docs.hostPort: host port 10000 is used by both mcp-docs and postgres (mesh:services.postgres.hostPorts[0])",
        ),
        # the earlier server's key is blamed when the user moved it and left the later one alone
        (
            {"mcpServers": {"claude-flow": {"hostPort": 3017}}},
            "mesh:mcpServers.claude-flow.hostPort: host port 3017 is used by both mcp-claude-flow and mcp-docs (mesh:mcpServers.docs.port)",
        ),
        (
            {"mcpServers": {"claude-flow": {"port": 3017}}},
            "mesh:mcpServers.claude-flow.port: host port 3017 is used by both mcp-claude-flow and mcp-docs (mesh:mcpServers.docs.port)",
        ),
        # both moved by the user: the later key is blamed
        (
            {"mcpServers": {"claude-flow": {"hostPort": 3040}, "docs": {"hostPort": 3040}}},
            "mesh:mcpServers.docs.hostPort: host port 3040 is used by both mcp-docs and mcp-claude-flow"
            " (mesh:mcpServers.claude-flow.hostPort)",
        ),
        # a setting that moves nothing is no claim on the port: the server the user moved is blamed
        (
            {"mcpServers": {"claude-flow": {"hostPort": 3017}, "docs": {"memoryMb": 256}}},
            "mesh:mcpServers.claude-flow.hostPort: host port 3017 is used by both mcp-claude-flow and mcp-docs (mesh:mcpServers.docs.port)",
        ),
    ],
)
def test_each_mcp_name_and_host_port_mistake_is_one_line_blaming_the_key_the_user_moved(raw: dict[str, Any], line: str) -> None:
    assert mcp_refusal(raw) == line


@pytest.mark.parametrize(
    ("package", "message"),
    [
        ("mcp-time", "'mcp-time' is not pinned to an exact version (npm treats it as a range or tag); give one, e.g. mcp-time@1.2.3"),
        (
            "@scope/name",
            "'@scope/name' is not pinned to an exact version (npm treats it as a range or tag); give one, e.g. @scope/name@1.2.3",
        ),
        # npm splits at the first '@' after the name's first character: the rest is the version
        (
            "x@1.0.0@2.0.0",
            "'x@1.0.0@2.0.0' is not pinned to an exact version (npm treats it as a range or tag); give one, e.g. x@1.2.3",
        ),
    ],
)
def test_an_unpinned_mcp_package_is_refused_with_the_name_npm_would_read_in_the_example(package: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_mesh_config({"mcpServers": {"docs": {"package": package}}})
    assert (error.value.key, error.value.message) == ("mesh:mcpServers.docs.package", message)


# --- the stack plan ---


def test_the_stack_plan_builds_one_image_per_enabled_mcp_server_from_its_committed_context() -> None:
    plan = plan_stack(parse_mesh_config({"mcpServers": {"search": {"enabled": False}}}))
    assert {name: build.context for name, build in plan.mcp_images.items()} == {
        name: f"mcp/servers/{name}" for name in ("claude-flow", "files", "context", "memory", "docs")
    }


def test_on_a_swarm_a_replicated_service_is_one_endpoint_at_its_service_name() -> None:
    services = {"backend": {**BACKEND_IMAGE["backend"], "replicas": 3}}
    plan = plan_stack(parse_mesh_config({"platform": "swarm", "services": services}))
    backend = [(endpoint.instance, endpoint.address) for endpoint in plan.endpoints if endpoint.service == "backend"]
    assert backend == [("backend", "backend")]


# --- swarm placement ---


def test_only_consul_spreads_over_zones_and_it_caps_one_server_per_node_even_off_the_edge() -> None:
    plan = swarm_plan({"edgePorts": ["kong:8000"]})
    assert plan.service("consul").placement == Placement((), ("node.labels.mesh.zone",), 1)
    assert {service.name: service.placement.prefs for service in plan.services if service.name != "consul"} == {
        service.name: () for service in plan.services if service.name != "consul"
    }


def test_a_node_agent_published_at_the_edge_stays_global_with_no_per_node_cap() -> None:
    cadvisor = swarm_plan({"edgePorts": ["cadvisor:8080"]}).service("cadvisor")
    assert (cadvisor.scheduling, cadvisor.replicas, cadvisor.placement) == ("global", None, Placement((), (), 0))
    assert [(port.internal, port.published) for port in cadvisor.ports] == [(8080, 10206)]
