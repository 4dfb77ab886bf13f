"""Typed stack configuration: the `mesh:*` keys, validated before any resource is registered.

`parse_mesh_config` turns the raw key/value map Pulumi hands the program into a `MeshConfig`;
every user mistake becomes one `ConfigError` line that names the key and what is wrong.
This module imports no Pulumi.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from components.model.base import ConfigError, Strict, check_bind_address, check_cpus, check_image_reference, check_tcp_port
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
        return None if address is None else check_bind_address(address)

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


ConfigPath = tuple[str | int, ...]
"""A config key without the namespace, as parts: `("services", "redis", "hostPorts", 0)`."""

# The settings that may hold a credential: the program keeps them secret in every input and output
# (alertmanager.yml is a secret file, MCP server env entries are secret) and no error shows their value.
SECRET_SETTINGS: tuple[ConfigPath, ...] = (("monitoring", "alerting"), ("mcpServers", "*", "env"))

_SHOWN_VALUE_MAX = 60
# validators quote the value (repr); a value shown unquoted is replaced only from this length on
_BARE_SECRET_MIN = 8


def _under(path: Sequence[str | int], prefix: Sequence[str | int]) -> bool:
    """Whether `path` is `prefix` or inside it; `*` in either matches any one part."""
    return len(path) >= len(prefix) and all("*" in (want, got) or want == got for want, got in zip(prefix, path, strict=False))


def holds_credentials(path: Sequence[str | int]) -> bool:
    """Whether the setting at `path` is (or is inside) one the program keeps secret."""
    return any(_under(path, setting) for setting in SECRET_SETTINGS)


def may_hold_credentials(path: Sequence[str | int]) -> bool:
    """Whether `path` is, is inside, or contains a setting the program keeps secret."""
    return any(_under(path, setting) or _under(setting, path) for setting in SECRET_SETTINGS)


def config_key(field_path: Sequence[str | int]) -> str:
    """Render a config path as the user's key: `mesh:services.redis.hostPorts[0]`."""
    key = CONFIG_NAMESPACE + ":"
    first = True
    for part in field_path:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += ("" if first else ".") + part
        first = False
    return key


def check_secret_keys(secret_paths: Collection[ConfigPath]) -> None:
    """Refuse a secret (`pulumi config set --secret`) the mesh would publish in plaintext. Raises `ConfigError`.

    The engine marks a whole top-level key secret when any value inside it is (`pulumi config set --secret --path`),
    so a top-level key passes when a setting kept secret lies inside it; the offline tools pass each encrypted leaf.
    """
    for path in sorted(secret_paths, key=config_key):
        if not may_hold_credentials(path):
            raise ConfigError(
                config_key(path),
                "is set as a secret, but the mesh publishes this setting in plaintext (container specs, labels, outputs); "
                "only mesh:monitoring.alerting.* and mesh:mcpServers.<name>.env.* are kept secret: set it without --secret",
            )


def _shown(value: Any) -> str:
    if isinstance(value, (dict, list)):
        # a structure may hold anything, a secret moved under the wrong key too: name its kind only
        return "a mapping" if isinstance(value, dict) else "a list"
    text = json.dumps(value, ensure_ascii=False) if _jsonable(value) else repr(value)
    return text if len(text) <= _SHOWN_VALUE_MAX else text[: _SHOWN_VALUE_MAX - 3] + "..."


_EXPECTED = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a [low, high] pair",
    "too_short": "a [low, high] pair",
    "too_long": "a [low, high] pair",
}


def _describe(error: Mapping[str, Any], *, secret: bool) -> str:
    """What is wrong, in words; with `secret`, without the value the user gave."""
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
        if secret and isinstance(given, str) and given:
            message = message.replace(repr(given), "<secret>")
            if len(given) >= _BARE_SECRET_MIN:  # a shorter one would also match ordinary words of the message
                message = message.replace(given, "<secret>")
        elif secret:
            message = "is not valid (the value is not shown: it may hold a secret)"
        return message
    expected = _EXPECTED.get(kind)
    if expected:
        return (
            f"expected {expected} (the value is not shown: it may hold a secret)" if secret else f"expected {expected}, got {_shown(given)}"
        )
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        bound = error["msg"].lower()
        return f"is out of range ({bound})" if secret else f"{_shown(given)} is out of range ({bound})"
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


def parse_mesh_config(raw: Mapping[str, Any], secret_keys: Collection[ConfigPath] = ()) -> MeshConfig:
    """Validate the `mesh:*` keys (namespace stripped, values decoded). Raises `ConfigError`.

    `secret_keys` are the keys the engine (or the stack file) marks secret: an error under one never shows its value.
    """
    check_secret_keys(secret_keys)
    try:
        return MeshConfig.model_validate(dict(raw))
    except ValidationError as errors:
        first = errors.errors(include_url=False)[0]
        location = _location(first)
        secret = may_hold_credentials(location) or any(_under(location, key) or _under(key, location) for key in secret_keys)
        raise ConfigError(config_key(location), _describe(first, secret=secret)) from None


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
