"""Layer 0, pure: what exists, declared once: services, probes, MCP servers, metrics, the `Endpoint`
hand-off type and Kong's value limits. Imports nothing above it and no Pulumi.
"""
