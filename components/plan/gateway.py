"""The gateway plan: which services Kong routes, how it balances and breaks circuits for each, as typed data.

`plan_gateway` checks `mesh:gateway` against the deployed endpoints (every mistake is a one-line
`ConfigError` naming the key) and `kong_config` turns the plan plus the generated credentials into the
`KongConfig` that renders to kong.yml. Upstream targets are the endpoints' `<address>:<port>`, one per
replica. Pure: no Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from components.catalog.endpoint import Endpoint
from components.catalog.kong_limits import ProbeType
from components.catalog.names import ALERTMANAGER, BACKEND, CONSUL, GRAFANA, JAEGER, PROMETHEUS, RABBITMQ
from components.catalog.services import CATALOG
from components.model.base import ConfigError
from components.model.gateway import UpstreamSettings
from components.model.mesh import CONFIG_NAMESPACE, MeshConfig
from components.render.kong import (
    AclGroup,
    ActiveHealthcheck,
    ActiveHealthy,
    ActiveUnhealthy,
    BasicAuthCredential,
    Consumer,
    Healthchecks,
    JwtSecret,
    KeyAuthCredential,
    KongConfig,
    PassiveHealthcheck,
    PassiveHealthy,
    PassiveUnhealthy,
    Plugin,
    Route,
    Service,
    Target,
    Upstream,
)

API_PATH = "/api"
HEALTH_PATH = "/health"
CONSUMER = "mesh-client"
JWT_ISSUER = "mesh-client"
"""The `iss` claim a token carries: it names the consumer's JWT credential."""
API_KEY_HEADER = "apikey"
PROBE_TIMEOUT_S = 5
DEFAULT_WEIGHT = 100
DEFAULT_RATE_LIMIT_PER_MINUTE = 600

# UIs the gateway can publish: service -> (catalog port name, a path that answers 200 when it is up)
UI_PORTS: dict[str, tuple[str, str]] = {
    GRAFANA: ("http", "/api/health"),
    PROMETHEUS: ("http", "/-/healthy"),
    ALERTMANAGER: ("http", "/-/ready"),
    JAEGER: ("ui", "/"),
    CONSUL: ("http", "/v1/status/leader"),
    RABBITMQ: ("management", "/"),
}
TRACES_SERVICE, TRACES_PORT_NAME, TRACES_PATH = JAEGER, "otlp-http", "/v1/traces"
NOT_ROUTED_KINDS = frozenset({"database"})


@dataclass(frozen=True)
class Breaker:
    """Circuit breaker of one upstream, in the original design's terms."""

    failures: int
    timeout_s: int
    recovery_s: int
    successes: int = 1
    probe_interval_s: int = 10


# from the original design: backend 5 failures / 30 s timeout / 60 s recovery, MCP 5 / 15 / 45; an MCP
# server's timeout is its connect timeout only, its streams get MCP_STREAM_TIMEOUT_S
DEFAULT_BREAKERS: dict[str, Breaker] = {"core": Breaker(5, 30, 60), "mcp": Breaker(5, 5, 45)}
MCP_STREAM_TIMEOUT_S = 3600
"""Read/write timeout of MCP routes: a tool call or an idle event stream may last this long."""
STREAMING_KINDS = frozenset({"mcp"})
DEFAULT_ALGORITHM = "round-robin"
DEFAULT_HASH_ON = "path"
DNS_VALID_TTL_CAP_S = 5

Auth = Literal["jwt", "key-auth", "basic-auth", "none"]

# paths of a UI that change or stop the service: refused at the proxy (403) on the UI's host
UI_BLOCKED_PATHS: dict[str, tuple[str, ...]] = {
    # lifecycle and TSDB admin API: both off in Prometheus' command, refused here too as defence in depth
    PROMETHEUS: ("/-/quit", "/-/reload", "/api/v1/admin"),
    ALERTMANAGER: ("/-/reload",),
}
# methods that write: Alertmanager's API creates and expires silences and posts alerts with them
UI_READ_ONLY = {ALERTMANAGER: ("GET", "HEAD")}


