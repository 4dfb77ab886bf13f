"""Wiring of the data stores and their exporters: credentials into environments and rendered files.

Each function returns the `Wiring` a `MeshService` needs beyond its catalog entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi

from components.catalog.names import GRAFANA, NEO4J, POSTGRES, POSTGRES_EXPORTER, RABBITMQ, REDIS, REDIS_EXPORTER
from components.catalog.services import CATALOG
from components.render.datastores import (
    RABBITMQ_CONF_PATH,
    RABBITMQ_DEFINITIONS_PATH,
    REDIS_CONF_PATH,
    render_rabbitmq_conf,
    render_rabbitmq_definitions,
    render_redis_conf,
)
from components.resources.credentials import MeshCredentials
from components.wiring.base import Need, ServiceWiring, Wiring, WiringContext, secret_env, upload

DATABASE_NAME = "mesh"
RABBITMQ_VHOST = "mesh"


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
            f"DATA_SOURCE_URI={CATALOG[POSTGRES].mesh_address()}/{DATABASE_NAME}?sslmode=disable",
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
    return Wiring(envs=[f"REDIS_ADDR=redis://{CATALOG[REDIS].mesh_address()}", secret_env("REDIS_PASSWORD", credentials.redis_password)])


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


_CREDENTIALS = frozenset({Need.CREDENTIALS})
DATASTORE_WIRING: Mapping[str, ServiceWiring] = {
    POSTGRES: ServiceWiring(postgres, _CREDENTIALS),
    POSTGRES_EXPORTER: ServiceWiring(postgres_exporter, _CREDENTIALS),
    REDIS: ServiceWiring(redis, _CREDENTIALS),
    REDIS_EXPORTER: ServiceWiring(redis_exporter, _CREDENTIALS),
    NEO4J: ServiceWiring(neo4j, _CREDENTIALS),
    RABBITMQ: ServiceWiring(rabbitmq, _CREDENTIALS),
    GRAFANA: ServiceWiring(grafana, _CREDENTIALS),
}


def connection_strings(credentials: MeshCredentials, deployed: Sequence[str]) -> dict[str, pulumi.Output[str]]:
    """Connection strings the backend uses on the mesh network, as secrets."""
    user = credentials.database_user
    postgres, redis = CATALOG[POSTGRES].mesh_address(), CATALOG[REDIS].mesh_address()
    neo4j, rabbitmq = CATALOG[NEO4J].mesh_address("bolt"), CATALOG[RABBITMQ].mesh_address("amqp")
    candidates = {
        POSTGRES: pulumi.Output.concat("postgresql://", user, ":", credentials.postgres_password, f"@{postgres}/{DATABASE_NAME}"),
        REDIS: pulumi.Output.concat("redis://:", credentials.redis_password, f"@{redis}/0"),
        NEO4J: pulumi.Output.concat("bolt://neo4j:", credentials.neo4j_password, f"@{neo4j}"),
        RABBITMQ: pulumi.Output.concat("amqp://", user, ":", credentials.rabbitmq_password, f"@{rabbitmq}/{RABBITMQ_VHOST}"),
    }
    return {name: pulumi.Output.secret(url) for name, url in candidates.items() if name in deployed}
