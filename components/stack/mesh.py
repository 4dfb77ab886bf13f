"""`ServiceMesh`: the whole mesh on one Docker host, composed from the catalog.

Every enabled service becomes a `MeshService` on the mesh network under an alias equal to its
name; credentials and rendered files are wired in; access points and connection strings come out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.catalog.endpoint import Endpoint
from components.catalog.names import BACKEND, CONSUL, GRAFANA, KONG, POSTGRES, POSTGRES_EXPORTER
from components.plan.addresses import access_points, client_host, consul_api_address, grafana_url
from components.plan.mcp import mcp_urls
from components.plan.services import DeployedService
from components.plan.stack import StackPlan
from components.render.dashboards import mesh_dashboards
from components.render.datasources import mesh_datasources
from components.resources.credentials import MeshCredentials, MeshCredentialsArgs
from components.resources.database_roles import DatabaseRoles, DatabaseRolesArgs
from components.resources.discovery import ServiceDiscovery, ServiceDiscoveryArgs
from components.resources.grafana import GrafanaStack, GrafanaStackArgs
from components.resources.mcp_server import McpServer, McpServerArgs
from components.resources.network import MeshNetworks, MeshNetworksArgs
from components.resources.orchestrator import McpOrchestrator, McpOrchestratorArgs
from components.resources.service import MeshService, MeshServiceArgs
from components.wiring.base import Need, ServiceWiring, Wiring, WiringContext
from components.wiring.datastores import DATABASE_NAME, connection_strings
from components.wiring.gateway import gateway_access
from components.wiring.registry import WIRING

NO_WIRING = ServiceWiring(lambda context: Wiring())
"""A service that needs nothing beyond its catalog entry."""


ROLE_USERS = frozenset({BACKEND, POSTGRES_EXPORTER})
"""Services that log in to PostgreSQL with a role of DatabaseRoles."""


@dataclass(frozen=True)
class ServiceMeshArgs:
    plan: StackPlan
    """Everything this stack deploys, validated and computed once (`components.plan.stack.plan_stack`)."""


def deploy_waves(plan: StackPlan, wiring: Mapping[str, ServiceWiring]) -> tuple[list[DeployedService], list[DeployedService]]:
    """(before discovery, after discovery): a service whose wiring needs Consul's tokens, and whatever must
    start after it, is deployed once `ServiceDiscovery` exists. Without Consul, everything is in the first wave."""
    if plan.service(CONSUL) is None:
        return list(plan.services), []
    later = {service.name for service in plan.services if Need.DISCOVERY in wiring.get(service.name, NO_WIRING).needs}
    for service in plan.services:  # catalog order: what a service starts after comes before it
        if later.intersection(service.spec.starts_after):
            later.add(service.name)
    return [s for s in plan.services if s.name not in later], [s for s in plan.services if s.name in later]


TYPE_TOKEN = "service-mesh:mesh:ServiceMesh"
"""Part of the URN of every resource below it: changing it makes `pulumi up` replace them all."""


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
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        plan = args.plan
        config = plan.config
        child = pulumi.ResourceOptions(parent=self)
        docker_api = any(service.spec.docker_api == "proxy" for service in plan.services)
        self.networks = MeshNetworks(f"{name}-networks", MeshNetworksArgs(docker_api=docker_api), child)
        self.credentials = MeshCredentials(f"{name}-credentials", MeshCredentialsArgs(gateway_uis=tuple(config.gateway.ui)), child)

        # what discovery, the gateway and Prometheus find the services by
        self.endpoints = list(plan.endpoints)

        self.services = {}
        self.rendered_files = {}
        self._binds: dict[str, Mapping[int, str]] = {}
        self.discovery = None
        self.database_roles: DatabaseRoles | None = None
        before_discovery, after_discovery = deploy_waves(plan, WIRING)
        for service in before_discovery:
            self._deploy(service, plan)
        consul = plan.service(CONSUL)
        if consul is not None:
            consul_port = consul.spec.main_port.host
            assert consul_port is not None, "the catalog publishes Consul's API"
            scheme, address = consul_api_address(config.discovery, config.bind_address, consul_port)
            self.discovery = ServiceDiscovery(
                f"{name}-discovery",
                ServiceDiscoveryArgs(
                    endpoints=self.endpoints,
                    consul_container=self.services[CONSUL].containers[0],
                    management_token=self.credentials.consul_management_token,
                    api_scheme=scheme,
                    api_address=address,
                    datacenter=config.discovery.datacenter,
                ),
                child,
            )
        for service in after_discovery:
            self._deploy(service, plan)

        self.grafana = None
        grafana = plan.service(GRAFANA)
        if grafana is not None:
            host_port = grafana.spec.main_port.host
            assert host_port is not None, "the catalog publishes Grafana"
            dashboards = mesh_dashboards(self.endpoints)
            self.rendered_files.update({f"grafana/dashboards/{board.uid}.json": board.config_json for board in dashboards})
            self.grafana = GrafanaStack(
                f"{name}-grafana",
                GrafanaStackArgs(
                    url=grafana_url(config.telemetry, config.bind_address, host_port),
                    admin_password=self.credentials.grafana_admin_password,
                    grafana_containers=self.services[GRAFANA].containers,
                    datasources=mesh_datasources(self.services),
                    dashboards=dashboards,
                ),
                child,
            )

        self.orchestrator = McpOrchestrator(
            "mcp-orchestrator",
            McpOrchestratorArgs(plan.mcp.orchestrator, plan.mcp.servers, self.networks.mesh_name, config.bind_address),
            child,
        )
        self.mcp_servers: dict[str, McpServer] = {}
        for server in plan.mcp.servers:
            self.mcp_servers[server.service] = McpServer(
                server.service,
                McpServerArgs(server, plan.mcp_images[server.name], self.orchestrator.provider, self.orchestrator.mcp_network.name),
                child,
            )
        self.mcp_urls = mcp_urls(plan.mcp, config)

        self.access_points = access_points(plan.services, config.bind_address, self._binds)
        self.connection_strings = connection_strings(self.credentials, list(self.services))
        kong = plan.service(KONG)
        self.gateway = None if kong is None else gateway_access(self.credentials, config, kong)
        self.register_outputs({"access_points": self.access_points, "services": list(self.services)})

    def _context(self, service: DeployedService, plan: StackPlan, wiring: ServiceWiring) -> WiringContext:
        """The service's view of the stack: the plan, plus each need it declared, resolved (or an error)."""
        if Need.DISCOVERY in wiring.needs and plan.service(CONSUL) is not None and self.discovery is None:
            raise RuntimeError(f"{service.name} needs Consul's tokens but is deployed before ServiceDiscovery exists")
        return WiringContext(
            service=service.name,
            plan=plan,
            network_name=self.networks.mesh_name,
            parent=self,
            needs=wiring.needs,
            reads=wiring.reads,
            resolved_credentials=self.credentials if Need.CREDENTIALS in wiring.needs else None,
            resolved_discovery=self.discovery if Need.DISCOVERY in wiring.needs else None,
        )

    def _deploy(self, service: DeployedService, plan: StackPlan) -> None:
        service_wiring = WIRING.get(service.name, NO_WIRING)
        wiring = service_wiring.wire(self._context(service, plan, service_wiring))
        needed = [container for dependency in service.spec.starts_after for container in self.services[dependency].containers]
        self.rendered_files.update(wiring.rendered)
        self._binds[service.name] = wiring.port_bind_addresses
        # the socket proxy is on the Docker API network alone; its clients join that network too
        docker_api = self.networks.docker_api_name
        on_docker_api = [docker_api] if docker_api is not None and service.spec.docker_api == "client" else []
        self.services[service.name] = MeshService(
            service.name,
            MeshServiceArgs(
                service=service,
                network_name=docker_api if docker_api is not None and service.spec.docker_api == "proxy" else self.networks.mesh_name,
                extra_network_names=on_docker_api,
                bind_address=plan.config.bind_address,
                port_bind_addresses=wiring.port_bind_addresses,
                envs=wiring.envs,
                uploads=wiring.uploads,
                image=wiring.image,
                depends_on=needed + wiring.depends_on + self._roles_for(service.name),
                extra_hosts=wiring.extra_hosts,
                command=wiring.command,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        if service.name == POSTGRES:
            self._database_roles(service, plan)

    def _roles_for(self, service: str) -> list[pulumi.Resource]:
        """The backend and postgres-exporter log in with their own roles: they start once those exist."""
        return [self.database_roles] if self.database_roles is not None and service in ROLE_USERS else []

    def _database_roles(self, postgres: DeployedService, plan: StackPlan) -> None:
        host_port = postgres.spec.main_port.host
        assert host_port is not None, "the catalog publishes PostgreSQL"
        self.database_roles = DatabaseRoles(
            f"{self._name}-database-roles",
            DatabaseRolesArgs(
                host=client_host(plan.config.bind_address).strip("[]"),
                port=host_port,
                database=DATABASE_NAME,
                superuser=self.credentials.database_user,
                superuser_password=self.credentials.postgres_password,
                app_password=self.credentials.postgres_app_password,
                monitor_password=self.credentials.postgres_monitor_password,
                postgres_container=self.services[POSTGRES].containers[0],
            ),
            pulumi.ResourceOptions(parent=self),
        )
