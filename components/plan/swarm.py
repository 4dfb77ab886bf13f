"""The swarm plan: how each deployed service runs as a Docker Swarm service, as plain typed data.

`plan_swarm` decides per service its scheduling (replicated stateless tasks, one task pinned to the node that
holds its data, Consul's servers spread one per node, per-node agents on every node), its placement, update
and rollback policies, the ports it publishes in host mode and which credential environment variables become
secret files. `components.resources.swarm_service` turns it into `docker.Service`s. Durations and numbers are
written the way the provider reads them back (`shortDur` in terraform-provider-docker's
`resource_docker_service_structures.go`), so a second `up` finds nothing to change. Pure: no Pulumi.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from components.catalog.endpoint import Endpoint
from components.catalog.names import (
    BACKEND,
    BLACKBOX_EXPORTER,
    CONSUL,
    CONSUL_EXPORTER,
    GRAFANA,
    KONG,
    NEO4J,
    POSTGRES,
    POSTGRES_EXPORTER,
    REDIS,
    REDIS_EXPORTER,
)
from components.catalog.services import Probe
from components.model.base import ConfigError
from components.model.mesh import CONFIG_NAMESPACE, MeshConfig
from components.plan.services import DeployedService

Scheduling = Literal["replicated", "pinned", "clustered", "global", "single"]

REPLICATED = frozenset({KONG, BACKEND, BLACKBOX_EXPORTER, POSTGRES_EXPORTER, REDIS_EXPORTER, CONSUL_EXPORTER})
"""Stateless services that run several tasks behind one DNS name (`dnsrr`): the gateway, the backend, the exporters."""
CLUSTERED = CONSUL
"""Consul's servers: one task per node, `bootstrap_expect` of them, joined through the swarm's DNS."""
EDGE_LABEL = "mesh.edge"
ZONE_LABEL = "mesh.zone"
"""Consul's servers spread over the values of this node label (one failure domain per value)."""
BUILT_LOCALLY = BACKEND
"""Built by the stack on the daemon `pulumi up` talks to; the other nodes of a swarm would not have it."""
SECRETS_DIR = "/run/secrets"
FILE_MODE = 0o444
"""Secrets and configs are read-only files; images drop root for their own user, so it must be able to read them."""
SENSITIVE_PORTS = frozenset({"kong:8001"})
"""Never published on a swarm: host mode binds every interface of the node (Kong's admin API can rewrite the gateway)."""
UPDATE_DELAY_S = 10
UPDATE_MONITOR_S = 30
"""How long a new task must stay healthy before the update moves on; a failure inside it rolls back."""
RESTART_DELAY_S = 5
RESTART_WINDOW_S = 120
CONVERGE_TIMEOUT_S = 600
CONVERGE_DELAY_S = 7
SPREAD_ONE_PER_NODE = 1


def go_duration(seconds: int) -> str:
    """A duration as Go's `time.Duration.String()` trimmed by the provider's `shortDur` (`90s` reads back `1m30s`)."""
    if seconds == 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + f"{secs}s"
    # shortDur: "1m0s" -> "1m", "1h0m" (after the first cut) -> "1h"
    if text.endswith("m0s"):
        text = text[:-2]
    if text.endswith("h0m"):
        text = text[:-2]
    return text


@dataclass(frozen=True)
class SecretEnv:
    """A credential the docker platform passes in the environment, delivered on a swarm as a secret file."""

    env: str
    """The variable the wiring sets (`POSTGRES_PASSWORD`)."""
    file_env: str | None
    """The variable the image reads the file's path from (`POSTGRES_PASSWORD_FILE`); None: only the probe uses it."""
    render: Callable[[str], str] = str
    """The file's content from the value (most images read the bare value)."""

    @property
    def path(self) -> str:
        return f"{SECRETS_DIR}/{self.env.lower()}"


def _redis_exporter_password_file(password: str) -> str:
    # redis_exporter's --redis.password-file is a JSON map from the scraped URI to its password
    return json.dumps({"redis://redis:6379": password})


