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
