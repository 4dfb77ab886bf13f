"""Limits against the Docker host: a CPU limit above the host's CPU count makes Docker refuse the container.

Preview passes and `pulumi up` fails half-way (`Range of CPUs is from 0.01 to N.00, as there are only N CPUs
available`, moby daemon/daemon_unix.go verifyPlatformContainerResources). When `pulumi up` runs on the Docker
host itself, the program knows N and stops before registering anything. This module imports no Pulumi.
"""

from __future__ import annotations

from collections.abc import Iterator

from components.catalog.mcp_servers import ORCHESTRATOR
from components.model.base import ConfigError
from components.model.mesh import CONFIG_NAMESPACE
from components.plan.mcp import McpPlan
from components.plan.services import DeployedService


def _limits(services: list[DeployedService], mcp: McpPlan) -> Iterator[tuple[str, str, float]]:
    """(config key, container, CPU limit) of every container with a limit."""
    for service in services:
        if service.spec.cpus is not None:
            yield f"{CONFIG_NAMESPACE}:services.{service.name}.cpus", service.name, service.spec.cpus
    if mcp.orchestrator.cpus is not None:
        yield f"{CONFIG_NAMESPACE}:mcpOrchestrator.cpus", ORCHESTRATOR, mcp.orchestrator.cpus
    # the inner daemon shares the host's kernel, so it refuses the same limits
    for server in mcp.servers:
        yield f"{CONFIG_NAMESPACE}:mcpServers.{server.name}.cpus", server.service, server.cpus


def check_cpus_fit(services: list[DeployedService], mcp: McpPlan, host_cpus: int | None) -> None:
    """Raise `ConfigError` for the first CPU limit above `host_cpus` (None: the Docker host is not this machine)."""
    if host_cpus is None:
        return
    for key, container, cpus in _limits(services, mcp):
        if cpus > host_cpus:
            raise ConfigError(
                key,
                f"{container} is limited to {cpus:g} CPUs but the Docker host has {host_cpus}; Docker would refuse to start it "
                f"(set at most {host_cpus})",
            )
