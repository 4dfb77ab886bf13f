"""Layer 3, pure: config x catalog -> what this stack deploys. Every `ConfigError` is raised here or in `model`.
May import `catalog`, `model` and `render`; no Pulumi.

Public API:
- `stack.plan_stack`, `stack.StackPlan`: the whole plan (services, MCP servers, endpoints, gateway), computed once.
- `addresses.client_url`, `addresses.access_points`: the one bind-address-to-URL rule and what it gives.
- `services.resolve_services`, `mcp.resolve_mcp`, `endpoints.service_endpoints`, `gateway.plan_gateway`: its parts.
"""