@dataclass(frozen=True)
class RouteSpec:
    name: str
    auth: Auth
    paths: tuple[str, ...] | None = None
    hosts: tuple[str, ...] | None = None
    methods: tuple[str, ...] | None = None
    strip_path: bool = False
    ui: str | None = None
    """The UI whose own consumer may use this route (basic-auth + acl)."""
    refused_with: int | None = None
    """Kong answers this status itself (request-termination): the request never reaches the upstream."""


@dataclass(frozen=True)
class TargetSpec:
    address: str
    port: int
    weight: int


@dataclass(frozen=True)
class RoutedService:
    name: str
    kind: str
    port: int
    service_path: str
    targets: tuple[TargetSpec, ...]
    routes: tuple[RouteSpec, ...]
    algorithm: str
    hash_on: str
    breaker: Breaker
    probe_type: ProbeType
    probe_path: str
    rate_limit_per_minute: int
    read_timeout_s: int
    """Read/write timeout; the breaker's `timeout_s` is the connect timeout."""

    @property
    def upstream(self) -> str:
        return f"{self.name}-upstream"

    @property
    def streams(self) -> bool:
        """MCP: long tool calls and server-sent event streams, never buffered, never a timeout failure."""
        return self.kind in STREAMING_KINDS

    @property
    def retries(self) -> int:
        """Kong retries on another target: none with one target (it would hit the same one), else at most targets-1."""
        return max(0, sum(1 for target in self.targets if target.weight > 0) - 1)


@dataclass(frozen=True)
class GatewayPlan:
    services: tuple[RoutedService, ...]
    cors_origins: tuple[str, ...]
    traces_endpoint: str | None
    """OTLP/HTTP traces endpoint for Kong's opentelemetry plugin (None when Jaeger is not deployed)."""
    sampling_rate: float

    def service(self, name: str) -> RoutedService:
        return next(service for service in self.services if service.name == name)

    @property
    def dns_valid_ttl_s(self) -> int:
        """How long Kong trusts a resolved target address (`KONG_DNS_VALID_TTL`): at most one probe interval.

        Docker's DNS answers with a TTL of 600 s; a replaced container comes back under its alias with a new IP,
        and until the old answer expires Kong keeps sending to the dead one (503s). Kong re-resolves once this
        expires, so a replaced target is back within one breaker probe interval.
        """
        intervals = [service.breaker.probe_interval_s for service in self.services]
        return min([DNS_VALID_TTL_CAP_S, *intervals])


@dataclass(frozen=True)
class GatewayCredentials:
    """The consumer's secrets (generated by the stack with pulumi_random)."""

    jwt_secret: str
    api_key: str
    jwt_issuer: str = JWT_ISSUER
    ui_passwords: Mapping[str, str] = field(default_factory=dict)
    """Per UI published through the proxy, its basic-auth password (user: the UI's name)."""


def ui_consumer(ui: str) -> str:
    """The consumer (and ACL group) whose basic-auth credential opens one UI, and only that one."""
    return f"{ui}-ui"


def _key(*parts: str) -> str:
    return f"{CONFIG_NAMESPACE}:gateway." + ".".join(parts)


@dataclass(frozen=True)
class _Candidate:
    name: str
    kind: str
    endpoints: tuple[Endpoint, ...]
    port: int
    service_path: str
    routes: tuple[RouteSpec, ...]
    probe: tuple[ProbeType, str]
    default_rate_limit: int


def _probe(endpoint: Endpoint) -> tuple[ProbeType, str]:
    """Active probes hit the target's own port: HTTP where the service's check is on it, else a TCP connect."""
    check = endpoint.check
    if check is not None and check.kind == "http" and check.port == endpoint.port:
        return "http", check.path or "/"
    return "tcp", "/"


