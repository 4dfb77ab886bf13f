"""Shared builders for the gateway tests: configs, endpoints (MCP ones constructed by hand), and decK."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from components.catalog.endpoint import Endpoint
from components.catalog.services import Check
from components.model.mesh import MeshConfig, parse_mesh_config
from components.plan.endpoints import service_endpoints
from components.plan.gateway import GatewayCredentials, GatewayPlan, plan_gateway
from components.plan.services import resolve_services
from tests.host_tools import require

BACKEND_ON: dict[str, Any] = {"services": {"backend": {"enabled": True}}}
CREDENTIALS = GatewayCredentials(jwt_secret="j" * 32, api_key="k" * 32)


def mcp_endpoint(name: str, port: int, replica: int = 1) -> Endpoint:
    """An MCP server as the orchestrator will hand it over: kind mcp, published under /mcp/<name>."""
    instance = name if replica == 1 else f"{name}-{replica}"
    return Endpoint(
        service=name,
        instance=instance,
        address=f"{instance}.mcp",
        port=port,
        check=Check("http", port, "/healthz"),
        metrics=None,
        blackbox=False,
        category="mcp",
        kind="mcp",
        route_path=f"/mcp/{name.removeprefix('mcp-')}",
        service_path="/mcp",
    )


MCP_ENDPOINTS = (mcp_endpoint("mcp-files", 3003), mcp_endpoint("mcp-memory", 3009), mcp_endpoint("mcp-memory", 3009, replica=2))


def config_of(raw: dict[str, Any]) -> MeshConfig:
    return parse_mesh_config(raw)


def endpoints_of(config: MeshConfig, *, mcp: bool = True) -> list[Endpoint]:
    return service_endpoints(resolve_services(config)) + (list(MCP_ENDPOINTS) if mcp else [])


def plan_of(raw: dict[str, Any], *, mcp: bool = True) -> GatewayPlan:
    config = config_of(raw)
    return plan_gateway(config, endpoints_of(config, mcp=mcp))


def with_backend(gateway: dict[str, Any] | None = None, **services: dict[str, Any]) -> dict[str, Any]:
    """A raw config with the backend enabled (it is off in the catalog until its engineer lands it)."""
    raw: dict[str, Any] = {"services": {"backend": {"enabled": True}, **services}}
    if gateway is not None:
        raw["gateway"] = gateway
    return raw


def deck_validate(text: str, directory: Path) -> subprocess.CompletedProcess[str]:
    """Kong's own decK (Debian's package) checks the file offline: schema, references, duplicates."""
    require("deck")
    deck = shutil.which("deck")
    assert deck is not None
    path = directory / "kong.yml"
    path.write_text(text)
    return subprocess.run([deck, "validate", "-s", str(path)], capture_output=True, text=True, timeout=60, check=False)
