"""Layer 2, pure: typed objects -> file text, each checked by the real tool that reads it. May import `catalog`
and `model`; no Pulumi.

Public API:
- `kong.render_kong_yml`, `consul.render_consul_agent_config`, `consul.render_esm_config`,
  `prometheus.render_prometheus_yml`, `alert_rules.render_rules_yml`, `alertmanager.render_alertmanager_yml`,
  `datastores.render_redis_conf`, `datastores.render_rabbitmq_conf`, `telemetry.render_loki_config`,
  `telemetry.render_alloy_config`, `telemetry.render_jaeger_config`: the rendered config files.
- `dashboards.mesh_dashboards`, `datasources.mesh_datasources`: Grafana's content.
- `mcp_probe.PROBE_SCRIPT`: the MCP health probe; `service_docs.render_services_md`: docs/services.md.
"""
