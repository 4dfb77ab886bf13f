"""The stack plan: config x catalog -> everything this stack deploys, computed once before any resource exists.

`plan_stack` runs every check that can fail on the user's config (each a one-line `ConfigError` naming
the key), so the composition root only registers what the plan says. Pure: no Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from components.catalog.endpoint import Endpoint
from components.model.mesh import MeshConfig
from components.plan.endpoints import service_endpoints
from components.plan.gateway import GatewayPlan, plan_gateway
from components.plan.host import check_cpus_fit
from components.plan.mcp import McpPlan, mcp_endpoints, resolve_mcp
from components.plan.mcp_images import McpImageBuild, plan_image_builds
from components.plan.services import DeployedService, resolve_services
from components.plan.swarm import SwarmPlan, plan_swarm, swarm_endpoints


@dataclass(frozen=True)
class StackPlan:
    config: MeshConfig
    """The validated stack config."""
    services: tuple[DeployedService, ...]
    """The enabled host services, in catalog order."""
    mcp: McpPlan
    """The DinD orchestrator and its MCP servers."""
    endpoints: tuple[Endpoint, ...]
    """Every instance discovery registers, the gateway routes and Prometheus scrapes: host services, then MCP."""
    gateway: GatewayPlan
    """What Kong routes and how it balances and breaks circuits (rendered only when Kong is deployed)."""
    mcp_images: Mapping[str, McpImageBuild]
    """Each MCP server's image build from its committed lockfile, by server name."""
    swarm: SwarmPlan | None = None
    """How each service runs on a swarm (`mesh:platform: swarm`); None on the docker platform."""

    def service(self, name: str) -> DeployedService | None:
        """The deployed service of that name; None when this stack does not deploy it."""
        return next((service for service in self.services if service.name == name), None)

    @property
    def service_names(self) -> tuple[str, ...]:
        return tuple(service.name for service in self.services)


def plan_stack(config: MeshConfig, host_cpus: int | None = None) -> StackPlan:
    """The whole plan of this stack. Raises `ConfigError`; registers nothing.

    `host_cpus`: the Docker host's CPU count, when `pulumi up` runs on it (limits above it are refused).
    """
    services = resolve_services(config)
    mcp = resolve_mcp(config, services)
    check_cpus_fit(services, mcp, host_cpus)
    swarm = plan_swarm(config, services) if config.platform == "swarm" else None
    # on a swarm a service name resolves to every task (dnsrr): one endpoint per service, Kong balances over the tasks
    service_instances = swarm_endpoints(services) if swarm is not None else service_endpoints(services)
    # the gateway routes what the mesh will register: host services and MCP servers alike
    endpoints = tuple(service_instances + mcp_endpoints(mcp))
    gateway = plan_gateway(config, list(endpoints))
    # each MCP server's image is built from its committed lockfile: a missing or stale one stops here
    mcp_images = plan_image_builds(mcp.servers)
    return StackPlan(
        config=config, services=tuple(services), mcp=mcp, endpoints=endpoints, gateway=gateway, mcp_images=mcp_images, swarm=swarm
    )
