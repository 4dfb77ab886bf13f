"""The service reference (`docs/services.md`) rendered from the catalog: ports, images, checks, metrics.

`make docs` writes it and `tests/test_docs.py` fails when the committed file and the catalog differ, so
the reference cannot drift from what the stack deploys. Pure: no Pulumi.
"""

from __future__ import annotations

from collections.abc import Iterable

from components.catalog.mcp_servers import (
    CONTEXT_ROOT,
    DOCKER_TLS_PORT,
    MCP_CATALOG,
    MCP_NETWORK,
    NODE_IMAGE,
    ORCHESTRATOR,
    ORCHESTRATOR_HOST_PORT,
    ORCHESTRATOR_IMAGE,
    SUPERGATEWAY,
)
from components.catalog.services import CATALOG, Check, Port, Probe, ServiceSpec
from components.model.mesh import DEFAULT_PORT_RANGES

SERVICES_DOC = "docs/services.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{_cell(text)}`"


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _ports(ports: Iterable[Port], unpublished: str = "(mesh only)") -> str:
    return ", ".join(f"{port.internal} -> {port.host if port.host is not None else unpublished} ({port.name})" for port in ports)


def _probe(probe: Probe) -> str:
    command = " ".join(probe.test[1:]) if probe.test[0] in {"CMD", "CMD-SHELL"} else " ".join(probe.test)
    return f"{probe.tool}: {_code(command)}"


def _check(check: Check | None) -> str:
    if check is None:
        return "-"
    return f"{check.kind} :{check.port}{check.path}"


def _metrics(spec: ServiceSpec) -> str:
    if spec.metrics is not None:
        return f":{spec.metrics.port}{spec.metrics.path}"
    return "blackbox probe" if spec.blackbox else "-"


def _service_row(spec: ServiceSpec) -> list[str]:
    return [
        spec.name + ("" if spec.enabled else " (off by default)"),
        spec.kind,
        spec.category,
        _code(spec.image),
        _ports(spec.ports, "(Docker API network only)" if spec.docker_api == "proxy" else "(mesh only)"),
        _probe(spec.probe),
        _check(spec.check),
        _metrics(spec),
        ", ".join(f"{volume.name}: {_code(volume.container_path)}" for volume in spec.volumes) or "-",
    ]


def render_services_md() -> str:
    lines = [
        "# Services",
        "",
        "Generated from the catalog (`components/catalog/`) by `make docs`; `tests/test_docs.py` fails when this file",
        "and the catalog differ. Change the catalog, then run `make docs`. `mesh:services.<name>` and",
        "`mesh:mcpServers.<name>` override these defaults per stack (see the README's configuration reference).",
        "",
        "Published ports bind to `mesh:bindAddress` (127.0.0.1 by default); a wildcard bind address is reached on",
        "127.0.0.1. On the mesh network every service answers on its internal port under an alias equal to its name",
        "(`postgres:5432`). Healthchecks run inside the container with a tool its image has; Consul checks run from",
        "consul-esm on the mesh network; Prometheus scrapes the metrics endpoint, or probes through the blackbox",
        "exporter when a service has none.",
        "",
        "## Host port ranges",
        "",
        "`mesh:portRanges.<category>` moves a range; every published port must fall in its service's.",
        "",
        *_table(["category", "host ports"], ([category, f"{low}-{high}"] for category, (low, high) in DEFAULT_PORT_RANGES.items())),
        "",
        "## Host services",
        "",
        *_table(
            ["service", "kind", "category", "image", "ports (internal -> host)", "healthcheck", "Consul check", "metrics", "volumes"],
            (_service_row(spec) for spec in CATALOG.values()),
        ),
        "",
        "## The MCP orchestrator and its servers",
        "",
        f"`{ORCHESTRATOR}` runs `{ORCHESTRATOR_IMAGE}` (privileged, the only one) with its TLS API on {DOCKER_TLS_PORT},",
        f"published on 127.0.0.1:{ORCHESTRATOR_HOST_PORT}. Inside it, each MCP server runs an image built on `{NODE_IMAGE}`",
        f"from its committed lockfile (`{CONTEXT_ROOT}/<name>/`) on `{MCP_NETWORK}`; stdio servers are bridged to",
        f"streamable HTTP by `{SUPERGATEWAY}`, locked beside them. The orchestrator",
        "publishes each server's port on the bind address; the probe's HTTP face (port + 100) is what Consul checks.",
        "",
        *_table(
            ["service", "package", "transport", "port (host)", "Consul check", "state", "gateway route"],
            (
                [
                    server.service,
                    _code(server.package),
                    server.transport,
                    f"{server.port} ({server.published_port})",
                    f"http :{server.health_port}/health",
                    _code(server.data_path) if server.data_path else "-",
                    f"`/mcp/{server.name}` -> `{server.mcp_path}`",
                ]
                for server in MCP_CATALOG.values()
            ),
        ),
        "",
    ]
    return "\n".join(lines)
