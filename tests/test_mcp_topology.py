"""MCP server resolution, without Pulumi: whatever servers a stack config adds, either every port is unique and
in range on both daemons, or the config is refused with one line naming the key."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from components.catalog.mcp_servers import DOCKER_TLS_PORT, MCP_CATALOG
from components.model.base import ConfigError
from components.model.mesh import parse_mesh_config
from components.plan.mcp import mcp_endpoints, resolve_mcp, server_names
from components.plan.services import resolve_services

_new_server = st.fixed_dictionaries(
    {"port": st.integers(2990, 3110), "package": st.just("@example/mcp-extra@1.0.0"), "bin": st.just("mcp-extra")},
    optional={"hostPort": st.integers(2990, 3110)},
)
_servers = st.dictionaries(st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True), _new_server, max_size=5)


@settings(max_examples=60, deadline=None)
@given(_servers)
def test_resolved_mcp_ports_are_unique_and_in_range_or_the_key_is_named(extra: dict[str, Any]) -> None:
    config = parse_mesh_config({"mcpServers": extra})
    try:
        plan = resolve_mcp(config, resolve_services(config))
    except ConfigError as error:
        assert error.key.startswith("mesh:mcpServers.")
        assert error.key.split(".")[1] in set(extra) | set(MCP_CATALOG)
        assert "\n" not in str(error)
        return
    host_ports = [server.published_port for server in plan.servers]
    assert len(set(host_ports)) == len(host_ports)
    assert all(3000 <= port <= 3099 for port in host_ports)
    inner = [port for server in plan.servers for port in (server.port, server.health_port)]
    assert len(set(inner)) == len(inner)
    assert DOCKER_TLS_PORT not in inner and 2375 not in inner
    routes = [endpoint.route_path for endpoint in mcp_endpoints(plan) if endpoint.kind == "mcp"]
    assert len(routes) == len(set(routes)) == len(plan.servers)


def test_catalog_servers_stay_first_and_new_ones_follow_by_name() -> None:
    config = parse_mesh_config(
        {
            "mcpServers": {
                "zeta": {"port": 3030, "package": "z@1.0.0", "bin": "z"},
                "alpha": {"port": 3031, "package": "a@1.0.0", "bin": "a"},
            }
        }
    )
    names = [server.name for server in resolve_mcp(config, resolve_services(config)).servers]
    assert names == [*MCP_CATALOG, "alpha", "zeta"]


def test_the_server_certificate_names_cover_every_way_to_reach_the_daemon() -> None:
    assert server_names("tcp://127.0.0.1:12376", "127.0.0.1") == (("localhost", "mcp-orchestrator"), ("127.0.0.1",))
    assert server_names("tcp://dind.lan:12376", "0.0.0.0") == (("dind.lan", "localhost", "mcp-orchestrator"), ("127.0.0.1",))
    assert server_names("tcp://[fd00::5]:12376", "10.0.0.2")[1] == ("10.0.0.2", "127.0.0.1", "fd00::5")


def test_the_mcp_config_module_imports_on_its_own() -> None:
    # config.py imports mcp_config for its fields; mcp_config must not need config.py at import time
    import subprocess
    import sys
    from pathlib import Path

    subprocess.run(
        [sys.executable, "-c", "import components.model.mcp"], check=True, cwd=Path(__file__).resolve().parent.parent, timeout=60
    )


# --- each MCP config mistake, word for word (`make mutate` breaks the checks one at a time) ---

CATALOG_NAMES = ", ".join(MCP_CATALOG)
MCP_MISTAKES: list[tuple[dict[str, Any], str]] = [
    (
        {"mcpServers": {"new": {"package": "x@1.0.0", "bin": "x"}}},
        f"mesh:mcpServers.new.port: required for a new MCP server (catalog servers: {CATALOG_NAMES})",
    ),
    (
        {"mcpServers": {"new": {"port": 3050, "bin": "x"}}},
        f"mesh:mcpServers.new.package: required for a new MCP server (catalog servers: {CATALOG_NAMES})",
    ),
    (
        {"mcpServers": {"new": {"port": 3050, "package": "x@1.0.0"}}},
        f"mesh:mcpServers.new.bin: required for a new MCP server (catalog servers: {CATALOG_NAMES})",
    ),
    ({"mcpServers": {"docs": {"port": 3100}}}, "mesh:mcpServers.docs.port: 3100 is outside the mcp range 3000-3099 (mesh:portRanges.mcp)"),
    (
        {"mcpServers": {"docs": {"hostPort": 3100}}},
        "mesh:mcpServers.docs.hostPort: 3100 is outside the mcp range 3000-3099 (mesh:portRanges.mcp)",
    ),
    (
        {"mcpServers": {"docs": {"hostPort": 2999}}},
        "mesh:mcpServers.docs.hostPort: 2999 is outside the mcp range 3000-3099 (mesh:portRanges.mcp)",
    ),
    (
        {"mcpServers": {"docs": {"hostPort": 3001}}},
        "mesh:mcpServers.docs.hostPort: host port 3001 is used by both mcp-docs and mcp-claude-flow (mesh:mcpServers.claude-flow.port)",
    ),
    (
        {"mcpServers": {"docs": {"port": 3004, "hostPort": 3050}}},
        "mesh:mcpServers.docs.port: mcp-docs's port 3004 collides with mcp-context's port in the orchestrator",
    ),
    (
        {"mcpServers": {"docs": {"port": 2376, "hostPort": 3050}}},
        "mesh:mcpServers.docs.port: mcp-docs's port 2376 collides with the Docker TLS endpoint in the orchestrator",
    ),
    (
        {"mcpServers": {"docs": {"port": 2375, "hostPort": 3050}}},
        "mesh:mcpServers.docs.port: mcp-docs's port 2375 collides with the plaintext Docker port in the orchestrator",
    ),
    (
        {"mcpServers": {"docs": {"port": 2904, "hostPort": 3050}}},
        "mesh:mcpServers.docs.port: mcp-docs's health port (port + 100) 3004 collides with mcp-context's port in the orchestrator",
    ),
    (
        {"mcpServers": {"docs": {"port": 3104, "hostPort": 3050}}},
        "mesh:mcpServers.docs.port: mcp-docs's port 3104 collides with mcp-context's health port (port + 100) in the orchestrator",
    ),
    (
        {"mcpOrchestrator": {"hostPort": 11999}},
        "mesh:mcpOrchestrator.hostPort: 11999 is outside the orchestration range 12000-12999 (mesh:portRanges.orchestration)",
    ),
    (
        {"mcpOrchestrator": {"hostPort": 13000}},
        "mesh:mcpOrchestrator.hostPort: 13000 is outside the orchestration range 12000-12999 (mesh:portRanges.orchestration)",
    ),
    (
        {"portRanges": {"orchestration": [10000, 10099]}, "mcpOrchestrator": {"hostPort": 10000}},
        "mesh:mcpOrchestrator.hostPort: host port 10000 is used by both mcp-orchestrator and postgres"
        " (mesh:services.postgres.hostPorts[0])",
    ),
    (
        {"portRanges": {"mcp": [3000, 3099], "orchestration": [3000, 3099]}, "mcpOrchestrator": {"hostPort": 3001}},
        "mesh:mcpOrchestrator.hostPort: host port 3001 is used by both mcp-orchestrator and mcp-claude-flow"
        " (mesh:mcpServers.claude-flow.port)",
    ),
]


def test_each_mcp_mistake_is_one_line_naming_the_key_and_the_rule():
    for raw, line in MCP_MISTAKES:
        config = parse_mesh_config(raw)
        try:
            resolve_mcp(config, resolve_services(config))
        except ConfigError as error:
            assert str(error) == line
        else:
            raise AssertionError(f"{raw} was accepted; expected {line}")


def test_the_edges_of_the_mcp_and_orchestration_ranges_are_accepted():
    for raw in (
        {"mcpServers": {"docs": {"hostPort": 3000}}},
        {"mcpServers": {"docs": {"hostPort": 3099}}},
        {"mcpOrchestrator": {"hostPort": 12000}},
        {"mcpOrchestrator": {"hostPort": 12999}},
    ):
        config = parse_mesh_config(raw)
        plan = resolve_mcp(config, resolve_services(config))
        assert plan.orchestrator.host_port == config.mcp_orchestrator.host_port
    docs = next(server for server in plan.servers if server.name == "docs")
    assert (docs.port, docs.published_port) == (3017, 3017)


def test_a_new_mcp_server_takes_every_setting_given_and_a_disabled_one_is_left_out():
    config = parse_mesh_config(
        {
            "mcpServers": {
                "docs": {"enabled": False},
                "new": {
                    "port": 3050, "hostPort": 3060, "package": "x@1.0.0", "bin": "x", "args": ["--a"], "transport": "http",
                    "mcpPath": "/m", "image": "node:22.1.0-slim", "buildContext": "mcp/servers/new", "dataPath": "/data",
                    "env": {"B": "2", "A": "1"}, "memoryMb": 300, "cpus": 0.5, "description": "d",
                },
            }
        }
    )  # fmt: skip
    plan = resolve_mcp(config, resolve_services(config))
    assert [server.name for server in plan.servers] == [name for name in MCP_CATALOG if name != "docs"] + ["new"]
    new = plan.servers[-1]
    assert (new.port, new.host_port, new.published_port, new.package, new.bin, new.args) == (3050, 3060, 3060, "x@1.0.0", "x", ("--a",))
    assert (new.transport, new.mcp_path, new.image, new.build_context, new.data_path) == (
        "http",
        "/m",
        "node:22.1.0-slim",
        "mcp/servers/new",
        "/data",
    )
    assert (new.env, new.memory_mb, new.cpus, new.description) == ((("A", "1"), ("B", "2")), 300, 0.5, "d")
