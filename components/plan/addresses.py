"""Where a client on the Docker host reaches what the stack publishes: the one bind-address-to-URL rule.

A port bound to a wildcard address (`0.0.0.0`, `::`) is reached on loopback; an IPv6 address goes in
brackets in a URL (RFC 3986 section 3.2.2). Every URL the stack builds from a bind address (access points,
MCP servers, Kong's proxy, the Consul and Grafana providers) comes from `client_url`. Pure: no Pulumi.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from components.model.discovery import DiscoveryConfig
from components.model.telemetry import TelemetryConfig
from components.plan.services import DeployedService

WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::"})
"""Bind addresses that mean "every interface": no client connects to them."""
LOOPBACK = "127.0.0.1"

# URL scheme of a published port, by its catalog port name; any other port speaks HTTP
PORT_SCHEMES = {"postgres": "postgresql", "redis": "redis", "bolt": "bolt", "amqp": "amqp", "grpc": "grpc", "otlp-grpc": "grpc"}


def client_host(bind_address: str) -> str:
    """The host part of a URL that reaches a port bound to `bind_address`, from the host itself."""
    if bind_address in WILDCARD_ADDRESSES:
        return LOOPBACK
    if ipaddress.ip_address(bind_address).version == 6:
        return f"[{bind_address}]"
    return bind_address


def client_url(scheme: str, bind_address: str, port: int, path: str = "") -> str:
    """`scheme://host:port/path` for a port published on `bind_address`."""
    return f"{scheme}://{client_host(bind_address)}:{port}{path}"


def access_points(services: Sequence[DeployedService], bind_address: str, binds: Mapping[str, Mapping[int, str]]) -> dict[str, str]:
    """Service (or `service.port`) -> URL on the host, for every published port, at the address it really binds.

    `binds` holds the per-port exceptions to `bind_address` (Kong's admin API and proxy), by service and internal port.
    """
    points: dict[str, str] = {}
    for service in services:
        published = service.spec.published_ports
        for port in published:
            assert port.host is not None
            key = service.name if len(published) == 1 else f"{service.name}.{port.name}"
            address = binds.get(service.name, {}).get(port.internal, bind_address)
            points[key] = client_url(PORT_SCHEMES.get(port.name, "http"), address, port.host)
    return points


def consul_api_address(config: DiscoveryConfig, bind_address: str, consul_host_port: int) -> tuple[str, str]:
    """(scheme, host:port) of Consul's API for the provider: the configured URL, else the published port."""
    if config.address is not None:
        parts = urlsplit(config.address)
        return parts.scheme, parts.netloc
    return "http", f"{client_host(bind_address)}:{consul_host_port}"


def grafana_url(config: TelemetryConfig, bind_address: str, host_port: int) -> str:
    """The configured URL, else Grafana's published port on the bind address."""
    if config.grafana_url is not None:
        return config.grafana_url
    return client_url("http", bind_address, host_port)
