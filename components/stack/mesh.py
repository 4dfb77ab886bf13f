"""`ServiceMesh`: the whole mesh on one Docker host, composed from the catalog.

Every enabled service becomes a `MeshService` on the mesh network under an alias equal to its
name; credentials and rendered files are wired in; access points and connection strings come out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pulumi

from components.catalog.endpoint import Endpoint
from components.model.discovery import consul_api_address
from components.model.mesh import MeshConfig
from components.model.telemetry import grafana_url
from components.plan.endpoints import service_endpoints
from components.plan.mcp import McpPlan, mcp_endpoints, mcp_urls
from components.plan.services import DeployedService
from components.render.dashboards import mesh_dashboards
from components.render.datasources import mesh_datasources
from components.resources.credentials import MeshCredentials, MeshCredentialsArgs
from components.resources.discovery import ServiceDiscovery, ServiceDiscoveryArgs
from components.resources.grafana import GrafanaStack, GrafanaStackArgs
from components.resources.mcp_server import McpServer, McpServerArgs
from components.resources.network import MeshNetworks, MeshNetworksArgs
from components.resources.orchestrator import McpOrchestrator, McpOrchestratorArgs
from components.resources.service import MeshService, MeshServiceArgs
from components.wiring.backend import backend
from components.wiring.datastores import DATASTORE_WIRING, Wiring, WiringContext, connection_strings
from components.wiring.discovery import DISCOVERY_WIRING, NEEDS_DISCOVERY
from components.wiring.gateway import GATEWAY_WIRING, gateway_access
from components.wiring.monitoring import MONITORING_WIRING
from components.wiring.telemetry import TELEMETRY_WIRING

# each service's wiring beyond its catalog entry: credentials, rendered files, images built here
WIRING: Mapping[str, Callable[[WiringContext], Wiring]] = {
    **DATASTORE_WIRING,
    **DISCOVERY_WIRING,
    **GATEWAY_WIRING,
    **TELEMETRY_WIRING,
    **MONITORING_WIRING,
    "backend": backend,
}
_SCHEMES = {"postgres": "postgresql", "redis": "redis", "bolt": "bolt", "amqp": "amqp", "grpc": "grpc", "otlp-grpc": "grpc"}


@dataclass(frozen=True)
class ServiceMeshArgs:
    config: MeshConfig
    """The validated stack config."""
    services: list[DeployedService]
    """The enabled services, resolved from the catalog (see `topology.resolve_services`)."""
    mcp: McpPlan | None = None
    """The DinD orchestrator and its MCP servers (see `mcp_topology.resolve_mcp`); None: no orchestrator."""


def access_points(services: list[DeployedService], config: MeshConfig, binds: Mapping[str, Mapping[int, str]]) -> dict[str, str]:
    """Service (or `service.port`) -> URL on the host, for every published port, at the address it really binds."""
    points: dict[str, str] = {}
    for service in services:
        published = service.spec.published_ports
        for port in published:
            key = service.name if len(published) == 1 else f"{service.name}.{port.name}"
            address = binds.get(service.name, {}).get(port.internal, config.bind_address)
            # a wildcard bind is reached through loopback from the host itself
            host = "127.0.0.1" if address in ("0.0.0.0", "::") else f"[{address}]" if ":" in address else address
            points[key] = f"{_SCHEMES.get(port.name, 'http')}://{host}:{port.host}"
    return points


class ServiceMesh(pulumi.ComponentResource):
    services: dict[str, MeshService]
    rendered_files: dict[str, pulumi.Input[str]]
    access_points: dict[str, str]
    connection_strings: dict[str, pulumi.Output[str]]
    endpoints: list[Endpoint]
    grafana: GrafanaStack | None
    gateway: dict[str, pulumi.Input[str]] | None
    """How clients call through Kong (proxy URL, JWT issuer and secret, API key as secrets); None without Kong."""
    discovery: ServiceDiscovery | None

    def __init__(self, name: str, args: ServiceMeshArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("service-mesh:mesh:ServiceMesh", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.networks = MeshNetworks(f"{name}-networks", MeshNetworksArgs(), child)
        self.credentials = MeshCredentials(f"{name}-credentials", MeshCredentialsArgs(gateway_uis=tuple(args.config.gateway.ui)), child)

        # what discovery, the gateway and Prometheus find the services by
        self.endpoints = service_endpoints(args.services) + (mcp_endpoints(args.mcp) if args.mcp else [])
        context = WiringContext(
            config=args.config,
            services=args.services,
            endpoints=self.endpoints,
            credentials=self.credentials,
            network_name=self.networks.mesh_name,
            parent=self,
        )

        self.services = {}
        self.rendered_files = {}
        self._binds: dict[str, Mapping[int, str]] = {}
        self.discovery = None
        # services reading a discovery token (and what depends on them) start once discovery exists
        later = {service.name for service in args.services if service.name in NEEDS_DISCOVERY}
        for service in args.services:
            if later.intersection(service.spec.starts_after):
                later.add(service.name)
        for service in args.services:
            if service.name not in later:
                self._deploy(service, args.config, context)
        if "consul" in self.services:
            consul_port = next(service for service in args.services if service.name == "consul").spec.ports[0].host
            scheme, address = consul_api_address(args.config.discovery, args.config.bind_address, consul_port or 0)
            self.discovery = ServiceDiscovery(
                f"{name}-discovery",
                ServiceDiscoveryArgs(
                    endpoints=self.endpoints,
                    consul_container=self.services["consul"].containers[0],
                    management_token=self.credentials.consul_management_token,
                    api_scheme=scheme,
                    api_address=address,
                    datacenter=args.config.discovery.datacenter,
                ),
                child,
            )
            context.discovery = self.discovery
        for service in args.services:
            if service.name in later:
                self._deploy(service, args.config, context)

        self.grafana = None
        if "grafana" in self.services:
            grafana_spec = next(service.spec for service in args.services if service.name == "grafana")
            host_port = grafana_spec.published_ports[0].host
            assert host_port is not None
            dashboards = mesh_dashboards(self.endpoints)
            self.rendered_files.update({f"grafana/dashboards/{board.uid}.json": board.config_json for board in dashboards})
            self.grafana = GrafanaStack(
                f"{name}-grafana",
                GrafanaStackArgs(
                    url=grafana_url(args.config.telemetry, args.config.bind_address, host_port),
                    admin_password=self.credentials.grafana_admin_password,
                    grafana_containers=self.services["grafana"].containers,
                    datasources=mesh_datasources(self.services),
                    dashboards=dashboards,
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

        self.access_points = access_points(args.services, args.config, self._binds)
        self.connection_strings = connection_strings(self.credentials, list(self.services))
        kong = next((service for service in args.services if service.name == "kong"), None)
        self.gateway = None if kong is None else gateway_access(self.credentials, args.config, kong)
        self.register_outputs({"access_points": self.access_points, "services": list(self.services)})

    def _deploy(self, service: DeployedService, config: MeshConfig, context: WiringContext) -> None:
        wiring = WIRING[service.name](context) if service.name in WIRING else Wiring()
        needed = [container for dependency in service.spec.starts_after for container in self.services[dependency].containers]
        self.rendered_files.update(wiring.rendered)
        self._binds[service.name] = wiring.port_bind_addresses
        self.services[service.name] = MeshService(
            service.name,
            MeshServiceArgs(
                service=service,
                network_name=self.networks.mesh_name,
                bind_address=config.bind_address,
                port_bind_addresses=wiring.port_bind_addresses,
                envs=wiring.envs,
                uploads=wiring.uploads,
                image=wiring.image,
                depends_on=needed + wiring.depends_on,
                extra_hosts=wiring.extra_hosts,
                command=wiring.command,
            ),
            pulumi.ResourceOptions(parent=self),
        )
