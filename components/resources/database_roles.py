"""`DatabaseRoles`: PostgreSQL roles that are not the superuser, made through the PostgreSQL provider.

The image makes `POSTGRES_USER` a superuser; the backend gets an application role (its database and the
public schema, nothing cluster-wide) and postgres-exporter a monitoring role (`pg_monitor`, PostgreSQL's
built-in role for statistics). The provider is configured from stable values (the published port on the
host, the superuser's generated password) and waits for the health-gated container, like Grafana's.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_postgresql as postgresql

TYPE_TOKEN = "service-mesh:database:DatabaseRoles"
APP_ROLE = "mesh_app"
MONITOR_ROLE = "mesh_monitor"
MONITORING_ROLE = "pg_monitor"
"""Read every pg_stat_* view and setting, nothing else (PostgreSQL's predefined roles)."""


@dataclass(frozen=True)
class DatabaseRolesArgs:
    host: str
    """How the machine running `pulumi up` reaches PostgreSQL's published port."""
    port: int
    database: str
    superuser: str
    superuser_password: pulumi.Input[str]
    app_password: pulumi.Input[str]
    monitor_password: pulumi.Input[str]
    postgres_container: pulumi.Resource


class DatabaseRoles(pulumi.ComponentResource):
    provider: postgresql.Provider
    app: postgresql.Role
    monitor: postgresql.Role
    grants: list[postgresql.Grant]

    def __init__(self, name: str, args: DatabaseRolesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.provider = postgresql.Provider(
            f"{name}-postgresql",
            host=args.host,
            port=args.port,
            database=args.database,
            username=args.superuser,
            password=pulumi.Output.secret(args.superuser_password),
            sslmode="disable",
            superuser=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.postgres_container]),
        )
        managed = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.app = postgresql.Role(f"{name}-app", name=APP_ROLE, login=True, password=args.app_password, opts=managed)
        self.monitor = postgresql.Role(
            f"{name}-monitor", name=MONITOR_ROLE, login=True, password=args.monitor_password, roles=[MONITORING_ROLE], opts=managed
        )
        after_app = pulumi.ResourceOptions.merge(managed, pulumi.ResourceOptions(depends_on=[self.app]))
        after_monitor = pulumi.ResourceOptions.merge(managed, pulumi.ResourceOptions(depends_on=[self.monitor]))
        self.grants = [
            # the backend's own database: connect, create schemas and temporary tables
            postgresql.Grant(
                f"{name}-app-database",
                database=args.database,
                role=APP_ROLE,
                object_type="database",
                privileges=["CONNECT", "CREATE", "TEMPORARY"],
                opts=after_app,
            ),
            # PostgreSQL 15+ no longer lets every role create in public
            postgresql.Grant(
                f"{name}-app-schema",
                database=args.database,
                schema="public",
                role=APP_ROLE,
                object_type="schema",
                privileges=["CREATE", "USAGE"],
                opts=after_app,
            ),
            postgresql.Grant(
                f"{name}-monitor-database",
                database=args.database,
                role=MONITOR_ROLE,
                object_type="database",
                privileges=["CONNECT"],
                opts=after_monitor,
            ),
        ]
        self.register_outputs({"app_role": self.app.name, "monitor_role": self.monitor.name})
