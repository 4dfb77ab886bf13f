"""The MCP servers that run inside the DinD orchestrator, declared once as plain data.

Each `McpServerSpec` says which pinned npm package runs, how it speaks streamable HTTP (natively, or
bridged from stdio by supergateway) and where its state lives. The container command, the health
probe and the hand-off to discovery and the gateway are derived from it; a seventh server is one
more entry here or one `mesh:mcpServers.<name>` block. This module imports no Pulumi.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Literal

ORCHESTRATOR = "mcp-orchestrator"
"""The orchestrator's service name and its alias on the mesh network."""
ORCHESTRATOR_IMAGE = "docker:29.0-dind"
DOCKER_TLS_PORT = 2376
"""The only port the inner daemon listens on over TCP (TLS, client certificates required)."""
DOCKER_API_BIND_ADDRESS = "127.0.0.1"
"""The DinD API (root on the host) is published on loopback only."""
ORCHESTRATOR_HOST_PORT = 12376
"""The host port of the DinD API by default (`mesh:mcpOrchestrator.hostPort`)."""
MCP_NETWORK = "mcp-network"
"""The internal network of the MCP servers on the inner daemon."""
NODE_IMAGE = "node:22.21-bookworm-slim"
"""Base image of every MCP server: the packages are installed from npm when the container starts."""
SUPERGATEWAY = "supergateway@4.0.0"
"""The stdio -> streamable HTTP bridge, pinned."""
PROBE_PATH = "/opt/mesh/mcp-probe.mjs"
"""Where the health probe script is uploaded in every MCP container."""
HEALTH_PORT_OFFSET = 100
"""The probe's HTTP face listens on `port + 100` (Consul's HTTP checks cannot POST an MCP request)."""
SESSION_TIMEOUT_MS = 10 * 60 * 1000
"""Idle stateful sessions (one stdio child each) are reaped after this long."""

Transport = Literal["stdio", "http"]


@dataclass(frozen=True)
class McpServerSpec:
    name: str
    """Short name: the service is `mcp-<name>`, the gateway route `/mcp/<name>`."""
    port: int
    """The port the server listens on, and the port the orchestrator publishes it on."""
    package: str
    """The npm package, pinned: `name@version`."""
    bin: str
    """The executable the package installs."""
    args: tuple[str, ...] = ()
    """Arguments after the executable; `{port}` is replaced by `port`."""
    transport: Transport = "stdio"
    """`stdio`: bridged by supergateway; `http`: the server speaks streamable HTTP itself."""
    host_port: int | None = None
    """The host port (bind address); defaults to `port`."""
    mcp_path: str = "/mcp"
    """The streamable HTTP path on the server."""
    image: str = NODE_IMAGE
    data_path: str | None = None
    """Where an inner named volume keeps the server's state (retained)."""
    env: tuple[tuple[str, str], ...] = ()
    memory_mb: int = 512
    cpus: float = 0.5
    description: str = ""

    @property
    def service(self) -> str:
        return f"mcp-{self.name}"

    @property
    def published_port(self) -> int:
        return self.port if self.host_port is None else self.host_port

    @property
    def health_port(self) -> int:
        return self.port + HEALTH_PORT_OFFSET

    @property
    def local_url(self) -> str:
        """The server's own endpoint, from inside its container."""
        return f"http://127.0.0.1:{self.port}{self.mcp_path}"


def server_command(spec: McpServerSpec) -> str:
    """The command line that starts the MCP server itself (stdio or HTTP)."""
    return shlex.join([spec.bin, *(arg.replace("{port}", str(spec.port)) for arg in spec.args)])


def install_step(spec: McpServerSpec) -> str:
    """Install the pinned packages once per container (a restart finds them installed and needs no registry)."""
    packages = [spec.package] + ([SUPERGATEWAY] if spec.transport == "stdio" else [])
    executables = [spec.bin] + (["supergateway"] if spec.transport == "stdio" else [])
    installed = " && ".join(shlex.join(["command", "-v", executable]) for executable in executables)
    install = shlex.join(["npm", "install", "--global", "--no-audit", "--no-fund", *packages])
    return f"{{ {{ {installed}; }} >/dev/null 2>&1 || {install}; }}"


def serve_step(spec: McpServerSpec) -> str:
    """Start the probe's HTTP face in the background, then run the server (bridged when it speaks stdio) as the main process."""
    health = shlex.join(["node", PROBE_PATH, "serve", str(spec.health_port), spec.local_url])
    if spec.transport == "stdio":
        server = shlex.join(
            [
                "supergateway",
                "--stdio",
                server_command(spec),
                "--outputTransport",
                "streamableHttp",
                "--stateful",
                "--sessionTimeout",
                str(SESSION_TIMEOUT_MS),
                "--port",
                str(spec.port),
                "--streamableHttpPath",
                spec.mcp_path,
                "--healthEndpoint",
                "/healthz",
            ]
        )
    else:
        server = server_command(spec)
    return f"{{ {health} & }} && exec {server}"


def launch_script(spec: McpServerSpec) -> str:
    """The container's shell script: install the pinned packages, start the probe's HTTP face, run the server."""
    return f"{install_step(spec)} && {serve_step(spec)}"


def container_command(spec: McpServerSpec) -> tuple[str, ...]:
    return ("sh", "-c", launch_script(spec))


def health_test(spec: McpServerSpec) -> tuple[str, ...]:
    """The Docker healthcheck: the probe performs an MCP `initialize` against the server's own endpoint."""
    return ("CMD", "node", PROBE_PATH, "check", spec.local_url)


def _catalog() -> tuple[McpServerSpec, ...]:
    return (
        McpServerSpec(
            name="claude-flow",
            port=3001,
            package="claude-flow@3.43.0",
            bin="claude-flow",
            args=("mcp", "start"),
            memory_mb=1024,
            description="core MCP functionality (agents, swarms, memory tools)",
        ),
        McpServerSpec(
            name="files",
            port=3003,
            package="@modelcontextprotocol/server-filesystem@2026.8.31",
            bin="mcp-server-filesystem",
            args=("/data",),
            data_path="/data",
            description="file system operations, confined to its volume",
        ),
        McpServerSpec(
            name="context",
            port=3004,
            package="@upstash/context7-mcp@4.1.1",
            bin="context7-mcp",
            args=("--transport", "http", "--port", "{port}"),
            transport="http",
            description="library documentation context (Context7), its own streamable HTTP transport",
        ),
        McpServerSpec(
            name="search",
            port=3006,
            package="duckduckgo-mcp-server@0.1.2",
            bin="duckduckgo-mcp-server",
            description="keyless web search (DuckDuckGo)",
        ),
        McpServerSpec(
            name="memory",
            port=3009,
            package="@modelcontextprotocol/server-memory@2026.8.31",
            bin="mcp-server-memory",
            data_path="/data",
            env=(("MEMORY_FILE_PATH", "/data/memory.jsonl"),),
            description="knowledge-graph memory, its file on a volume",
        ),
        McpServerSpec(
            name="docs",
            port=3017,
            package="mcp-fetch-server@1.1.2",
            bin="mcp-fetch-server",
            description="documentation handling: fetches pages as markdown",
        ),
    )


MCP_CATALOG: dict[str, McpServerSpec] = {spec.name: spec for spec in _catalog()}
