"""Layer 0, pure: what exists, declared once. Imports nothing above it and no Pulumi.

Public API:
- `services.CATALOG`, `services.ServiceSpec`, `services.Port`, `services.Probe`, `services.Check`, `services.Metrics`:
  every host service as plain data (`ServiceSpec.port`, `main_port` and `mesh_address` give its ports).
- `names.NAMED_SERVICES`: the names of the services other code singles out, one constant each (`names.KONG`...).
- `mcp_servers.MCP_CATALOG`, `mcp_servers.McpServerSpec`: the MCP servers run inside the DinD orchestrator.
- `metrics.EXPORTER_METRICS`: the metric names each exporter really produces.
- `endpoint.Endpoint`: the hand-off type from the plan to discovery, the gateway and Prometheus.
- `kong_limits.ALGORITHMS`: Kong's documented value limits.
"""