def _why_not_routed(name: str, deployed: set[str]) -> str:
    spec = CATALOG.get(name)
    if spec is None and name not in deployed:
        return f"unknown service {name!r}"
    if spec is not None and spec.kind in NOT_ROUTED_KINDS:
        return f"{name} is a {spec.kind}; databases are not routed through the gateway"
    if name not in deployed:
        return f"{name} is disabled (mesh:services.{name}.enabled); enable it or remove this entry"
    return f"{name} has no route through the gateway (publish a UI with mesh:gateway.ui)"


def _candidates(config: MeshConfig, endpoints: Sequence[Endpoint], deployed: set[str]) -> list[_Candidate]:
    by_service: dict[str, list[Endpoint]] = {}
    for endpoint in endpoints:
        by_service.setdefault(endpoint.service, []).append(endpoint)
    gateway = config.gateway
    found: list[_Candidate] = []

    backend = by_service.get(BACKEND)
    if backend:
        found.append(
            _Candidate(
                BACKEND,
                backend[0].kind,
                tuple(backend),
                backend[0].port,
                "/",
                (
                    RouteSpec(f"{BACKEND}-api", "jwt", paths=(API_PATH,)),
                    RouteSpec(f"{BACKEND}-health", "none", paths=(HEALTH_PATH,), methods=("GET", "HEAD")),
                ),
                _probe(backend[0]),
                DEFAULT_RATE_LIMIT_PER_MINUTE,
            )
        )

    for name, instances in by_service.items():
        route_path = instances[0].route_path
        if name == BACKEND or route_path is None or instances[0].kind in NOT_ROUTED_KINDS:
            continue
        path = gateway.paths.get(name, route_path)
        found.append(
            _Candidate(
                name,
                instances[0].kind,
                tuple(instances),
                instances[0].port,
                instances[0].service_path,
                (RouteSpec(name, "key-auth", paths=(path,), strip_path=True),),
                _probe(instances[0]),
                DEFAULT_RATE_LIMIT_PER_MINUTE,
            )
        )

    routed_by_path = {candidate.name for candidate in found}
    for name in gateway.paths:
        if name not in routed_by_path:
            reason = (
                f"{name}'s UI is routed by host name ({name}.{gateway.ui_domain}), not by path"
                if name in gateway.ui
                else _why_not_routed(name, deployed)
            )
            raise ConfigError(_key("paths", name), reason)

    for index, name in enumerate(gateway.ui):
        key = f"{CONFIG_NAMESPACE}:gateway.ui[{index}]"
        if name in gateway.ui[:index]:
            raise ConfigError(key, f"{name} is listed twice")
        if name not in UI_PORTS:
            reason = _why_not_routed(name, deployed) if name not in CATALOG else f"{name} has no UI to publish"
            raise ConfigError(key, f"{reason} (UIs: {', '.join(UI_PORTS)})")
        if name not in deployed:
            raise ConfigError(key, _why_not_routed(name, deployed))
        port_name, probe_path = UI_PORTS[name]
        port = next(port.internal for port in CATALOG[name].ports if port.name == port_name)
        host = f"{name}.{gateway.ui_domain}"
        ui_routes = [RouteSpec(f"{name}-ui", "basic-auth", hosts=(host,), ui=name)]
        if name in UI_BLOCKED_PATHS:
            ui_routes.append(RouteSpec(f"{name}-ui-blocked", "none", hosts=(host,), paths=UI_BLOCKED_PATHS[name], refused_with=403))
        if name in UI_READ_ONLY:
            writes = tuple(method for method in ("POST", "PUT", "PATCH", "DELETE") if method not in UI_READ_ONLY[name])
            ui_routes.append(RouteSpec(f"{name}-ui-write", "none", hosts=(host,), methods=writes, refused_with=403))
        found.append(
            _Candidate(
                name,
                CATALOG[name].kind,
                tuple(by_service[name]),
                port,
                "/",
                tuple(ui_routes),
                ("http", probe_path),
                0,
            )
        )
    return found


