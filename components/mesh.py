"""`ServiceMesh`: the whole mesh on one Docker host, composed from the catalog.

Every enabled service becomes a `MeshService` on the mesh network under an alias equal to its
name; credentials and rendered files are wired in; access points and connection strings come out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.config import MeshConfig
from components.credentials import MeshCredentials, MeshCredentialsArgs
from components.datastores import DATASTORE_WIRING, Wiring, WiringContext, connection_strings
from components.endpoints import Endpoint, service_endpoints
from components.mcp_server import McpServer, McpServerArgs
from components.mcp_topology import McpPlan, mcp_endpoints, mcp_urls
from components.network import MeshNetworks, MeshNetworksArgs
from components.orchestrator import McpOrchestrator, McpOrchestratorArgs
from components.service import MeshService, MeshServiceArgs
from components.topology import DeployedService

_SCHEMES = {"postgres": "postgresql", "redis": "redis", "bolt": "bolt", "amqp": "amqp", "grpc": "grpc", "otlp-grpc": "grpc"}


@dataclass(frozen=True)
class ServiceMeshArgs:
    config: MeshConfig
    """The validated stack config."""
    services: list[DeployedService]
    """The enabled services, resolved from the catalog (see `topology.resolve_services`)."""
    mcp: McpPlan | None = None
    """The DinD orchestrator and its MCP servers (see `mcp_topology.resolve_mcp`); None: no orchestrator."""


def access_points(services: list[DeployedService], config: MeshConfig) -> dict[str, str]:
    """Service (or `service.port`) -> URL on the host, for every published port."""
    points: dict[str, str] = {}
    for service in services:
        published = service.spec.published_ports
        for port in published:
            key = service.name if len(published) == 1 else f"{service.name}.{port.name}"
            host = config.bind_address
            points[key] = f"{_SCHEMES.get(port.name, 'http')}://{host}:{port.host}"
    return points


class ServiceMesh(pulumi.ComponentResource):
    services: dict[str, MeshService]
    rendered_files: dict[str, pulumi.Input[str]]
    access_points: dict[str, str]
    connection_strings: dict[str, pulumi.Output[str]]
    endpoints: list[Endpoint]

    def __init__(self, name: str, args: ServiceMeshArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("service-mesh:mesh:ServiceMesh", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.networks = MeshNetworks(f"{name}-networks", MeshNetworksArgs(), child)
        self.credentials = MeshCredentials(f"{name}-credentials", MeshCredentialsArgs(), child)

        # what discovery, the gateway and Prometheus find the services by
        self.endpoints = service_endpoints(args.services) + (mcp_endpoints(args.mcp) if args.mcp else [])
        context = WiringContext(
            config=args.config,
            services=args.services,
            endpoints=self.endpoints,
            credentials=self.credentials,
            network_name=self.networks.mesh_name,
        )

        self.services = {}
        self.rendered_files = {}
        for service in args.services:
            wiring = DATASTORE_WIRING.get(service.name, lambda _: Wiring())(context)
            needed = [container for dependency in service.spec.depends_on for container in self.services[dependency].containers]
            self.rendered_files.update(wiring.rendered)
            self.services[service.name] = MeshService(
                service.name,
                MeshServiceArgs(
                    service=service,
                    network_name=self.networks.mesh_name,
                    bind_address=args.config.bind_address,
                    port_bind_addresses=wiring.port_bind_addresses,
                    envs=wiring.envs,
                    uploads=wiring.uploads,
                    image=wiring.image,
                    depends_on=needed + wiring.depends_on,
                ),
                child,
            )

        self.mcp_servers: dict[str, McpServer] = {}
        self.mcp_urls: dict[str, str] = {}
        self.orchestrator: McpOrchestrator | None = None
        if args.mcp is not None:
            self.orchestrator = McpOrchestrator(
                "mcp-orchestrator",
                McpOrchestratorArgs(args.mcp.orchestrator, args.mcp.servers, self.networks.mesh_name, args.config.bind_address),
                child,
            )
            for server in args.mcp.servers:
                self.mcp_servers[server.service] = McpServer(
                    server.service, McpServerArgs(server, self.orchestrator.provider, self.orchestrator.mcp_network.name), child
                )
            self.mcp_urls = mcp_urls(args.mcp, args.config)

        self.access_points = access_points(args.services, args.config)
        self.connection_strings = connection_strings(self.credentials, list(self.services))
        self.register_outputs({"access_points": self.access_points, "services": list(self.services)})
