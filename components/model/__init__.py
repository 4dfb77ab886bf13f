"""Layer 1, pure: the typed `mesh:*` stack config (pydantic). May import `catalog`; no Pulumi.

Public API:
- `mesh.parse_mesh_config`, `mesh.MeshConfig`: the whole config, validated; a mistake is one `ConfigError` line.
- `base.ConfigError`, `base.Strict`: the error naming the key, and the strict base every section model uses.
- `gateway.GatewayConfig`, `discovery.DiscoveryConfig`, `mcp.McpServerConfig`, `monitoring.MonitoringConfig`,
  `telemetry.TelemetryConfig`: the sections.
"""
