"""`Endpoint`: one reachable instance of a service on the mesh network, by DNS name and port.

The hand-off type from the catalog to everything that finds services: Consul registrations, Kong upstream
targets and Prometheus scrape/probe targets are all derived from `Endpoint`s (built in `components.plan.endpoints`).
Pure: no Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.catalog.services import Check, Metrics


@dataclass(frozen=True)
class Endpoint:
    service: str
    """The service name (Consul service name, Kong upstream name)."""
    instance: str
    """Unique per replica: the service name for the first, `<name>-<n>` for the others."""
    address: str
    """DNS name on the mesh network that reaches exactly this instance."""
    port: int
    """The instance's main port on the mesh network."""
    check: Check | None
    """How to check it from the mesh network (host = `address`)."""
    metrics: Metrics | None
    blackbox: bool
    category: str
    kind: str
    route_path: str | None = None
    """Where the gateway publishes it, when its own entry says so (`/mcp/<name>` for MCP servers)."""
    service_path: str = "/"
    """The path on the instance that the gateway forwards that route to."""
