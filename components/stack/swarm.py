"""`SwarmMesh`: the whole mesh as services of a Docker Swarm, composed from the catalog like `ServiceMesh`.

Every enabled service becomes a `SwarmService` on an attachable overlay under its own name (`dnsrr`); the
wiring is the docker platform's except Consul's (a cluster of servers); the DinD orchestrator stays a plain
privileged container (swarm services cannot be privileged) on the node `mesh:swarm.orchestratorHost` names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.catalog.endpoint import Endpoint
from components.model.discovery import consul_api_address
from components.model.mesh import MeshConfig
from components.model.telemetry import grafana_url
from components.plan.mcp import McpPlan, mcp_endpoints, mcp_urls
from components.plan.services import DeployedService
from components.plan.swarm import SwarmPlan, swarm_endpoints
from components.render.dashboards import mesh_dashboards
from components.render.datasources import mesh_datasources
from components.resources.credentials import MeshCredentials, MeshCredentialsArgs
from components.resources.discovery import ServiceDiscovery, ServiceDiscoveryArgs
from components.resources.grafana import GrafanaStack, GrafanaStackArgs
from components.resources.mcp_server import McpServer, McpServerArgs
from components.resources.network import MESH_NETWORK
from components.resources.orchestrator import McpOrchestrator, McpOrchestratorArgs
from components.resources.swarm_service import SwarmService, SwarmServiceArgs
from components.stack.mesh import WIRING
from components.wiring.datastores import Wiring, WiringContext, connection_strings
from components.wiring.discovery import NEEDS_DISCOVERY
from components.wiring.gateway import gateway_access
from components.wiring.swarm import swarm_consul

CONSUL = "consul"


@dataclass(frozen=True)
class SwarmMeshArgs:
    config: MeshConfig
    services: list[DeployedService]
    swarm: SwarmPlan
    mcp: McpPlan | None = None


class SwarmMesh(pulumi.ComponentResource):
    services: dict[str, SwarmService]
    rendered_files: dict[str, pulumi.Input[str]]
    access_points: dict[str, str]
    connection_strings: dict[str, pulumi.Output[str]]
    endpoints: list[Endpoint]
    grafana: GrafanaStack | None
    gateway: dict[str, pulumi.Input[str]] | None
    discovery: ServiceDiscovery | None

    def __init__(self, name: str, args: SwarmMeshArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("service-mesh:swarm:SwarmMesh", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config, swarm = args.config, args.swarm
        self.network = docker.Network(
            f"{name}-overlay",
            name=MESH_NETWORK,
            driver="overlay",
            # the DinD orchestrator, a plain container, joins it too
            attachable=True,
            options={"encrypted": ""} if swarm.encrypted else None,
            ipam_configs=[docker.NetworkIpamConfigArgs(subnet=swarm.subnet)],
            labels=[docker.NetworkLabelArgs(label="mesh.network", value="mesh")],
            opts=child,
        )
        self.credentials = MeshCredentials(f"{name}-credentials", MeshCredentialsArgs(), child)
        self.endpoints = swarm_endpoints(args.services) + (mcp_endpoints(args.mcp) if args.mcp else [])
        context = WiringContext(
            config=config,
            services=args.services,
            endpoints=self.endpoints,
            credentials=self.credentials,
            network_name=self.network.name,
            parent=self,
        )

        self.services = {}
        self.rendered_files = {}
        self.discovery = None
        later = {service.name for service in args.services if service.name in NEEDS_DISCOVERY}
        for service in args.services:
            if later.intersection(service.spec.starts_after):
                later.add(service.name)
        for service in args.services:
            if service.name not in later:
                self._deploy(service, context, swarm)
        if CONSUL in self.services:
            consul_port = next(service for service in args.services if service.name == CONSUL).spec.ports[0].host
            scheme, address = consul_api_address(config.discovery, config.bind_address, consul_port or 0)
            self.discovery = ServiceDiscovery(
                f"{name}-discovery",
                ServiceDiscoveryArgs(
                    endpoints=self.endpoints,
                    # converge_config holds the service until its tasks run healthy (a leader is elected)
                    consul_container=self.services[CONSUL].service,
                    management_token=self.credentials.consul_management_token,
                    api_scheme=scheme,
                    api_address=address,
                    datacenter=config.discovery.datacenter,
                ),
                child,
            )
            context.discovery = self.discovery
        for service in args.services:
            if service.name in later:
                self._deploy(service, context, swarm)

        self.grafana = None
        if "grafana" in self.services:
            host_port = next(service.spec for service in args.services if service.name == "grafana").published_ports[0].host
            assert host_port is not None
            dashboards = mesh_dashboards(self.endpoints)
            self.rendered_files.update({f"grafana/dashboards/{board.uid}.json": board.config_json for board in dashboards})
            self.grafana = GrafanaStack(
                f"{name}-grafana",
                GrafanaStackArgs(
                    url=grafana_url(config.telemetry, config.bind_address, host_port),
                    admin_password=self.credentials.grafana_admin_password,
                    grafana_containers=[self.services["grafana"].service],
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
                McpOrchestratorArgs(args.mcp.orchestrator, args.mcp.servers, self.network.name, config.bind_address),
                pulumi.ResourceOptions(parent=self, providers=self._orchestrator_providers(name, config)),
            )
            for server in args.mcp.servers:
                self.mcp_servers[server.service] = McpServer(
                    server.service, McpServerArgs(server, self.orchestrator.provider, self.orchestrator.mcp_network.name), child
                )
            self.mcp_urls = mcp_urls(args.mcp, config)

        # host-mode ports answer on the node that runs the task (every interface): loopback there, the node's address elsewhere
        self.access_points = {
            (plan.name if len(plan.ports) == 1 else f"{plan.name}.{port.name}"): f"http://127.0.0.1:{port.published}"
            for plan in swarm.services
            for port in plan.ports
        }
        self.connection_strings = connection_strings(self.credentials, list(self.services))
        kong = next((service for service in args.services if service.name == "kong"), None)
        self.gateway = None if kong is None else gateway_access(self.credentials, config, kong)
        self.register_outputs({"access_points": self.access_points, "services": list(self.services)})

    def _orchestrator_providers(self, name: str, config: MeshConfig) -> Mapping[str, pulumi.ProviderResource]:
        """A provider for the node that runs the orchestrator; none: the daemon `pulumi up` talks to."""
        host = config.swarm.orchestrator_host
        if host is None:
            return {}
        node = docker.Provider(
            f"{name}-orchestrator-node",
            host=host,
            cert_path=config.swarm.orchestrator_cert_path,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return {"docker": node}

    def _deploy(self, service: DeployedService, context: WiringContext, swarm: SwarmPlan) -> None:
        if service.name == CONSUL:
            wiring = swarm_consul(context, swarm)
        else:
            wiring = WIRING[service.name](context) if service.name in WIRING else Wiring()
        needed = [self.services[dependency].service for dependency in service.spec.starts_after]
        self.rendered_files.update(wiring.rendered)
        self.services[service.name] = SwarmService(
            service.name,
            SwarmServiceArgs(
                plan=swarm.service(service.name),
                network_id=self.network.id,
                envs=wiring.envs,
                uploads=wiring.uploads,
                image=wiring.image,
                command=wiring.command,
                extra_hosts=wiring.extra_hosts,
                depends_on=needed + wiring.depends_on,
            ),
            pulumi.ResourceOptions(parent=self),
        )