def _check_paths(candidates: list[_Candidate], config: MeshConfig) -> None:
    owners: dict[tuple[tuple[str, ...], str], str] = {}
    for candidate in candidates:
        for route in candidate.routes:
            for path in route.paths or ():
                # a UI's blocked paths live on its own host name: they clash with nothing routed by path alone
                key = (route.hosts or (), path)
                if key in owners:
                    owner = owners[key]
                    blamed = candidate.name if candidate.name in config.gateway.paths or owner not in config.gateway.paths else owner
                    other = owner if blamed == candidate.name else candidate.name
                    raise ConfigError(
                        _key("paths", blamed), f"route path {path} is already the route of {other}; give {blamed} another path"
                    )
                owners[key] = candidate.name


def _resolve(candidate: _Candidate, settings: UpstreamSettings) -> RoutedService:
    base = DEFAULT_BREAKERS.get(candidate.kind, DEFAULT_BREAKERS["core"])
    breaker = Breaker(
        failures=settings.failures or base.failures,
        timeout_s=settings.timeout_s or base.timeout_s,
        recovery_s=settings.recovery_s or base.recovery_s,
        successes=settings.successes or base.successes,
        probe_interval_s=settings.probe_interval_s or base.probe_interval_s,
    )
    algorithm = settings.algorithm or DEFAULT_ALGORITHM
    if settings.hash_on is not None and algorithm != "consistent-hashing":
        raise ConfigError(_key("upstreams", candidate.name, "hashOn"), f"only consistent-hashing hashes; {candidate.name} uses {algorithm}")
    hash_on = "none"
    if algorithm == "consistent-hashing":
        hash_on = settings.hash_on or DEFAULT_HASH_ON
        why_not = _why_hash_cannot_spread(candidate, hash_on)
        if why_not:
            key = _key("upstreams", candidate.name, "hashOn" if settings.hash_on else "algorithm")
            raise ConfigError(key, why_not)
    instances = [endpoint.instance for endpoint in candidate.endpoints]
    for instance in settings.weights:
        if instance not in instances:
            raise ConfigError(
                _key("upstreams", candidate.name, "weights", instance),
                f"{candidate.name} has no instance {instance!r} (instances: {', '.join(instances)})",
            )
    targets = tuple(
        TargetSpec(endpoint.address, candidate.port, settings.weights.get(endpoint.instance, DEFAULT_WEIGHT))
        for endpoint in candidate.endpoints
    )
    if all(target.weight == 0 for target in targets):
        raise ConfigError(
            _key("upstreams", candidate.name, "weights"), f"every instance of {candidate.name} weighs 0; nothing would get traffic"
        )
    rate_limit = candidate.default_rate_limit if settings.rate_limit_per_minute is None else settings.rate_limit_per_minute
    return RoutedService(
        name=candidate.name,
        kind=candidate.kind,
        port=candidate.port,
        service_path=candidate.service_path,
        targets=targets,
        routes=candidate.routes,
        algorithm=algorithm,
        hash_on=hash_on,
        breaker=breaker,
        probe_type=candidate.probe[0],
        probe_path=candidate.probe[1],
        rate_limit_per_minute=rate_limit,
        read_timeout_s=settings.read_timeout_s or (MCP_STREAM_TIMEOUT_S if candidate.kind in STREAMING_KINDS else breaker.timeout_s),
    )


