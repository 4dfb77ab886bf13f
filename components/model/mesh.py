"""Typed stack configuration: the `mesh:*` keys, validated before any resource is registered.

`parse_mesh_config` turns the raw key/value map Pulumi hands the program into a `MeshConfig`;
every user mistake becomes one `ConfigError` line that names the key and what is wrong.
This module imports no Pulumi.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from components.model.base import ConfigError, Strict, check_cpus, check_image_reference, check_tcp_port
from components.model.discovery import DiscoveryConfig
from components.model.gateway import GatewayConfig
from components.model.mcp import McpOrchestratorConfig, McpServerConfig
from components.model.monitoring import MonitoringConfig
from components.model.swarm import Platform, SwarmConfig
from components.model.telemetry import TelemetryConfig

CONFIG_NAMESPACE = "mesh"

# Host port ranges by category (docs/services.md, "Host port ranges"); the policy pack enforces the same.
DEFAULT_PORT_RANGES: dict[str, tuple[int, int]] = {
    "core": (10000, 10099),
    "ai": (10100, 10199),
    "monitoring": (10200, 10299),
    "mcp": (3000, 3099),
    "orchestration": (12000, 12999),
}


class ServiceOverride(Strict):
    """`mesh:services.<name>`: per-service overrides of the catalog defaults."""

    enabled: bool | None = None
    image: str | None = None
    host_ports: list[int] | None = Field(default=None, alias="hostPorts")
    memory_mb: int | None = Field(default=None, alias="memoryMb", ge=16, le=262144)
    cpus: float | None = Field(default=None, gt=0, le=64)
    replicas: int | None = Field(default=None, ge=1, le=16)

    @field_validator("image")
    @classmethod
    def _image_is_pinned(cls, image: str | None) -> str | None:
        return None if image is None else check_image_reference(image)

    @field_validator("cpus")
    @classmethod
    def _cpus_read_back_the_same(cls, cpus: float | None) -> float | None:
        return check_cpus(cpus)

    @field_validator("host_ports")
    @classmethod
    def _ports_are_tcp(cls, ports: list[int] | None) -> list[int] | None:
        if ports is not None:
            for index, port in enumerate(ports):
                try:
                    check_tcp_port(port)
                except ValueError as error:
                    raise _KeyedError((index,), str(error)) from None
        return ports


class _KeyedError(ValueError):
    """A value inside the validated field is wrong: carries the rest of the key (`hostPorts[0]`, `portRanges.core`)."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


class MeshConfig(Strict):
    """Everything under the `mesh:` namespace, typed. Defaults reproduce docs/services.md."""

    bind_address: str = Field(default="127.0.0.1", alias="bindAddress")
    proxy_bind_address: str | None = Field(default=None, alias="proxyBindAddress")
    port_ranges: dict[str, tuple[int, int]] = Field(default_factory=lambda: dict(DEFAULT_PORT_RANGES), alias="portRanges")
    services: dict[str, ServiceOverride] = Field(default_factory=dict)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    discovery: DiscoveryConfig = Field(default_factory=DiscoveryConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    mcp_servers: dict[str, McpServerConfig] = Field(default_factory=dict, alias="mcpServers")
    mcp_orchestrator: McpOrchestratorConfig = Field(default_factory=McpOrchestratorConfig, alias="mcpOrchestrator")
    platform: Platform = "docker"
    """`docker`: containers on one Docker host; `swarm`: services of a Docker Swarm (`mesh:swarm`)."""
    swarm: SwarmConfig = Field(default_factory=SwarmConfig)

    @field_validator("bind_address", "proxy_bind_address")
    @classmethod
    def _is_ip_address(cls, address: str | None) -> str | None:
        if address is None:
            return None
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError(f"{address!r} is not an IP address (e.g. 127.0.0.1 or 0.0.0.0)") from None
        return address

    @field_validator("port_ranges", mode="before")
    @classmethod
    def _merge_port_ranges(cls, ranges: Any) -> Any:
        if not isinstance(ranges, Mapping):
            return ranges
        unknown = sorted(set(ranges) - set(DEFAULT_PORT_RANGES))
        if unknown:
            raise _KeyedError((unknown[0],), f"unknown category (known: {', '.join(DEFAULT_PORT_RANGES)})")
        return {**DEFAULT_PORT_RANGES, **ranges}

    @field_validator("port_ranges")
    @classmethod
    def _ranges_are_ordered(cls, ranges: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        for category, (low, high) in ranges.items():
            try:
                check_tcp_port(low)
                check_tcp_port(high)
            except ValueError as error:
                raise _KeyedError((category,), str(error)) from None
            if low > high:
                raise _KeyedError((category,), f"range start {low} is above its end {high}")
        return ranges

    @model_validator(mode="after")
    def _proxy_defaults_to_bind_address(self) -> MeshConfig:
        if self.proxy_bind_address is None:
            object.__setattr__(self, "proxy_bind_address", self.bind_address)
        return self


def _config_key(field_path: Sequence[str | int]) -> str:
    """Render a pydantic error location as the user's config key: `mesh:services.redis.hostPorts[0]`."""
    key = CONFIG_NAMESPACE + ":"
    first = True
    for part in field_path:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += ("" if first else ".") + part
        first = False
    return key


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    expected = {
        "int_parsing": "an integer",
        "int_type": "an integer",
        "int_from_float": "a whole number",
        "float_parsing": "a number",
        "float_type": "a number",
        "bool_parsing": "true or false",
        "bool_type": "true or false",
        "string_type": "a string",
        "dict_type": "a mapping",
        "list_type": "a list",
        "tuple_type": "a [low, high] pair",
        "too_short": "a [low, high] pair",
        "too_long": "a [low, high] pair",
    }.get(kind)
    if expected:
        return f"expected {expected}, got {json.dumps(given) if _jsonable(given) else repr(given)}"
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        return f"{given} is out of range ({error['msg'].lower()})"
    return str(error["msg"])


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _location(error: Mapping[str, Any]) -> list[str | int]:
    location = [part for part in error["loc"] if part != "[key]"]
    context = error.get("ctx") or {}
    keyed = context.get("error")
    if isinstance(keyed, _KeyedError):
        location.extend(keyed.path)
    return location


def parse_mesh_config(raw: Mapping[str, Any]) -> MeshConfig:
    """Validate the `mesh:*` keys (namespace stripped, values decoded). Raises `ConfigError`."""
    try:
        return MeshConfig.model_validate(dict(raw))
    except ValidationError as errors:
        first = errors.errors(include_url=False)[0]
        raise ConfigError(_config_key(_location(first)), _describe(first)) from None


def decode_config_value(value: Any) -> Any:
    """Pulumi passes structured config as JSON text and scalars as plain strings."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def strip_namespace(all_config: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the `mesh:` keys of a stack's config, without the prefix, values decoded."""
    prefix = CONFIG_NAMESPACE + ":"
    return {key[len(prefix) :]: decode_config_value(value) for key, value in all_config.items() if key.startswith(prefix)}
