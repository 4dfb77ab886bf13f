"""`mesh:mcpServers` and `mesh:mcpOrchestrator`: the typed config of the DinD orchestrator and its MCP servers.

A `mesh:mcpServers.<name>` block overrides a catalog server (`enabled`, `hostPort`, limits...) or, with
`port`, `package` and `bin`, declares a new one. `components.plan.mcp` checks the blocks against the
catalog and the rest of the stack. This module imports no Pulumi.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from components.catalog.mcp_servers import ORCHESTRATOR_HOST_PORT
from components.model.base import Strict, check_cpus, check_image_reference, check_tcp_port

# The probe beside each server answers its health checks on the server's port + 100 (catalog/mcp_servers.py).
HEALTH_PORT_OFFSET = 100

# An exact npm version, as npm-package-arg (lib/npa.js, fromRegistry) decides it: a spec is type "version" only when
# semver.valid(spec) holds, i.e. node-semver's FULL grammar (internal/re.js: MAINVERSION, PRERELEASE, BUILD);
# `1.x`, `^1.2.3`, `~1.2`, `*`, `latest` are ranges or tags, which resolve to whatever is newest.
_NUMERIC = r"(?:0|[1-9][0-9]*)"
_PRERELEASE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][A-Za-z0-9-]*)"
_EXACT_VERSION = re.compile(
    rf"{_NUMERIC}\.{_NUMERIC}\.{_NUMERIC}(?:-{_PRERELEASE_ID}(?:\.{_PRERELEASE_ID})*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
# A package name npm publishes today (validate-npm-package-name: lowercase, URL-safe, optional @scope/, no leading . or _)
_PACKAGE_NAME = re.compile(r"(?:@[a-z0-9-~][a-z0-9-._~]*/)?[a-z0-9-~][a-z0-9-._~]*")
_NPM_NAME_MAX = 214


def check_npm_package(package: str) -> str:
    """`name@version` with an exact version: npx installs exactly that, every time."""
    # npa.js splits at the first '@' after the first character (a scope's '@' is part of the name)
    name_ends_at = package.find("@", 1)
    name, version = (package[:name_ends_at], package[name_ends_at + 1 :]) if name_ends_at > 0 else (package, "")
    if not _PACKAGE_NAME.fullmatch(name) or len(name) > _NPM_NAME_MAX:
        raise ValueError(f"{package!r} is not an npm package name with a version (e.g. @scope/name@1.2.3)")
    if not _EXACT_VERSION.fullmatch(version):
        raise ValueError(f"{package!r} is not pinned to an exact version (npm treats it as a range or tag); give one, e.g. {name}@1.2.3")
    return package


# `tcp://host:port`: how the Docker provider reaches the inner daemon (no userinfo, no path)
_DOCKER_HOST = re.compile(r"tcp://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(?P<port>[0-9]+)/?")


class McpServerConfig(Strict):
    """`mesh:mcpServers.<name>`: a catalog MCP server's overrides, or a whole new server."""

    enabled: bool | None = None
    port: int | None = None
    host_port: int | None = Field(default=None, alias="hostPort")
    package: str | None = None
    bin: str | None = None
    args: list[str] | None = None
    transport: Literal["stdio", "http"] | None = None
    mcp_path: str | None = Field(default=None, alias="mcpPath")
    image: str | None = None
    build_context: str | None = Field(default=None, alias="buildContext")
    data_path: str | None = Field(default=None, alias="dataPath")
    env: dict[str, str] | None = None
    memory_mb: int | None = Field(default=None, alias="memoryMb", ge=64, le=65536)
    cpus: float | None = Field(default=None, gt=0, le=16)
    description: str | None = None

    @field_validator("port", "host_port")
    @classmethod
    def _is_tcp_port(cls, port: int | None) -> int | None:
        return None if port is None else check_tcp_port(port)

    @field_validator("port")
    @classmethod
    def _health_port_is_tcp(cls, port: int | None) -> int | None:
        if port is not None and port + HEALTH_PORT_OFFSET > 65535:
            highest = 65535 - HEALTH_PORT_OFFSET
            raise ValueError(f"{port}'s health port ({port} + {HEALTH_PORT_OFFSET}) is above 65535; use a port up to {highest}")
        return port

    @field_validator("image")
    @classmethod
    def _image_is_pinned(cls, image: str | None) -> str | None:
        return None if image is None else check_image_reference(image)

    @field_validator("cpus")
    @classmethod
    def _cpus_read_back_the_same(cls, cpus: float | None) -> float | None:
        return check_cpus(cpus)

    @field_validator("package")
    @classmethod
    def _package_is_pinned(cls, package: str | None) -> str | None:
        return None if package is None else check_npm_package(package)

    @field_validator("build_context")
    @classmethod
    def _is_project_relative(cls, context: str | None) -> str | None:
        if context is not None and (context.startswith("/") or ".." in context.split("/")):
            raise ValueError(f"{context!r} must be a directory inside the project (e.g. mcp/servers/time)")
        return None if context is None else context.rstrip("/")

    @field_validator("mcp_path", "data_path")
    @classmethod
    def _is_absolute_path(cls, path: str | None) -> str | None:
        if path is not None and not path.startswith("/"):
            raise ValueError(f"{path!r} must start with /")
        return path


class McpOrchestratorConfig(Strict):
    """`mesh:mcpOrchestrator`: the DinD container and how the nested provider reaches it."""

    docker_host: str | None = Field(default=None, alias="dockerHost")
    """The inner daemon's address as Pulumi reaches it; defaults to the published TLS port on the bind address."""
    host_port: int = Field(default=ORCHESTRATOR_HOST_PORT, alias="hostPort")
    image: str | None = None
    memory_mb: int = Field(default=4096, alias="memoryMb", ge=512, le=262144)
    cpus: float | None = Field(default=None, gt=0, le=64)
    """No limit by default: each MCP server carries its own, and a fixed default could exceed a small host's CPUs."""

    @field_validator("docker_host")
    @classmethod
    def _is_tls_tcp(cls, host: str | None) -> str | None:
        if host is None:
            return None
        address = _DOCKER_HOST.fullmatch(host)
        if address is None:
            raise ValueError(f"{host!r} must be tcp://<host>:<port> of the TLS port (e.g. tcp://127.0.0.1:12376)")
        port = address.group("port")
        if port != str(int(port)):
            # the policy pack reads the port as a number: 02375 is 2375 to it, and to Go's URL parser
            raise ValueError(f"{host!r} writes its port with a leading zero; write {int(port)}")
        check_tcp_port(int(port))
        if int(port) == 2375:
            raise ValueError(f"{host!r} is the plaintext Docker port; the orchestrator speaks TLS only")
        return host

    @field_validator("host_port")
    @classmethod
    def _is_tcp_port(cls, port: int) -> int:
        return check_tcp_port(port)

    @field_validator("cpus")
    @classmethod
    def _cpus_read_back_the_same(cls, cpus: float | None) -> float | None:
        return check_cpus(cpus)

    @field_validator("image")
    @classmethod
    def _image_is_pinned(cls, image: str | None) -> str | None:
        return None if image is None else check_image_reference(image)
