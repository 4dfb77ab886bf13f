"""Canned answers of Consul, Kong, Grafana and Jaeger for a healthy mesh, shaped as their API docs show.

- Consul `GET /v1/catalog/services`: https://developer.hashicorp.com/consul/api-docs/catalog#list-services
- Consul `GET /v1/health/state/:state`: https://developer.hashicorp.com/consul/api-docs/health#list-checks-in-state
- Consul `GET /v1/health/service/:service`: https://developer.hashicorp.com/consul/api-docs/health#list-service-instances-for-service
- Consul ACL filtering header: https://developer.hashicorp.com/consul/api-docs/api-structure#results-filtered-by-acls
- Kong Admin API `GET /status`, `/upstreams`, `/upstreams/{upstream}/health`, `/services`, `/routes`:
  https://developer.konghq.com/api/gateway/admin-oss/ and target health values
  https://developer.konghq.com/gateway/traffic-control/health-checks-circuit-breakers/
- Grafana `GET /api/health`: https://grafana.com/docs/grafana/latest/developers/http_api/other/#health-api
- Jaeger query `GET /api/services`: https://www.jaegertracing.io/docs/2.13/architecture/apis/
"""

from __future__ import annotations

from typing import Any

from tests.loopback import Reply

SERVICES = ["backend", "consul", "redis"]


def consul_check(service: str, status: str = "passing", output: str = "") -> dict[str, Any]:
    return {
        "Node": "mesh-services",
        "CheckID": f"service:{service}",
        "Name": f"Service '{service}' check",
        "Status": status,
        "Notes": "",
        "Output": output or f"HTTP GET http://{service}: 200 OK Output: ok",
        "ServiceID": service,
        "ServiceName": service,
        "ServiceTags": ["mesh"],
        "Namespace": "default",
    }


def consul_routes() -> dict[tuple[str, str], Reply]:
    health_instance = [
        {
            "Node": {"ID": "40e4a748-2192-161a-0510-9bf59fe950b5", "Node": "mesh-services", "Address": "127.0.0.1", "Datacenter": "dc1"},
            "Service": {"ID": "redis", "Service": "redis", "Tags": ["mesh"], "Address": "redis", "Port": 6379, "Meta": {}},
            "Checks": [consul_check("redis")],
        }
    ]
    return {
        ("GET", "/v1/catalog/services"): Reply({"backend": ["mesh"], "consul": [], "redis": ["mesh"]}),
        ("GET", "/v1/health/state/any"): Reply(
            [
                # the agent's own node check carries no ServiceName: it is not a service's check
                {
                    "Node": "consul",
                    "CheckID": "serfHealth",
                    "Name": "Serf Health Status",
                    "Status": "passing",
                    "Notes": "",
                    "Output": "Agent alive and reachable",
                    "ServiceID": "",
                    "ServiceName": "",
                    "ServiceTags": [],
                    "Namespace": "default",
                },
                consul_check("backend"),
                consul_check("consul"),
                consul_check("redis", output="TCP connect redis:6379: Success"),
            ]
        ),
        **{("GET", f"/v1/health/service/{name}"): Reply(health_instance) for name in SERVICES},
    }


def kong_target(target: str, health: str) -> dict[str, Any]:
    _host, port = target.rsplit(":", 1)
    return {
        "created_at": 1764150000.123,
        "id": f"target-{target}",
        "target": target,
        "upstream": {"id": "upstream-backend"},
        "weight": 100,
        "health": health,
        "data": {"addresses": [{"ip": "172.18.0.9", "port": int(port), "health": health, "weight": 100}]},
    }


def kong_health(*targets: tuple[str, str]) -> Reply:
    return Reply({"total": len(targets), "node_id": "cbb297c0-14a9-46bc-ad91-1d0ef9b42df9", "data": [kong_target(*t) for t in targets]})


def kong_routes() -> dict[tuple[str, str], Reply]:
    return {
        ("GET", "/status"): Reply(
            {
                "database": {"reachable": True},
                "memory": {"workers_lua_vms": [{"http_allocated_gc": "43.99 MiB", "pid": 1260}], "lua_shared_dicts": {}},
                "server": {
                    "total_requests": 3,
                    "connections_active": 1,
                    "connections_accepted": 1,
                    "connections_handled": 1,
                    "connections_reading": 0,
                    "connections_writing": 1,
                    "connections_waiting": 0,
                },
                "configuration_hash": "779742c3d7afbe4cb7d8d7d3a7ee8f21",
            }
        ),
        # the status listener (what the stack publishes) has no upstream list: it 404s, as does any unknown upstream
        ("GET", "/upstreams/backend-upstream/health"): kong_health(("backend-1:8000", "HEALTHY"), ("backend-2:8000", "HEALTHY")),
    }


def kong_admin_routes() -> dict[str, Reply]:
    """What an Admin API answers on top of the status listener (for `replaced(**kong_admin_routes())`)."""
    return {
        "GET /upstreams": Reply(
            {"data": [{"id": "upstream-backend", "name": "backend-upstream", "algorithm": "round-robin"}], "next": None}
        ),
        "GET /services": Reply(
            {"data": [{"id": "service-backend", "name": "backend", "host": "backend-upstream", "port": 8000}], "next": None}
        ),
        "GET /routes": Reply(
            {"data": [{"id": "route-backend", "name": "backend", "paths": ["/api"], "service": {"id": "service-backend"}}], "next": None}
        ),
    }


def grafana_routes() -> dict[tuple[str, str], Reply]:
    return {("GET", "/api/health"): Reply({"commit": "087143285", "database": "ok", "version": "12.2.0"})}


def jaeger_routes() -> dict[tuple[str, str], Reply]:
    return {("GET", "/api/services"): Reply({"data": ["backend", "kong"], "total": 2, "limit": 0, "offset": 0, "errors": None})}


def not_mcp_routes() -> dict[tuple[str, str], Reply]:
    """A web server that answers HTTP on /mcp, but HTML, not JSON-RPC."""
    return {("POST", "/mcp"): Reply("<html><body>Welcome</body></html>", content_type="text/html")}
