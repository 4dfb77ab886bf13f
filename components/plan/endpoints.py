"""Endpoints: every reachable instance of a service on the mesh network, by DNS name and port.

The `Endpoint` type itself is the catalog's hand-off type (`components.catalog.endpoint`).
Pure: no Pulumi.
"""

from __future__ import annotations

from components.catalog.endpoint import Endpoint
from components.plan.services import DeployedService


def service_endpoints(services: list[DeployedService]) -> list[Endpoint]:
    """One endpoint per replica of every deployed host-level service on the mesh network."""
    endpoints = []
    for service in services:
        spec = service.spec
        if spec.docker_api == "proxy":
            continue  # on its own internal network: nothing on the mesh may reach it
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
