"""The MCP servers this stack deploys: the catalog with `mesh:mcpServers` applied, checked, and handed to the mesh.

`resolve_mcp` runs before any resource is registered (every mistake is a `ConfigError` naming its key);
`mcp_endpoints` turns the result into the `Endpoint`s discovery, the gateway and Prometheus consume.
This module imports no Pulumi.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from typing import Any

from components.catalog.endpoint import Endpoint
from components.catalog.mcp_servers import (
    DOCKER_API_BIND_ADDRESS,
    DOCKER_TLS_PORT,
    MCP_CATALOG,
    ORCHESTRATOR,
    ORCHESTRATOR_IMAGE,
    McpServerSpec,
)
from components.catalog.services import Check
from components.model.base import ConfigError
from components.model.mcp import McpServerConfig
from components.model.mesh import CONFIG_NAMESPACE, MeshConfig
from components.plan.addresses import WILDCARD_ADDRESSES, client_url
from components.plan.services import DeployedService

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$")
_REQUIRED_FOR_NEW = ("port", "package", "bin")


@dataclass(frozen=True)
class OrchestratorSettings:
    image: str
    host_port: int
    docker_host: str
    """How the nested provider reaches the inner daemon (TLS)."""
    memory_mb: int
    cpus: float | None
    san_dns_names: tuple[str, ...] = ()
    san_ip_addresses: tuple[str, ...] = ()
    """What the server certificate must cover: the mesh alias, loopback, the bind address and `docker_host`."""


def server_names(docker_host: str, bind_address: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(DNS names, IP addresses) every client of the inner daemon may use to reach it."""
    dns_names = {ORCHESTRATOR, "localhost"}
    addresses = {"127.0.0.1"}
    candidates = [bind_address, docker_host.removeprefix("tcp://").rsplit(":", 1)[0].strip("[]")]
    for candidate in candidates:
        if candidate in WILDCARD_ADDRESSES or not candidate:
            continue
        try:
            addresses.add(str(ipaddress.ip_address(candidate)))
        except ValueError:
            dns_names.add(candidate)
    return tuple(sorted(dns_names)), tuple(sorted(addresses))


@dataclass(frozen=True)
class McpPlan:
    orchestrator: OrchestratorSettings
    servers: tuple[McpServerSpec, ...]
    """The enabled MCP servers, catalog order first, then new ones by name."""


def _key(*parts: str) -> str:
    return f"{CONFIG_NAMESPACE}:" + ".".join(parts)


def _server_key(name: str, setting: str) -> str:
    return _key("mcpServers", name, setting)


def _apply(name: str, base: McpServerSpec | None, override: McpServerConfig) -> McpServerSpec | None:
    if base is None:
        for setting in _REQUIRED_FOR_NEW:
            if getattr(override, setting) is None:
                raise ConfigError(_server_key(name, setting), f"required for a new MCP server (catalog servers: {', '.join(MCP_CATALOG)})")
        assert override.port is not None and override.package is not None and override.bin is not None
        base = McpServerSpec(name=name, port=override.port, package=override.package, bin=override.bin)
    if override.enabled is False:
        return None
    changes: dict[str, Any] = {
        "port": override.port,
        "host_port": override.host_port,
        "package": override.package,
        "bin": override.bin,
        "args": None if override.args is None else tuple(override.args),
        "transport": override.transport,
        "mcp_path": override.mcp_path,
        "image": override.image,
        "data_path": override.data_path,
        "env": None if override.env is None else tuple(sorted(override.env.items())),
        "memory_mb": override.memory_mb,
        "cpus": override.cpus,
        "description": override.description,
    }
    return replace(base, **{setting: value for setting, value in changes.items() if value is not None})


