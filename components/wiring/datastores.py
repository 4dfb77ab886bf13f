"""Wiring of the data stores and their exporters: credentials into environments and rendered files.

Each function returns the `Wiring` a `MeshService` needs beyond its catalog entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
import pulumi_docker as docker

from components.catalog.endpoint import Endpoint
from components.model.mesh import MeshConfig
from components.plan.services import DeployedService
from components.render.datastores import (
    RABBITMQ_CONF_PATH,
    RABBITMQ_DEFINITIONS_PATH,
    REDIS_CONF_PATH,
    render_rabbitmq_conf,
    render_rabbitmq_definitions,
    render_redis_conf,
)
from components.resources.credentials import MeshCredentials

if TYPE_CHECKING:
    from components.resources.discovery import ServiceDiscovery

DATABASE_NAME = "mesh"
RABBITMQ_VHOST = "mesh"


@dataclass
class WiringContext:
    """What wiring functions may draw on: the validated config, the deployed services and the mesh's secrets."""

    config: MeshConfig
    services: list[DeployedService]
    endpoints: list[Endpoint]
    credentials: MeshCredentials
    network_name: pulumi.Output[str]
    discovery: ServiceDiscovery | None = None
    """Consul's ACL tokens, once the Consul server exists (services after it in the catalog may use them)."""
    parent: pulumi.Resource | None = None
    """The component that resources created during wiring (e.g. the backend image build) belong to."""


@dataclass
class Wiring:
    """What a service gets beyond its catalog entry."""

    envs: list[pulumi.Input[str]] = field(default_factory=list)
    uploads: list[docker.ContainerUploadArgs] = field(default_factory=list)
    rendered: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Rendered files by their path under build/ (for `make plan` and the real-tool checks)."""
    port_bind_addresses: dict[int, str] = field(default_factory=dict)
    image: pulumi.Input[str] | None = None
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    extra_hosts: dict[str, str] = field(default_factory=dict)
    command: list[str] | None = None
    """Replaces the catalog's command when flags come from config (Prometheus' retention)."""


def secret_env(name: str, value: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.secret(pulumi.Output.concat(name, "=", value))


def upload(path: str, content: pulumi.Input[str]) -> docker.ContainerUploadArgs:
    return docker.ContainerUploadArgs(file=path, content=content, permissions="0644")


def postgres(context: WiringContext) -> Wiring:
    credentials = context.credentials
    return Wiring(
        envs=[
            f"POSTGRES_USER={credentials.database_user}",
            f"POSTGRES_DB={DATABASE_NAME}",
            secret_env("POSTGRES_PASSWORD", credentials.postgres_password),
        ]
    )


def postgres_exporter(context: WiringContext) -> Wiring:
    credentials = context.credentials
    return Wiring(
        envs=[
            f"DATA_SOURCE_URI=postgres:5432/{DATABASE_NAME}?sslmode=disable",
            f"DATA_SOURCE_USER={credentials.database_user}",
            secret_env("DATA_SOURCE_PASS", credentials.postgres_password),
        ]
    )


def redis(context: WiringContext) -> Wiring:
    credentials = context.credentials
    conf: pulumi.Output[str] = pulumi.Output.secret(credentials.redis_password.apply(render_redis_conf))
    return Wiring(
        envs=[secret_env("REDISCLI_AUTH", credentials.redis_password)],
        uploads=[upload(REDIS_CONF_PATH, conf)],
        rendered={"redis/redis.conf": conf},
    )


def redis_exporter(context: WiringContext) -> Wiring:
    credentials = context.credentials
    return Wiring(envs=["REDIS_ADDR=redis://redis:6379", secret_env("REDIS_PASSWORD", credentials.redis_password)])


def neo4j(context: WiringContext) -> Wiring:
    credentials = context.credentials
    return Wiring(envs=[secret_env("NEO4J_AUTH", pulumi.Output.concat("neo4j/", credentials.neo4j_password))])


def rabbitmq(context: WiringContext) -> Wiring:
    credentials = context.credentials
    definitions: pulumi.Output[str] = pulumi.Output.secret(
        pulumi.Output.all(credentials.rabbitmq_password, credentials.rabbitmq_salt_hex).apply(
            lambda values: render_rabbitmq_definitions(credentials.database_user, values[0], bytes.fromhex(values[1]), RABBITMQ_VHOST)
        )
    )
    conf = render_rabbitmq_conf()
    return Wiring(
        uploads=[upload(RABBITMQ_CONF_PATH, conf), upload(RABBITMQ_DEFINITIONS_PATH, definitions)],
        rendered={"rabbitmq/rabbitmq.conf": conf, "rabbitmq/definitions.json": definitions},
    )


def grafana(context: WiringContext) -> Wiring:
    credentials = context.credentials
    return Wiring(envs=["GF_SECURITY_ADMIN_USER=admin", secret_env("GF_SECURITY_ADMIN_PASSWORD", credentials.grafana_admin_password)])


DATASTORE_WIRING: Mapping[str, Callable[[WiringContext], Wiring]] = {
    "postgres": postgres,
    "postgres-exporter": postgres_exporter,
    "redis": redis,
    "redis-exporter": redis_exporter,
    "neo4j": neo4j,
    "rabbitmq": rabbitmq,
    "grafana": grafana,
}


def connection_strings(credentials: MeshCredentials, deployed: Sequence[str]) -> dict[str, pulumi.Output[str]]:
    """Connection strings the backend uses on the mesh network, as secrets."""
    user = credentials.database_user
    candidates = {
        "postgres": pulumi.Output.concat("postgresql://", user, ":", credentials.postgres_password, f"@postgres:5432/{DATABASE_NAME}"),
        "redis": pulumi.Output.concat("redis://:", credentials.redis_password, "@redis:6379/0"),
        "neo4j": pulumi.Output.concat("bolt://neo4j:", credentials.neo4j_password, "@neo4j:7687"),
        "rabbitmq": pulumi.Output.concat("amqp://", user, ":", credentials.rabbitmq_password, f"@rabbitmq:5672/{RABBITMQ_VHOST}"),
    }
    return {name: pulumi.Output.secret(url) for name, url in candidates.items() if name in deployed}
