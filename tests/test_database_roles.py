"""PostgreSQL's superuser serves neither the backend nor the exporter: each logs in with a role of its own."""

from __future__ import annotations

import pytest

from components.offline.provider_state import digest
from components.offline.synth import Capture, synthesize
from components.offline.types import CONTAINER, RANDOM_PASSWORD

ROLE = "postgresql:index/role:Role"
GRANT = "postgresql:index/grant:Grant"
PROVIDER = "pulumi:providers:postgresql"


@pytest.fixture(scope="module")
def with_backend() -> Capture:
    return synthesize({"services": {"backend": {"enabled": True}}})


def password(capture: Capture, purpose: str) -> str:
    """The provider-faithful mock's answer for this generated password (components/offline/provider_state.py)."""
    name = f"mesh-credentials-{purpose}"
    return digest("password", name)[: int(capture.one(RANDOM_PASSWORD, name).plain["length"])]


def env(capture: Capture, service: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in capture.one(CONTAINER, service).plain["envs"])


def test_the_exporter_logs_in_as_a_pg_monitor_role_not_the_superuser(with_backend):
    exporter = env(with_backend, "postgres-exporter")
    assert exporter["DATA_SOURCE_USER"] == "mesh_monitor"
    assert exporter["DATA_SOURCE_PASS"] == password(with_backend, "postgres-monitor")
    assert exporter["DATA_SOURCE_PASS"] != password(with_backend, "postgres")
    monitor = with_backend.one(ROLE, "mesh-database-roles-monitor").plain
    assert (monitor["name"], monitor["roles"], monitor["login"]) == ("mesh_monitor", ["pg_monitor"], True)
    assert not monitor.get("superuser") and not monitor.get("createRole") and not monitor.get("createDatabase")


def test_the_backend_connects_as_an_application_role_with_rights_on_its_database_only(with_backend):
    url = env(with_backend, "backend")["MESH_DB_POSTGRES"]
    assert url.startswith(f"postgresql://mesh_app:{password(with_backend, 'postgres-app')}@postgres:5432/")
    assert password(with_backend, "postgres") not in url
    app = with_backend.one(ROLE, "mesh-database-roles-app").plain
    assert app["name"] == "mesh_app" and not app.get("superuser") and not app.get("roles")
    grants = {
        (g.plain["objectType"], g.plain.get("schema")): g.plain["privileges"]
        for g in with_backend.all(GRANT)
        if g.plain["role"] == "mesh_app"
    }
    assert grants == {("database", None): ["CONNECT", "CREATE", "TEMPORARY"], ("schema", "public"): ["CREATE", "USAGE"]}
    assert with_backend.outputs["connectionStrings"].value["postgres"] == url


def test_only_postgres_and_the_role_provider_know_the_superuser_password(with_backend):
    superuser = password(with_backend, "postgres")
    holders = {r.name for r in with_backend.resources if r.type in (CONTAINER, PROVIDER) and superuser in str(r.plain)}
    assert holders == {"postgres", "mesh-database-roles-postgresql"}


def test_roles_are_made_after_postgres_is_healthy_and_before_their_users_start(with_backend):
    provider = with_backend.one(PROVIDER, "mesh-database-roles-postgresql")
    postgres = with_backend.one(CONTAINER, "postgres")
    assert postgres.urn in provider.dependencies
    roles = {r.urn for r in with_backend.all(ROLE)} | {g.urn for g in with_backend.all(GRANT)}
    for user in ("postgres-exporter", "backend"):
        assert roles <= set(with_backend.one(CONTAINER, user).dependencies), user
    assert not roles & set(with_backend.one(CONTAINER, "redis-exporter").dependencies)
