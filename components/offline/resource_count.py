"""How many resources a stack registers, derived from its plan (the catalog with the config applied).

`make bench` scales the default stack by this count, and `tests/test_bench.py` checks it against real
synthesis for several stacks, so adding a catalog service changes the count here without a literal to bump.
"""

from __future__ import annotations

from components.catalog.names import BACKEND, CONSUL, GRAFANA, POSTGRES
from components.plan.stack import StackPlan
from components.render.dashboards import mesh_dashboards
from components.render.datasources import mesh_datasources

# the mesh component; the networks component and its network; the credentials component with its ten
# passwords (one more per UI published through the gateway), RabbitMQ's salt and Consul's management token
MESH_FIXED = 1 + 2 + 1 + 10 + 1 + 1
# ServiceDiscovery: the component, its provider, the external node, four ACL policies and four tokens
# (consul-esm, Prometheus, consul-exporter, the backend); plus one registration per endpoint
DISCOVERY_FIXED = 1 + 1 + 1 + 4 + 4
# DatabaseRoles (with PostgreSQL): the component, its provider, two roles and three grants
DATABASE_ROLES = 1 + 1 + 2 + 3
# GrafanaStack: the component, its provider and the folder; plus one resource per data source and dashboard
GRAFANA_FIXED = 3
# McpOrchestrator: the component, container, image, state volume, MCP network and nested provider; TLS: three
# keys, the CA certificate, two requests and two signed certificates
ORCHESTRATOR = 6 + 8


def mcp_server_resources(data_path: str | None) -> int:
    """One MCP server: its component, container and image, and a volume when it keeps state (its Consul
    registration is counted with the endpoints)."""
    return 3 + (1 if data_path else 0)


def expected_resources(plan: StackPlan) -> int:
    count = MESH_FIXED + ORCHESTRATOR + len(plan.config.gateway.ui)
    if any(service.spec.docker_api == "proxy" for service in plan.services):
        count += 1  # the internal Docker API network
    if plan.service(POSTGRES) is not None:
        count += DATABASE_ROLES
    for service in plan.services:
        override = plan.config.services.get(service.name)
        built = service.name == BACKEND and (override is None or override.image is None)
        # a MeshService with a container per replica, its image (the backend's is built: a component and an Image)
        count += 1 + service.replicas + (2 if built else 1) + len(service.spec.volumes)
    count += sum(mcp_server_resources(server.data_path) for server in plan.mcp.servers)
    if plan.service(CONSUL) is not None:
        count += DISCOVERY_FIXED + len(plan.endpoints)
    if plan.service(GRAFANA) is not None:
        count += GRAFANA_FIXED + len(mesh_datasources(plan.service_names)) + len(mesh_dashboards(plan.endpoints))
    return count
