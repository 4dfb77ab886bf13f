"""Kong's declarative configuration as typed objects, rendered to `kong.yml` and parsed back.

The gateway plan (`components/plan/gateway.py`) builds a `KongConfig`; `render_kong_yml` turns it into
the file Kong loads in DB-less mode, and `parse_kong_yml` reads such a file back into the same objects.
Pure: no Pulumi.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from components.catalog.kong_limits import (
    Algorithm,
    HashOn,
    ProbeType,
)
from components.render.yaml_text import dump_yaml

FORMAT_VERSION = "3.0"


@dataclass(frozen=True)
class ActiveHealthy:
    interval: int
    """Seconds between probes of a healthy target."""
    successes: int
    """Probe successes that mark an unhealthy target healthy again (this is what closes the breaker)."""
    http_statuses: tuple[int, ...] = (200, 302)


@dataclass(frozen=True)
class ActiveUnhealthy:
    interval: int
    """Seconds between probes of an unhealthy target: how long an open breaker waits before it tries again."""
    http_failures: int
    tcp_failures: int
    timeouts: int
    http_statuses: tuple[int, ...] = (429, 404, 500, 501, 502, 503, 504, 505)


@dataclass(frozen=True)
class ActiveHealthcheck:
    type: ProbeType
    http_path: str
    timeout: int
    healthy: ActiveHealthy
    unhealthy: ActiveUnhealthy
    concurrency: int = 10


@dataclass(frozen=True)
class PassiveHealthy:
    successes: int
    """A success resets the failure counters only when this is above 0 (failures then count consecutively)."""
    http_statuses: tuple[int, ...] = (200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308)


@dataclass(frozen=True)
class PassiveUnhealthy:
    http_failures: int
    tcp_failures: int
    timeouts: int
    http_statuses: tuple[int, ...] = (500, 502, 503, 504)


@dataclass(frozen=True)
class PassiveHealthcheck:
    """The circuit breaker: counts failures of proxied traffic. It can only open; active probes close it."""

    healthy: PassiveHealthy
    unhealthy: PassiveUnhealthy
    type: ProbeType = "http"


@dataclass(frozen=True)
class Healthchecks:
    active: ActiveHealthcheck
    passive: PassiveHealthcheck


@dataclass(frozen=True)
class Target:
    target: str
    """`<host>:<port>` on the mesh network."""
    weight: int = 100


@dataclass(frozen=True)
class Upstream:
    name: str
    algorithm: Algorithm
    healthchecks: Healthchecks
    targets: tuple[Target, ...]
    hash_on: HashOn = "none"


@dataclass(frozen=True)
class Plugin:
    name: str
    config: Mapping[str, Any] = field(default_factory=dict)
    """Plugin settings as Kong's schema names them (JSON-like values: lists, not tuples)."""


@dataclass(frozen=True)
class Route:
    name: str
    paths: tuple[str, ...] | None = None
    hosts: tuple[str, ...] | None = None
    methods: tuple[str, ...] | None = None
    protocols: tuple[str, ...] = ("http", "https")
    strip_path: bool = False
    preserve_host: bool = False
    response_buffering: bool = True
    """Off for streams (MCP's server-sent events): Kong passes each chunk on as it arrives."""
    plugins: tuple[Plugin, ...] = ()


@dataclass(frozen=True)
class Service:
    name: str
    host: str
    """The upstream's name: Kong balances over its targets instead of resolving this host."""
    port: int
    routes: tuple[Route, ...]
    protocol: str = "http"
    path: str = "/"
    connect_timeout: int = 60000
    read_timeout: int = 60000
    write_timeout: int = 60000
    retries: int = 5
    """Tries on another target after a failed one (Kong's default 5; each failed try counts toward the breaker)."""
    plugins: tuple[Plugin, ...] = ()


@dataclass(frozen=True)
class JwtSecret:
    key: str
    """The value clients put in the token's `iss` claim."""
    secret: str
    algorithm: Literal["HS256"] = "HS256"


@dataclass(frozen=True)
class KeyAuthCredential:
    key: str


@dataclass(frozen=True)
class BasicAuthCredential:
    username: str
    password: str
    """Plain in kong.yml; Kong hashes it when it loads the file (kong/plugins/basic-auth/daos.lua)."""


@dataclass(frozen=True)
class AclGroup:
    group: str


@dataclass(frozen=True)
class Consumer:
    username: str
    jwt_secrets: tuple[JwtSecret, ...] = ()
    keyauth_credentials: tuple[KeyAuthCredential, ...] = ()
    basicauth_credentials: tuple[BasicAuthCredential, ...] = ()
    acls: tuple[AclGroup, ...] = ()


@dataclass(frozen=True)
class KongConfig:
    services: tuple[Service, ...] = ()
    upstreams: tuple[Upstream, ...] = ()
    consumers: tuple[Consumer, ...] = ()
    plugins: tuple[Plugin, ...] = ()
    """Global plugins (every route)."""

    def service(self, name: str) -> Service:
        return next(service for service in self.services if service.name == name)

    def upstream(self, name: str) -> Upstream:
        return next(upstream for upstream in self.upstreams if upstream.name == name)


class KongFileError(ValueError):
    """A kong.yml that does not fit the model (unknown field, wrong shape, other format version)."""


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value) if getattr(value, f.name) is not None}
    if isinstance(value, (tuple, list)):
        return [_to_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _to_plain(item) for key, item in value.items()}
    return value


def render_kong_yml(config: KongConfig) -> str:
    """The declarative file Kong loads at start (`KONG_DECLARATIVE_CONFIG`)."""
    document = {"_format_version": FORMAT_VERSION, **_to_plain(config)}
    header = "# Rendered by service-mesh from the catalog and mesh:gateway; edit the stack config, not this file.\n"
    return header + dump_yaml(document)


def _from_plain(kind: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(kind) if option is not type(None)]
        return None if data is None else _from_plain(options[0], data, where)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if not isinstance(data, Mapping):
            raise KongFileError(f"{where}: expected a mapping")
        hints = typing.get_type_hints(kind)
        unknown = sorted(set(data) - set(hints))
        if unknown:
            raise KongFileError(f"{where}: unknown field {unknown[0]!r}")
        return kind(**{name: _from_plain(hints[name], data[name], f"{where}.{name}") for name in hints if name in data})
    if origin is tuple:
        if not isinstance(data, list):
            raise KongFileError(f"{where}: expected a list")
        item_kind = typing.get_args(kind)[0]
        return tuple(_from_plain(item_kind, item, f"{where}[{index}]") for index, item in enumerate(data))
    if origin is Literal:
        if data not in typing.get_args(kind):
            raise KongFileError(f"{where}: {data!r} is not one of {typing.get_args(kind)}")
        return data
    if origin in (Mapping, dict) or kind is Any:
        return data
    if isinstance(kind, type) and not isinstance(data, kind):
        raise KongFileError(f"{where}: expected {kind.__name__}, got {data!r}")
    return data


def parse_kong_yml(text: str) -> KongConfig:
    """Read a rendered kong.yml back into the model (the inverse of `render_kong_yml`)."""
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        raise KongFileError("kong.yml: expected a mapping at the top")
    version = document.pop("_format_version", None)
    if version != FORMAT_VERSION:
        raise KongFileError(f"_format_version: expected {FORMAT_VERSION!r}, got {version!r}")
    parsed: KongConfig = _from_plain(KongConfig, document, "kong.yml")
    return parsed
