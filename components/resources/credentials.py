"""`MeshCredentials`: every generated secret of the mesh, from `pulumi_random` (stored encrypted in state)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random

# URL-safe characters only: these passwords end up inside connection strings
_PASSWORD_LENGTH = 32


@dataclass(frozen=True)
class MeshCredentialsArgs:
    database_user: str = "mesh"
    """The application user created in PostgreSQL and RabbitMQ."""


TYPE_TOKEN = "service-mesh:credentials:MeshCredentials"
"""Part of the URN of every resource below it: changing it makes `pulumi up` replace them all."""


class MeshCredentials(pulumi.ComponentResource):
    postgres_password: pulumi.Output[str]
    redis_password: pulumi.Output[str]
    neo4j_password: pulumi.Output[str]
    rabbitmq_password: pulumi.Output[str]
    rabbitmq_salt_hex: pulumi.Output[str]
    grafana_admin_password: pulumi.Output[str]
    gateway_jwt_secret: pulumi.Output[str]
    gateway_api_key: pulumi.Output[str]
    consul_management_token: pulumi.Output[str]

    def __init__(self, name: str, args: MeshCredentialsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.database_user = args.database_user
        self.postgres_password = self._password(name, "postgres")
        self.redis_password = self._password(name, "redis")
        self.neo4j_password = self._password(name, "neo4j")
        self.rabbitmq_password = self._password(name, "rabbitmq")
        self.grafana_admin_password = self._password(name, "grafana-admin")
        # the Kong consumer's HS256 JWT secret (shared with the backend) and its key-auth key
        self.gateway_jwt_secret = self._password(name, "gateway-jwt-secret")
        self.gateway_api_key = self._password(name, "gateway-api-key")
        # stable salt for RabbitMQ's password hash, so the rendered definitions do not change on every run
        self.rabbitmq_salt_hex = random.RandomBytes(f"{name}-rabbitmq-salt", length=4, opts=pulumi.ResourceOptions(parent=self)).hex
        # Consul's initial management token: a UUID, set in the server's config before the server starts
        consul_token = random.RandomUuid(f"{name}-consul-management", opts=pulumi.ResourceOptions(parent=self))
        self.consul_management_token = pulumi.Output.secret(consul_token.result)
        self.register_outputs({})

    def _password(self, name: str, purpose: str) -> pulumi.Output[str]:
        password = random.RandomPassword(
            f"{name}-{purpose}",
            length=_PASSWORD_LENGTH,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return pulumi.Output.secret(password.result)
