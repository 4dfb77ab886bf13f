"""Layer 4: the Pulumi ComponentResources. Their type tokens (`TYPE_TOKEN` in each module) are part of every URN
and never change.

Public API:
- `service.MeshService`, `network.MeshNetworks`, `credentials.MeshCredentials`, `discovery.ServiceDiscovery`,
  `grafana.GrafanaStack`, `orchestrator.McpOrchestrator`, `mcp_server.McpServer`, `backend_image.BackendImage`.
- `container.mesh_container`: the one hardened-container helper they share.
"""
