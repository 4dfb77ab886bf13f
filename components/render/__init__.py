"""Layer 2, pure: typed objects -> file text (kong.yml, Consul, Prometheus, rules, Alertmanager, datastores,
telemetry files, dashboards, data sources, the MCP probe). May import `catalog` and `model`; no Pulumi.
"""
