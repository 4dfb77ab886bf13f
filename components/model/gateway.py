"""`mesh:gateway`: how the Kong gateway balances, breaks circuits, rate-limits and which UIs it exposes.

Typed and range-checked here (pydantic); checks against the deployed services (unknown or disabled
services, instances, duplicate paths) happen in `components/plan/gateway.py`. Pure: no Pulumi.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from components.catalog.kong_limits import ALGORITHMS, COUNTER_RANGE, HASH_INPUTS, SECONDS_RANGE, WEIGHT_RANGE
from components.catalog.kong_schema import router_path_error


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, frozen=True)


def _algorithm(name: str) -> str:
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r} (known: {', '.join(ALGORITHMS)})")
    return name


def _hash_input(name: str) -> str:
    choices = [choice for choice in HASH_INPUTS if choice != "none"]
    if name not in choices:
        raise ValueError(f"unknown hash input {name!r} (known: {', '.join(choices)})")
    return name


def _breaker_count(count: int) -> int:
    low, high = COUNTER_RANGE
    if not low <= count <= high:
        raise ValueError(f"{count} is outside Kong's health counter range {low}-{high}")
    if count == 0:
        raise ValueError("0 switches the count off in Kong; the circuit breaker would never open or close (use 1-255)")
    return count


def _seconds(seconds: int) -> int:
    low, high = SECONDS_RANGE
    if not low < seconds <= high:
        raise ValueError(f"{seconds} is outside Kong's interval range 1-{high} seconds")
    return seconds


def _weight(weight: int) -> int:
    low, high = WEIGHT_RANGE
    if not low <= weight <= high:
        raise ValueError(f"weight {weight} is outside Kong's range {low}-{high}")
    return weight


def _path(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError(f"{path!r} is not a plain path prefix (it must start with '/')")
    # Kong refuses the whole kong.yml at start over one bad route path: refuse it here first
    problem = router_path_error(path)
    if problem:
        raise ValueError(problem)
    if path != "/" and path.endswith("/"):
        raise ValueError(f"{path!r} ends with '/'; give the prefix without it")
    return path


# Kong's cors handler compares an origin made only of [A-Za-z0-9.:/-] literally and treats anything else
# as a regex (kong/plugins/cors/handler.lua): only literal origins are accepted, so none matches by accident
_LITERAL_ORIGIN = re.compile(r"^https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:(?P<port>[0-9]{1,5}))?$")


def _origin(origin: str) -> str:
    if origin == "*":
        return origin
    match = _LITERAL_ORIGIN.match(origin)
    if not match:
        raise ValueError(
            f"{origin!r} is not an origin: scheme://host[:port] with no path, e.g. http://localhost:3000 (or *); "
            "Kong would take anything else as a regex"
        )
    port = match.group("port")
    if port is not None and not 0 < int(port) <= 65535:
        raise ValueError(f"{origin!r} has port {port}, outside 1-65535")
    return origin


# Kong's host names (kong/tools/ip.lua check_hostname, used by the route `hosts` validator): letters, digits,
# '-', '.', '_'; no label ends with '-'; no empty label except a final dot.
_HOST_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def _ui_domain(domain: str) -> str:
    labels = domain.split(".")
    if not _HOST_NAME.fullmatch(domain) or any(label.endswith("-") for label in labels) or any(label == "" for label in labels[:-1]):
        raise ValueError(f"{domain!r} is not a host name Kong routes (letters, digits, '-', '.', '_'; e.g. localhost, mesh.example.com)")
    return domain


BreakerCount = Annotated[int, AfterValidator(_breaker_count)]
Seconds = Annotated[int, AfterValidator(_seconds)]


class UpstreamSettings(_Strict):
    """`mesh:gateway.upstreams.<service>`: balancing and circuit breaker of one routed service.

    Unset fields take the defaults of the service's kind (backend 5 failures / 30 s / 60 s, MCP 5 / 5 s connect / 45).
    """

    algorithm: Annotated[str, AfterValidator(_algorithm)] | None = None
    hash_on: Annotated[str, AfterValidator(_hash_input)] | None = Field(default=None, alias="hashOn")
    """What consistent-hashing hashes (ip, consumer, path); only with that algorithm."""
    failures: BreakerCount | None = None
    """Failures (5xx, refused connections, timeouts) in a row that open the breaker for a target."""
    timeout_s: Seconds | None = Field(default=None, alias="timeoutS")
    """Connect timeout of a proxied request (and its read/write timeout unless readTimeoutS says otherwise)."""
    read_timeout_s: Seconds | None = Field(default=None, alias="readTimeoutS")
    """Read/write timeout of a proxied request (default: timeoutS; 3600 for MCP servers, whose tool calls and streams run long)."""
    recovery_s: Seconds | None = Field(default=None, alias="recoveryS")
    """How long an open breaker waits before it probes the target again."""
    successes: BreakerCount | None = None
    """Probe successes that close the breaker again."""
    probe_interval_s: Seconds | None = Field(default=None, alias="probeIntervalS")
    """Seconds between probes of healthy targets."""
    weights: dict[str, Annotated[int, AfterValidator(_weight)]] = Field(default_factory=dict)
    """Per instance (`backend`, `backend-2`...), its share of traffic; unlisted instances weigh 100, 0 drains one."""
    rate_limit_per_minute: int | None = Field(default=None, alias="rateLimitPerMinute", ge=0, le=1_000_000)
    """Requests per minute per consumer (or client IP) on this service's routes; 0 turns the limit off."""


DEFAULT_CORS_ORIGINS = ("http://localhost:3000", "http://127.0.0.1:3000")


class GatewayConfig(_Strict):
    """`mesh:gateway`: everything the Kong gateway takes from the stack config."""

    upstreams: dict[str, UpstreamSettings] = Field(default_factory=dict)
    paths: dict[str, Annotated[str, AfterValidator(_path)]] = Field(default_factory=dict)
    """Route path per routed service, instead of its default (`/api` for the backend, `/mcp/<name>`...)."""
    ui: list[str] = Field(default_factory=list)
    """UIs published through the proxy by host name (`<name>.<uiDomain>`): grafana, prometheus, jaeger..."""
    ui_domain: Annotated[str, AfterValidator(_ui_domain)] = Field(default="localhost", alias="uiDomain", min_length=1)
    cors_origins: list[Annotated[str, AfterValidator(_origin)]] = Field(
        default_factory=lambda: list(DEFAULT_CORS_ORIGINS), alias="corsOrigins"
    )
    tracing_sampling_rate: float = Field(default=1.0, alias="tracingSamplingRate", ge=0, le=1)