def _check_ports(servers: list[McpServerSpec], config: MeshConfig, services: list[DeployedService], orchestrator_port: int) -> None:
    low, high = config.port_ranges["mcp"]
    host_owners: dict[int, str] = {orchestrator_port: f"{ORCHESTRATOR} (mesh:mcpOrchestrator.hostPort)"}
    for service in services:
        for published in service.spec.published_ports:
            assert published.host is not None
            host_owners[published.host] = service.name
    # inside the orchestrator: the daemon's TLS port, each server's port and its probe's HTTP face
    inner_owners: dict[int, str] = {DOCKER_TLS_PORT: "the Docker TLS endpoint", 2375: "the plaintext Docker port"}
    for server in servers:
        configured = config.mcp_servers.get(server.name)
        host_field = "hostPort" if configured is not None and configured.host_port is not None else "port"
        if not low <= server.published_port <= high:
            raise ConfigError(
                _server_key(server.name, host_field),
                f"{server.published_port} is outside the mcp range {low}-{high} (mesh:portRanges.mcp)",
            )
        if server.published_port in host_owners:
            raise ConfigError(
                _server_key(server.name, host_field),
                f"host port {server.published_port} is used by both {server.service} and {host_owners[server.published_port]}",
            )
        host_owners[server.published_port] = server.service
        for port, role in ((server.port, "port"), (server.health_port, "health port (port + 100)")):
            if port in inner_owners:
                raise ConfigError(
                    _server_key(server.name, "port"),
                    f"{server.service}'s {role} {port} collides with {inner_owners[port]} in the orchestrator",
                )
            inner_owners[port] = f"{server.service}'s {role}"


def resolve_mcp(config: MeshConfig, services: list[DeployedService]) -> McpPlan:
    """The orchestrator settings and enabled MCP servers of this stack. Raises `ConfigError`."""
    settings = config.mcp_orchestrator
    low, high = config.port_ranges["orchestration"]
    if not low <= settings.host_port <= high:
        raise ConfigError(
            _key("mcpOrchestrator", "hostPort"),
            f"{settings.host_port} is outside the orchestration range {low}-{high} (mesh:portRanges.orchestration)",
        )
    for service in services:
        if any(port.host == settings.host_port for port in service.spec.published_ports):
            raise ConfigError(
                _key("mcpOrchestrator", "hostPort"), f"host port {settings.host_port} is used by both {ORCHESTRATOR} and {service.name}"
            )
    # the API is published on loopback only (see orchestrator.py), so the stack's own provider goes there
    docker_host = settings.docker_host or f"tcp://{DOCKER_API_BIND_ADDRESS}:{settings.host_port}"
    dns_names, ip_addresses = server_names(docker_host, config.bind_address)
    orchestrator = OrchestratorSettings(
        image=settings.image or ORCHESTRATOR_IMAGE,
        host_port=settings.host_port,
        docker_host=docker_host,
        memory_mb=settings.memory_mb,
        cpus=settings.cpus,
        san_dns_names=dns_names,
        san_ip_addresses=ip_addresses,
    )

    for name in config.mcp_servers:
        if not _NAME.match(name):
            raise ConfigError(_key("mcpServers", name), "an MCP server name is lowercase letters, digits and dashes")
    names = list(MCP_CATALOG) + sorted(set(config.mcp_servers) - set(MCP_CATALOG))
    servers = []
    for name in names:
        base = MCP_CATALOG.get(name)
        override = config.mcp_servers.get(name)
        server = base if override is None else _apply(name, base, override)
        if server is not None:
            servers.append(server)
    _check_ports(servers, config, services, orchestrator.host_port)
    return McpPlan(orchestrator=orchestrator, servers=tuple(servers))


def orchestrator_endpoint() -> Endpoint:
    """The orchestrator itself: a TCP check of its TLS port (a TLS handshake needs a client certificate)."""
    return Endpoint(
        service=ORCHESTRATOR,
        instance=ORCHESTRATOR,
        address=ORCHESTRATOR,
        port=DOCKER_TLS_PORT,
        check=Check("tcp", DOCKER_TLS_PORT),
        metrics=None,
        blackbox=True,
        category="orchestration",
        kind="orchestration",
    )


def mcp_endpoint(server: McpServerSpec) -> Endpoint:
    """An MCP server as the mesh reaches it: through the orchestrator's alias, on the port the orchestrator publishes."""
    return Endpoint(
        service=server.service,
        instance=server.service,
        address=ORCHESTRATOR,
        port=server.port,
        # the probe's HTTP face answers only after a real MCP initialize succeeded
        check=Check("http", server.health_port, "/health"),
        metrics=None,
        blackbox=True,
        category="mcp",
        kind="mcp",
        route_path=f"/mcp/{server.name}",
        service_path=server.mcp_path,
    )


def mcp_endpoints(plan: McpPlan) -> list[Endpoint]:
    return [orchestrator_endpoint()] + [mcp_endpoint(server) for server in plan.servers]


def mcp_urls(plan: McpPlan, config: MeshConfig) -> dict[str, str]:
    """Each MCP server's streamable HTTP URL on the host (the orchestrator publishes them on the bind address)."""
    return {server.service: client_url("http", config.bind_address, server.published_port, server.mcp_path) for server in plan.servers}
