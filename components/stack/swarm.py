"""`SwarmMesh`: the whole mesh as services of a Docker Swarm, composed from the same plan as `ServiceMesh`.

Every enabled service becomes a `SwarmService` on an attachable overlay under its own name (`dnsrr`); the wiring
is the docker platform's (Consul's renders a cluster when the plan is a swarm's); the DinD orchestrator stays a
plain privileged container (swarm services cannot be privileged) on the node `mesh:swarm.orchestratorHost`
names, through a Docker provider for that node.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.catalog.endpoint import Endpoint
from components.catalog.names import CONSUL, GRAFANA, KONG
from components.model.mesh import MeshConfig
from components.plan.addresses import consul_api_address, grafana_url
from components.plan.mcp import mcp_urls
from components.plan.services import DeployedService
from components.plan.stack import StackPlan
from components.plan.swarm import SwarmPlan
from components.render.dashboards import mesh_dashboards
from components.render.datasources import mesh_datasources
from components.resources.credentials import MeshCredentials, MeshCredentialsArgs
from components.resources.discovery import ServiceDiscovery, ServiceDiscoveryArgs
from components.resources.grafana import GrafanaStack, GrafanaStackArgs
from components.resources.mcp_server import McpServer, McpServerArgs
from components.resources.network import MESH_NETWORK
from components.resources.orchestrator import McpOrchestrator, McpOrchestratorArgs
from components.resources.swarm_service import SwarmService, SwarmServiceArgs
from components.stack.mesh import NO_WIRING, deploy_waves
from components.wiring.base import Need, ServiceWiring, WiringContext
from components.wiring.datastores import connection_strings
from components.wiring.gateway import gateway_access
from components.wiring.registry import WIRING

TYPE_TOKEN = "service-mesh:swarm:SwarmMesh"
"""Part of the URN of every resource below it: changing it makes `pulumi up` replace them all."""


@dataclass(frozen=True)
class SwarmMeshArgs:
    plan: StackPlan
    """The stack plan; its `swarm` part says how each service runs on the swarm."""


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
        super().__init__(TYPE_TOKEN, name, None, opts)
        plan = args.plan
        assert plan.swarm is not None, "SwarmMesh composes a swarm plan"
        swarm: SwarmPlan = plan.swarm
        config = plan.config
        child = pulumi.ResourceOptions(parent=self)
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
        self.endpoints = list(plan.endpoints)

        self.services = {}
        self.rendered_files = {}
        self.discovery = None
        before_discovery, after_discovery = deploy_waves(plan, WIRING)
        for service in before_discovery:
            self._deploy(service, plan, swarm)
        consul = plan.service(CONSUL)
        if consul is not None:
            consul_port = consul.spec.main_port.host
            assert consul_port is not None, "the catalog publishes Consul's API"
            scheme, address = consul_api_address(config.discovery, config.bind_address, consul_port)
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
        for service in after_discovery:
            self._deploy(service, plan, swarm)

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
                    grafana_containers=[self.services[GRAFANA].service],
                    datasources=mesh_datasources(self.services),
                    dashboards=dashboards,
                ),
                child,
            )

        self.orchestrator = McpOrchestrator(
            "mcp-orchestrator",
            McpOrchestratorArgs(plan.mcp.orchestrator, plan.mcp.servers, self.network.name, config.bind_address),
            pulumi.ResourceOptions(parent=self, providers=self._orchestrator_providers(name, config)),
        )
        self.mcp_servers: dict[str, McpServer] = {}
        for server in plan.mcp.servers:
            self.mcp_servers[server.service] = McpServer(
                server.service,
                McpServerArgs(server, plan.mcp_images[server.name], self.orchestrator.provider, self.orchestrator.mcp_network.name),
                child,
            )
        self.mcp_urls = mcp_urls(plan.mcp, config)

        # host-mode ports answer on the node that runs the task (every interface): loopback there, the node's address elsewhere
        self.access_points = {
            (service.name if len(service.ports) == 1 else f"{service.name}.{port.name}"): f"http://127.0.0.1:{port.published}"
            for service in swarm.services
            for port in service.ports
        }
        self.connection_strings = connection_strings(self.credentials, list(self.services))
        kong = plan.service(KONG)
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

    def _deploy(self, service: DeployedService, plan: StackPlan, swarm: SwarmPlan) -> None:
        service_wiring: ServiceWiring = WIRING.get(service.name, NO_WIRING)
        if Need.DISCOVERY in service_wiring.needs and plan.service(CONSUL) is not None and self.discovery is None:
            raise RuntimeError(f"{service.name} needs Consul's tokens but is deployed before ServiceDiscovery exists")
        context = WiringContext(
            service=service.name,
            plan=plan,
            network_name=self.network.name,
            parent=self,
            needs=service_wiring.needs,
            reads=service_wiring.reads,
            resolved_credentials=self.credentials if Need.CREDENTIALS in service_wiring.needs else None,
            resolved_discovery=self.discovery if Need.DISCOVERY in service_wiring.needs else None,
        )
        wiring = service_wiring.wire(context)
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