# Every credential variable of the docker platform's wiring, with where each image reads it from a file instead
# (a test holds this table to the wiring). Sources: docker-library postgres `file_env`; postgres_exporter
# `DATA_SOURCE_PASS_FILE`; redis_exporter `REDIS_PASSWORD_FILE`; neo4j's image `NEO4J_AUTH_FILE`; Grafana's
# `__FILE` suffix for any GF_ variable; Consul's API client `CONSUL_HTTP_TOKEN_FILE`; the backend's `_FILE`
# variables (backend/mesh_backend/settings.py).
SECRET_ENVS: Mapping[str, tuple[SecretEnv, ...]] = {
    POSTGRES: (SecretEnv("POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE"),),
    POSTGRES_EXPORTER: (SecretEnv("DATA_SOURCE_PASS", "DATA_SOURCE_PASS_FILE"),),
    REDIS: (SecretEnv("REDISCLI_AUTH", None),),
    REDIS_EXPORTER: (SecretEnv("REDIS_PASSWORD", "REDIS_PASSWORD_FILE", _redis_exporter_password_file),),
    NEO4J: (SecretEnv("NEO4J_AUTH", "NEO4J_AUTH_FILE"),),
    GRAFANA: (SecretEnv("GF_SECURITY_ADMIN_PASSWORD", "GF_SECURITY_ADMIN_PASSWORD__FILE"),),
    CONSUL_EXPORTER: (SecretEnv("CONSUL_HTTP_TOKEN", "CONSUL_HTTP_TOKEN_FILE"),),
    BACKEND: tuple(
        SecretEnv(name, f"{name}_FILE")
        for name in (
            "MESH_JWT_SECRET",
            "MESH_CONSUL_TOKEN",
            "MESH_DB_POSTGRES",
            "MESH_DB_REDIS",
            "MESH_DB_NEO4J",
            "MESH_DB_RABBITMQ",
        )
    ),
}


@dataclass(frozen=True)
class Placement:
    constraints: tuple[str, ...] = ()
    prefs: tuple[str, ...] = ()
    """Spread descriptors (`node.labels.mesh.zone`), as the provider reads them back."""
    max_replicas: int = 0
    """Tasks per node at most; 0: no limit."""


@dataclass(frozen=True)
class UpdatePolicy:
    order: Literal["start-first", "stop-first"]
    failure_action: Literal["rollback", "pause", "continue"]
    parallelism: int = 1
    delay: str = go_duration(UPDATE_DELAY_S)
    monitor: str = go_duration(UPDATE_MONITOR_S)
    max_failure_ratio: str = "0.0"
    """Read back with one decimal (`strconv.FormatFloat(..., 'f', 1, 64)`)."""


@dataclass(frozen=True)
class EdgePort:
    internal: int
    published: int
    name: str


@dataclass(frozen=True)
class SwarmServicePlan:
    service: DeployedService
    scheduling: Scheduling
    replicas: int | None
    """Tasks of a replicated-mode service; None for a global one (one per node)."""
    placement: Placement
    update: UpdatePolicy
    rollback: UpdatePolicy
    ports: tuple[EdgePort, ...]
    probe: Probe
    secret_envs: tuple[SecretEnv, ...]
    hostname: str | None = None
    """A task hostname template (`{{.Node.Hostname}}`): Consul names its node after it, so it must outlive the task."""

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def data_label(self) -> str:
        """The node label that pins a stateful service to the node holding its volumes."""
        return f"mesh.data.{self.name}"


@dataclass(frozen=True)
class SwarmPlan:
    services: tuple[SwarmServicePlan, ...]
    subnet: str
    encrypted: bool

    def service(self, name: str) -> SwarmServicePlan:
        return next(plan for plan in self.services if plan.name == name)


def _key(*parts: str) -> str:
    return f"{CONFIG_NAMESPACE}:" + ".".join(parts)


def scheduling_of(service: DeployedService) -> Scheduling:
    spec = service.spec
    if spec.name == CLUSTERED:
        return "clustered"
    if spec.host_mounts:
        return "global"  # node agents: they read the node they run on (/proc, /sys, the Docker socket)
    if spec.volumes:
        return "pinned"
    if spec.name in REPLICATED:
        return "replicated"
    return "single"  # no volume, but state in memory (Jaeger's traces) or one active instance (consul-esm)


def _edge_ports(config: MeshConfig, services: Mapping[str, DeployedService]) -> dict[str, list[EdgePort]]:
    found: dict[str, list[EdgePort]] = {}
    for index, entry in enumerate(config.swarm.edge_ports):
        key = f"{_key('swarm', 'edgePorts')}[{index}]"
        name, _, port_text = entry.partition(":")
        if entry in SENSITIVE_PORTS:
            raise ConfigError(key, f"{entry} is never published on a swarm (host mode binds every interface of the node)")
        service = services.get(name)
        if service is None:
            continue  # a disabled service publishes nothing
        port = next((port for port in service.spec.published_ports if port.internal == int(port_text)), None)
        if port is None or port.host is None:
            known = ", ".join(f"{name}:{each.internal}" for each in service.spec.published_ports) or "none"
            raise ConfigError(key, f"{name} publishes no port {port_text} (its published ports: {known})")
        found.setdefault(name, []).append(EdgePort(port.internal, port.host, port.name))
    return found


