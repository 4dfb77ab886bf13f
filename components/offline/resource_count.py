"""How many resources a stack registers, derived from its plan (the catalog with the config applied).

`make bench` scales the default stack by this count, and `tests/test_bench.py` checks it against real
synthesis for several stacks, so adding a catalog service changes the count here without a literal to bump.
"""

from __future__ import annotations

from components.catalog.names import BACKEND, CONSUL, GRAFANA
from components.plan.stack import StackPlan
from components.render.dashboards import mesh_dashboards
from components.render.datasources import mesh_datasources

# the mesh component; the networks component and its network; the credentials component with its seven
# passwords, RabbitMQ's salt and Consul's management token
MESH_FIXED = 1 + 2 + 1 + 7 + 1 + 1
# ServiceDiscovery: the component, its provider, the external node, three ACL policies and three tokens
# (consul-esm, Prometheus, the backend); plus one registration per endpoint
DISCOVERY_FIXED = 1 + 1 + 1 + 3 + 3
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
    count = MESH_FIXED + ORCHESTRATOR
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