def _why_hash_cannot_spread(candidate: _Candidate, hash_on: str) -> str | None:
    """Consistent hashing on a value every request shares sends all traffic to one target."""
    if hash_on == "consumer":
        return f"hashing on the consumer sends all of {candidate.name}'s traffic to one target: every client authenticates as {CONSUMER}"
    if hash_on == "ip":
        return (
            f"hashing on the client IP sends all of {candidate.name}'s traffic to one target: "
            "clients on this host reach the proxy through Docker's port forwarding and share its gateway address"
        )
    paths = {path for route in candidate.routes for path in route.paths or ()}
    if hash_on == "path" and (candidate.kind in STREAMING_KINDS or (len(paths) < 2 and not any(route.hosts for route in candidate.routes))):
        return (
            f"hashing on the path sends all of {candidate.name}'s traffic to one target: every request goes to its one endpoint "
            "(use round-robin or least-connections)"
        )
    return None


def plan_gateway(config: MeshConfig, endpoints: Sequence[Endpoint]) -> GatewayPlan:
    """What the gateway routes for these endpoints under this config. Raises `ConfigError`."""
    deployed = {endpoint.service for endpoint in endpoints}
    candidates = _candidates(config, endpoints, deployed)
    routed = {candidate.name: candidate for candidate in candidates}
    for name in config.gateway.upstreams:
        if name not in routed:
            raise ConfigError(_key("upstreams", name), _why_not_routed(name, deployed))
    _check_paths(candidates, config)
    services = tuple(_resolve(candidate, config.gateway.upstreams.get(candidate.name, UpstreamSettings())) for candidate in candidates)

    traces_endpoint = None
    if TRACES_SERVICE in deployed:
        traces_endpoint = f"http://{CATALOG[TRACES_SERVICE].mesh_address(TRACES_PORT_NAME)}{TRACES_PATH}"
    return GatewayPlan(
        services=services,
        cors_origins=tuple(config.gateway.cors_origins),
        traces_endpoint=traces_endpoint,
        sampling_rate=config.gateway.tracing_sampling_rate,
    )


def _healthchecks(service: RoutedService) -> Healthchecks:
    breaker = service.breaker
    # a long MCP tool call that times out is not a sign of a dead server; refused connections and 5xx still count
    passive_timeouts = 0 if service.streams else breaker.failures
    return Healthchecks(
        active=ActiveHealthcheck(
            type=service.probe_type,
            http_path=service.probe_path,
            timeout=min(PROBE_TIMEOUT_S, breaker.timeout_s),
            healthy=ActiveHealthy(interval=breaker.probe_interval_s, successes=breaker.successes),
            unhealthy=ActiveUnhealthy(
                interval=breaker.recovery_s,
                http_failures=breaker.failures,
                tcp_failures=breaker.failures,
                timeouts=breaker.failures,
            ),
        ),
        passive=PassiveHealthcheck(
            # a success resets the failure counters, so the breaker opens on failures in a row
            healthy=PassiveHealthy(successes=breaker.successes),
            unhealthy=PassiveUnhealthy(http_failures=breaker.failures, tcp_failures=breaker.failures, timeouts=passive_timeouts),
        ),
    )


def _route_plugins(route: RouteSpec) -> tuple[Plugin, ...]:
    if route.refused_with is not None:
        return (Plugin("request-termination", {"status_code": route.refused_with, "message": "not available through the gateway"}),)
    if route.auth == "basic-auth" and route.ui is not None:
        # the UI's own consumer only: another UI's password (or the API consumer) does not open it
        return (
            Plugin("basic-auth", {"hide_credentials": True, "realm": route.ui}),
            Plugin("acl", {"allow": [ui_consumer(route.ui)], "hide_groups_header": True}),
        )
    return _auth_plugin(route.auth)


def _auth_plugin(auth: Auth) -> tuple[Plugin, ...]:
    # preflight requests carry no credentials; the cors plugin answers them. Credentials only in headers:
    # a query string (?jwt=, ?apikey=) lands in access logs
    if auth == "jwt":
        return (
            Plugin(
                "jwt",
                {
                    "claims_to_verify": ["exp"],
                    "key_claim_name": "iss",
                    "run_on_preflight": False,
                    "header_names": ["authorization"],
                    "uri_param_names": [],
                    "cookie_names": [],
                },
            ),
        )
    if auth == "key-auth":
        return (
            Plugin(
                "key-auth",
                {
                    "key_names": [API_KEY_HEADER],
                    "hide_credentials": True,
                    "run_on_preflight": False,
                    "key_in_header": True,
                    "key_in_query": False,
                    "key_in_body": False,
                },
            ),
        )
    return ()