def _probe(service: DeployedService, secret_envs: tuple[SecretEnv, ...]) -> Probe:
    """The catalog probe; a credential only the probe reads (redis-cli's REDISCLI_AUTH) is read from its file."""
    probe = service.spec.probe
    only_for_probe = [secret for secret in secret_envs if secret.file_env is None]
    if not only_for_probe:
        return probe
    if probe.test[0] != "CMD-SHELL":
        raise ValueError(f"{service.name}: a probe-only secret needs a CMD-SHELL probe")
    exports = " ".join(f'{secret.env}="$(cat {secret.path})"' for secret in only_for_probe)
    return Probe(
        ("CMD-SHELL", f"{exports} {probe.test[1]}"), probe.tool, probe.interval_s, probe.timeout_s, probe.retries, probe.start_period_s
    )


def _plan_one(service: DeployedService, config: MeshConfig, edge: list[EdgePort]) -> SwarmServicePlan:
    scheduling = scheduling_of(service)
    override = config.services.get(service.name)
    asked = override.replicas if override is not None else None
    if asked is not None and asked > 1 and scheduling != "replicated":
        raise ConfigError(
            _key("services", service.name, "replicas"),
            f"{service.name} runs {scheduling} on a swarm; only {', '.join(sorted(REPLICATED))} run several tasks",
        )
    constraints: list[str] = []
    prefs: tuple[str, ...] = ()
    max_replicas = 0
    replicas: int | None = 1
    hostname = None
    if scheduling == "replicated":
        replicas = asked or config.swarm.replicas
    elif scheduling == "pinned":
        constraints.append(f"node.labels.mesh.data.{service.name}==true")
    elif scheduling == "clustered":
        replicas = config.swarm.consul_servers
        prefs = (f"node.labels.{ZONE_LABEL}",)
        max_replicas = SPREAD_ONE_PER_NODE
        hostname = f"{service.name}-{{{{.Node.Hostname}}}}"
    elif scheduling == "global":
        replicas = None
    if edge and scheduling != "global":
        # a host-mode port is bound once per node: never two tasks of this service on one node
        max_replicas = SPREAD_ONE_PER_NODE
    if service.name in config.swarm.edge_services:
        constraints.append(f"node.labels.{EDGE_LABEL}==true")
    stateless = scheduling == "replicated"
    # stateless: the new task is healthy before the old one stops; with data: never two writers on one volume
    order: Literal["start-first", "stop-first"] = "start-first" if stateless and not edge else "stop-first"
    secret_envs = SECRET_ENVS.get(service.name, ())
    return SwarmServicePlan(
        service=service,
        scheduling=scheduling,
        replicas=replicas,
        placement=Placement(tuple(constraints), prefs, max_replicas),
        update=UpdatePolicy(order=order, failure_action="rollback"),
        rollback=UpdatePolicy(order=order, failure_action="pause"),
        ports=tuple(edge),
        probe=_probe(service, secret_envs),
        secret_envs=secret_envs,
        hostname=hostname,
    )


def plan_swarm(config: MeshConfig, services: list[DeployedService]) -> SwarmPlan:
    """How each deployed service runs on the swarm. Raises `ConfigError`."""
    by_name = {service.name: service for service in services}
    backend = config.services.get(BUILT_LOCALLY)
    if BUILT_LOCALLY in by_name and (backend is None or backend.image is None):
        raise ConfigError(
            _key("services", BUILT_LOCALLY, "image"),
            "every swarm node pulls its own images: push the backend image (docker build backend/) to a registry the nodes reach "
            "and name it here",
        )
    for index, name in enumerate(config.swarm.edge_services):
        if name not in by_name:
            raise ConfigError(f"{_key('swarm', 'edgeServices')}[{index}]", f"{name} is not a deployed service")
    edge = _edge_ports(config, by_name)
    return SwarmPlan(
        services=tuple(_plan_one(service, config, edge.get(service.name, [])) for service in services),
        subnet=config.swarm.subnet,
        encrypted=config.swarm.encrypted_overlay,
    )


def swarm_endpoints(services: list[DeployedService]) -> list[Endpoint]:
    """One endpoint per service: its service name resolves (`dnsrr`) to every task, and Kong balances over them."""
    return [
        Endpoint(
            service=service.name,
            instance=service.name,
            address=service.name,
            port=service.spec.ports[0].internal,
            check=service.spec.check,
            metrics=service.spec.metrics,
            blackbox=service.spec.blackbox,
            category=service.spec.category,
            kind=service.spec.kind,
        )
        for service in services
    ]
