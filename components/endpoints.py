"""Endpoints: every reachable instance of a service on the mesh network, by DNS name and port.

This is the hand-off from the catalog to everything that finds services: Consul registrations,
Kong upstream targets and Prometheus scrape/probe targets are all derived from `Endpoint`s.
Pure: no Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.catalog import Check, Metrics
from components.topology import DeployedService


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


def service_endpoints(services: list[DeployedService]) -> list[Endpoint]:
    """One endpoint per replica of every deployed host-level service."""
    endpoints = []
    for service in services:
        spec = service.spec
        for replica, instance in enumerate(service.instance_names(), start=1):
            endpoints.append(
                Endpoint(
                    service=spec.name,
                    instance=instance,
                    # every replica carries the alias `<name>-<n>`; `<name>` alone is shared by all of them
                    address=f"{spec.name}-{replica}" if service.replicas > 1 else spec.name,
                    port=spec.ports[0].internal,
                    check=spec.check,
                    metrics=spec.metrics,
                    blackbox=spec.blackbox,
                    category=spec.category,
                    kind=spec.kind,
                )
            )
    return endpoints