def _global_plugins(plan: GatewayPlan) -> tuple[Plugin, ...]:
    plugins = [
        Plugin(
            "prometheus",
            {
                "status_code_metrics": True,
                "latency_metrics": True,
                "upstream_health_metrics": True,
                "bandwidth_metrics": True,
                "per_consumer": False,
            },
        )
    ]
    if plan.cors_origins:
        plugins.append(
            Plugin(
                "cors",
                {
                    "origins": list(plan.cors_origins),
                    "methods": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                    "headers": ["Accept", "Authorization", "Content-Type", API_KEY_HEADER, "Mcp-Session-Id", "Mcp-Protocol-Version"],
                    "exposed_headers": ["Mcp-Session-Id"],
                    "credentials": False,
                    "max_age": 3600,
                },
            )
        )
    if plan.traces_endpoint is not None:
        plugins.append(Plugin("opentelemetry", {"traces_endpoint": plan.traces_endpoint, "resource_attributes": {"service.name": "kong"}}))
    return tuple(plugins)


def kong_config(plan: GatewayPlan, credentials: GatewayCredentials) -> KongConfig:
    """The declarative Kong configuration of this plan."""
    services = []
    upstreams = []
    for routed in plan.services:
        connect_ms, read_ms = routed.breaker.timeout_s * 1000, routed.read_timeout_s * 1000
        rate_limit = (
            (Plugin("rate-limiting", {"minute": routed.rate_limit_per_minute, "policy": "local", "limit_by": "consumer"}),)
            if routed.rate_limit_per_minute > 0
            else ()
        )
        services.append(
            Service(
                name=routed.name,
                host=routed.upstream,
                port=routed.port,
                path=routed.service_path,
                connect_timeout=connect_ms,
                read_timeout=read_ms,
                write_timeout=read_ms,
                retries=routed.retries,
                routes=tuple(
                    Route(
                        name=route.name,
                        paths=route.paths,
                        hosts=route.hosts,
                        methods=route.methods,
                        strip_path=route.strip_path,
                        response_buffering=not routed.streams,
                        plugins=_route_plugins(route),
                    )
                    for route in routed.routes
                ),
                plugins=rate_limit,
            )
        )
        upstreams.append(
            Upstream(
                name=routed.upstream,
                algorithm=routed.algorithm,  # type: ignore[arg-type]  # checked by gateway_config
                hash_on=routed.hash_on,  # type: ignore[arg-type]
                healthchecks=_healthchecks(routed),
                targets=tuple(Target(f"{target.address}:{target.port}", target.weight) for target in routed.targets),
            )
        )
    consumer = Consumer(
        username=CONSUMER,
        jwt_secrets=(JwtSecret(key=credentials.jwt_issuer, secret=credentials.jwt_secret),),
        keyauth_credentials=(KeyAuthCredential(key=credentials.api_key),),
    )
    uis = [route.ui for routed in plan.services for route in routed.routes if route.ui is not None]
    missing = [ui for ui in uis if ui not in credentials.ui_passwords]
    if missing:
        raise ValueError(f"no basic-auth password for the UI(s) {', '.join(missing)}")
    ui_consumers = tuple(
        Consumer(
            username=ui_consumer(ui),
            basicauth_credentials=(BasicAuthCredential(username=ui, password=credentials.ui_passwords[ui]),),
            acls=(AclGroup(group=ui_consumer(ui)),),
        )
        for ui in uis
    )
    return KongConfig(
        services=tuple(services), upstreams=tuple(upstreams), consumers=(consumer, *ui_consumers), plugins=_global_plugins(plan)
    )
