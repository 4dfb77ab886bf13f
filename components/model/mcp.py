"""`mesh:mcpServers` and `mesh:mcpOrchestrator`: the typed config of the DinD orchestrator and its MCP servers.

A `mesh:mcpServers.<name>` block overrides a catalog server (`enabled`, `hostPort`, limits...) or, with
`port`, `package` and `bin`, declares a new one. `components.plan.mcp` checks the blocks against the
catalog and the rest of the stack. This module imports no Pulumi.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from components.catalog.mcp_servers import ORCHESTRATOR_HOST_PORT
from components.model.base import Strict, check_cpus, check_image_reference, check_tcp_port


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
    data_path: str | None = Field(default=None, alias="dataPath")
    env: dict[str, str] | None = None
    memory_mb: int | None = Field(default=None, alias="memoryMb", ge=64, le=65536)
    cpus: float | None = Field(default=None, gt=0, le=16)
    description: str | None = None

    @field_validator("port", "host_port")
    @classmethod
    def _is_tcp_port(cls, port: int | None) -> int | None:
        return None if port is None else check_tcp_port(port)

    @field_validator("cpus")
    @classmethod
    def _cpus_read_back_the_same(cls, cpus: float | None) -> float | None:
        return check_cpus(cpus)

    @field_validator("image")
    @classmethod
    def _image_is_pinned(cls, image: str | None) -> str | None:
        return None if image is None else check_image_reference(image)

    @field_validator("package")
    @classmethod
    def _package_is_pinned(cls, package: str | None) -> str | None:
        if package is None:
            return None
        name, _, version = package.rpartition("@")
        if not name or not version or not version[0].isdigit():
            raise ValueError(f"{package!r} is not pinned; give an exact npm version (e.g. {package.split('@')[0] or package}@1.2.3)")
        return package

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
        if host is not None and not host.startswith("tcp://"):
            raise ValueError(f"{host!r} must be a tcp:// address of the TLS port (e.g. tcp://127.0.0.1:12376)")
        if host is not None and host.rstrip("/").endswith(":2375"):
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
