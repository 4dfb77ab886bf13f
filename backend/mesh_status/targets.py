"""Where a deployment's parts answer, and with which secrets: from the stack outputs (host side,
`make verify`) or from the backend's environment (mesh side)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

_DATABASE_SCHEMES = {"postgresql": "postgres", "postgres": "postgres", "redis": "redis", "bolt": "bolt", "amqp": "amqp"}
_DEFAULT_PORTS = {"postgres": 5432, "redis": 6379, "bolt": 7687, "amqp": 5672}
MCP_PATH = "/mcp"


@dataclass(frozen=True)
class DatabaseTarget:
    name: str
    """The mesh service it belongs to."""
    protocol: str
    """postgres, redis, bolt or amqp: decides which authenticated check (if any) runs after the TCP connect."""
    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None

    @classmethod
    def from_url(cls, name: str, url: str) -> DatabaseTarget:
        parts = urlsplit(url)
        protocol = _DATABASE_SCHEMES.get(parts.scheme)
        if protocol is None or not parts.hostname:
            raise ValueError(f"{name}: {parts.scheme}://... is not a database URL this tool checks")
        return cls(
            name=name,
            protocol=protocol,
            host=parts.hostname,
            port=parts.port or _DEFAULT_PORTS[protocol],
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            database=parts.path.lstrip("/") or None,
        )


@dataclass(frozen=True)
class MeshTargets:
    consul_url: str | None = None
    consul_token: str | None = field(default=None, repr=False)
    kong_status_url: str | None = None
    prometheus_url: str | None = None
    grafana_url: str | None = None
    jaeger_url: str | None = None
    """Jaeger's query API (the UI port)."""
    mcp_servers: dict[str, str] = field(default_factory=dict)
    """MCP server name -> its streamable-HTTP endpoint URL."""
    databases: list[DatabaseTarget] = field(default_factory=list)
    expected_services: list[str] = field(default_factory=list)
    """Services that must be registered in Consul (the stack's `services` output)."""


def _base(url: str | None) -> str | None:
    return url.rstrip("/") if url else None


def _mcp_url(url: str) -> str:
    """An access point (`http://host:3001`) gets the streamable-HTTP path; a full endpoint URL is kept."""
    return url.rstrip("/") + MCP_PATH if urlsplit(url).path in ("", "/") else url


def targets_from_stack_outputs(outputs: Mapping[str, Any]) -> MeshTargets:
    """From `pulumi stack output --json --show-secrets`.

    Reads `accessPoints` (service or `service.port` -> host URL), `connectionStrings` (passwords for the
    authenticated database checks), `services` (expected in Consul), `consulToken` (a token that can read
    the catalog and health) and `mcpServers` (name -> URL). MCP servers missing from `mcpServers` are
    taken from `accessPoints` keys starting with `mcp-`.
    """
    points: dict[str, str] = dict(outputs.get("accessPoints") or {})
    secrets: dict[str, str] = dict(outputs.get("connectionStrings") or {})
    mcp = {name: _mcp_url(url) for name, url in points.items() if name.startswith("mcp-") and "." not in name}
    mcp.update({name: _mcp_url(url) for name, url in dict(outputs.get("mcpServers") or {}).items()})

    databases = []
    for key, url in points.items():
        service = key.split(".", 1)[0]
        if urlsplit(url).scheme not in _DATABASE_SCHEMES:
            continue
        target = DatabaseTarget.from_url(service, url)
        secret = secrets.get(service)
        if secret:
            # the connection string names the mesh DNS address; the host reaches the published port instead
            credentials = DatabaseTarget.from_url(service, secret)
            if credentials.protocol == target.protocol:
                target = DatabaseTarget(
                    service, target.protocol, target.host, target.port, credentials.user, credentials.password, credentials.database
                )
        databases.append(target)

    return MeshTargets(
        consul_url=_base(points.get("consul")),
        consul_token=outputs.get("consulToken") or None,
        kong_status_url=_base(points.get("kong.status")),
        prometheus_url=_base(points.get("prometheus")),
        grafana_url=_base(points.get("grafana")),
        jaeger_url=_base(points.get("jaeger.ui") or points.get("jaeger")),
        mcp_servers=mcp,
        databases=databases,
        expected_services=list(outputs.get("services") or []),
    )


def targets_from_env(environ: Mapping[str, str]) -> MeshTargets:
    """The backend's view (mesh DNS names), from the environment the stack gives its container.

    MESH_CONSUL_URL, MESH_CONSUL_TOKEN, MESH_KONG_STATUS_URL, MESH_PROMETHEUS_URL, MESH_GRAFANA_URL,
    MESH_JAEGER_URL, MESH_MCP_SERVERS (`name=url,...`), MESH_DB_<NAME> (connection strings),
    MESH_EXPECTED_SERVICES (`a,b,c`).
    """
    databases = [
        DatabaseTarget.from_url(key.removeprefix("MESH_DB_").lower().replace("_", "-"), url)
        for key, url in sorted(environ.items())
        if key.startswith("MESH_DB_") and url
    ]
    mcp = {}
    for item in filter(None, (part.strip() for part in environ.get("MESH_MCP_SERVERS", "").split(","))):
        name, _, url = item.partition("=")
        mcp[name] = _mcp_url(url)
    return MeshTargets(
        consul_url=_base(environ.get("MESH_CONSUL_URL")),
        consul_token=environ.get("MESH_CONSUL_TOKEN") or None,
        kong_status_url=_base(environ.get("MESH_KONG_STATUS_URL")),
        prometheus_url=_base(environ.get("MESH_PROMETHEUS_URL")),
        grafana_url=_base(environ.get("MESH_GRAFANA_URL")),
        jaeger_url=_base(environ.get("MESH_JAEGER_URL")),
        mcp_servers=mcp,
        databases=databases,
        expected_services=[name for name in (part.strip() for part in environ.get("MESH_EXPECTED_SERVICES", "").split(",")) if name],
    )
