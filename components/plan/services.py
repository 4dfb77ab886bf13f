"""Config overrides applied to the catalog: the services this stack deploys, with their final
images, host ports, limits and replicas, checked against each other (port ranges, collisions).

`resolve_services` is the last step before any resource is registered; every mistake it finds
is a `ConfigError` naming the key. This module imports no Pulumi.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from components.catalog.image_pins import PIN_CHECKS, split_reference
from components.catalog.mcp_servers import NODE_IMAGE, ORCHESTRATOR_IMAGE, McpServerSpec
from components.catalog.names import POSTGRES
from components.catalog.services import CATALOG, DOCKER_SOCKET, DataVolume, HostMount, ServiceSpec
from components.model.base import ConfigError, floating_tag
from components.model.mesh import CONFIG_NAMESPACE, MeshConfig
from components.render.datastores import postgres_data_path


@dataclass(frozen=True)
class DeployedService:
    """A catalog entry as this stack deploys it."""

    spec: ServiceSpec
    replicas: int
    overridden_ports: bool

    @property
    def name(self) -> str:
        return self.spec.name

    def instance_names(self) -> list[str]:
        """One name per replica: the first keeps the service name, so scaling out never renames it."""
        return [self.name] + [f"{self.name}-{n}" for n in range(2, self.replicas + 1)]


def _key(service: str, field: str) -> str:
    return f"{CONFIG_NAMESPACE}:services.{service}.{field}"


def _apply_override(spec: ServiceSpec, config: MeshConfig) -> DeployedService:
    override = config.services.get(spec.name)
    if override is None:
        return DeployedService(spec, 1, False)
    ports = spec.ports
    if override.host_ports is not None:
        published = spec.published_ports
        if len(override.host_ports) != len(published):
            internal = ", ".join(str(port.internal) for port in published)
            raise ConfigError(
                _key(spec.name, "hostPorts"),
                f"{spec.name} publishes {len(published)} port(s) ({internal}); give exactly {len(published)} host port(s)",
            )
        new_host = dict(zip([port.internal for port in published], override.host_ports, strict=True))
        ports = tuple(replace(port, host=new_host[port.internal]) if port.host is not None else port for port in spec.ports)
    replicas = override.replicas or 1
    # on a swarm, replicas are tasks of one service (components.plan.swarm decides which services may have them)
    if replicas > 1 and not spec.replicable and config.platform != "swarm":
        raise ConfigError(
            _key(spec.name, "replicas"), f"{spec.name} keeps state or a host port to itself; only stateless services can have replicas"
        )
    spec = replace(
        spec,
        enabled=spec.enabled if override.enabled is None else override.enabled,
        image=override.image or spec.image,
        ports=ports,
        memory_mb=override.memory_mb or spec.memory_mb,
        cpus=override.cpus or spec.cpus,
    )
    if spec.name == POSTGRES:
        # the data directory moved in Postgres 18; an image override must move the volume with it
        spec = replace(spec, volumes=(DataVolume("data", postgres_data_path(spec.image)),))
    return DeployedService(spec, replicas, override.host_ports is not None)


def _check_port_ranges(service: DeployedService, config: MeshConfig) -> None:
    low, high = config.port_ranges[service.spec.category]
    for index, port in enumerate(service.spec.published_ports):
        assert port.host is not None
        if not low <= port.host <= high:
            raise ConfigError(
                _key(service.name, f"hostPorts[{index}]"),
                f"{port.host} is outside the {service.spec.category} range {low}-{high} (mesh:portRanges.{service.spec.category})",
            )


@dataclass(frozen=True)
class HostPortOwner:
    """Who publishes a host port, under which config key, and whether the user wrote that key."""

    name: str
    key: str
    user_set: bool


def host_port_owners(services: list[DeployedService]) -> list[tuple[int, HostPortOwner]]:
    """Every host port the services publish, with its owner, in catalog order."""
    return [
        (port.host, HostPortOwner(service.name, _key(service.name, f"hostPorts[{index}]"), service.overridden_ports))
        for service in services
        for index, port in enumerate(service.spec.published_ports)
        if port.host is not None
    ]


def port_conflict(port: int, earlier: HostPortOwner, later: HostPortOwner) -> ConfigError:
    """Two owners of one host port: the error names the key the user wrote first, then the other key."""
    blamed, other = (earlier, later) if earlier.user_set and not later.user_set else (later, earlier)
    return ConfigError(blamed.key, f"host port {port} is used by both {blamed.name} and {other.name} ({other.key})")


def _check_collisions(services: list[DeployedService]) -> None:
    owners: dict[int, HostPortOwner] = {}
    for port, owner in host_port_owners(services):
        if port in owners:
            raise port_conflict(port, owners[port], owner)
        owners[port] = owner


def _check_dependencies(services: list[DeployedService]) -> None:
    names = {service.name for service in services}
    for service in services:
        for needed in service.spec.needs:
            if needed not in names:
                raise ConfigError(_key(needed, "enabled"), f"{service.name} needs {needed}; disable {service.name} too or keep {needed}")


def _on_swarm(service: DeployedService) -> DeployedService | None:
    """A swarm has no node-local proxy: a global proxy service's name resolves to any node's task (dnsrr), so a
    client would read another node's containers. Its clients mount their node's socket read-only instead."""
    spec = service.spec
    if spec.docker_api == "proxy":
        return None
    if spec.docker_api == "client":
        spec = replace(
            spec,
            host_mounts=(*spec.host_mounts, HostMount(DOCKER_SOCKET, DOCKER_SOCKET)),
            # cAdvisor's --docker defaults to unix:///var/run/docker.sock (container/docker/factory.go)
            command=tuple(flag for flag in spec.command if not flag.startswith("--docker=")),
            needs=tuple(name for name in spec.needs if CATALOG[name].docker_api != "proxy"),
            starts_after=tuple(name for name in spec.starts_after if CATALOG[name].docker_api != "proxy"),
        )
    return replace(service, spec=spec)


def resolve_services(config: MeshConfig) -> list[DeployedService]:
    """The enabled services of this stack, in catalog order. Raises `ConfigError`."""
    unknown = sorted(set(config.services) - set(CATALOG))
    if unknown:
        raise ConfigError(f"{CONFIG_NAMESPACE}:services.{unknown[0]}", f"unknown service (known: {', '.join(CATALOG)})")
    deployed = [_apply_override(spec, config) for spec in CATALOG.values()]
    enabled = [service for service in deployed if service.spec.enabled]
    for service in enabled:
        _check_port_ranges(service, config)
    _check_collisions(enabled)
    _check_dependencies(enabled)
    if config.platform == "swarm":
        return [placed for placed in map(_on_swarm, enabled) if placed is not None]
    return enabled


def floating_image_warnings(config: MeshConfig, mcp_servers: Iterable[McpServerSpec]) -> list[str]:
    """One line per configured image that floats where the catalog pins an exact version (allowed, but said out loud)."""
    chosen: list[tuple[str, str, str]] = [
        (f"{CONFIG_NAMESPACE}:services.{name}.image", override.image, CATALOG[name].image)
        for name, override in sorted(config.services.items())
        if override.image is not None and name in CATALOG
    ]
    if config.mcp_orchestrator.image is not None:
        chosen.append((f"{CONFIG_NAMESPACE}:mcpOrchestrator.image", config.mcp_orchestrator.image, ORCHESTRATOR_IMAGE))
    chosen += [(f"{CONFIG_NAMESPACE}:mcpServers.{server.name}.image", server.image, NODE_IMAGE) for server in mcp_servers]
    warnings = []
    for key, image, pinned in chosen:
        check = PIN_CHECKS.get(split_reference(pinned)[0])
        reason = floating_tag(image, check.version_parts if check is not None else 3)
        if reason is not None:
            warnings.append(f"{key}: {reason} (the catalog pins {pinned})")
    return warnings
