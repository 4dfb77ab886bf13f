"""Aliases resolve on the mesh network: exporters reach their databases, Prometheus scrapes, the backend logs in.

Every address here comes from the program: published ports from the registered `ports`, credentials from the
generated passwords, targets from the rendered prometheus.yml. Nothing is dialled by container IP.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from typing import Any

import jwt

from tests.engine.conftest import ReplayedMesh


def published(mesh: ReplayedMesh, service: str, internal: int) -> str:
    for port in mesh.spec(service).registration.plain["ports"]:
        if int(port["internal"]) == internal:
            return f"http://{port['ip']}:{int(port['external'])}"
    raise LookupError(f"{service} publishes no {internal}")


def get(url: str, timeout: float = 10) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return str(answer.read().decode())


def metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def eventually(check: Any, timeout_s: float = 90, every_s: float = 2) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            result = check()
        except (AssertionError, OSError) as error:
            if time.monotonic() > deadline:
                raise AssertionError(f"still failing after {timeout_s}s: {error}") from error
        else:
            return result
        time.sleep(every_s)


def test_the_network_carries_every_alias_the_program_registered(mesh: ReplayedMesh) -> None:
    for spec in mesh.specs:
        networks = mesh.client.api.inspect_container(spec.name)["NetworkSettings"]["Networks"]
        assert set(networks) == {name for name, _ in spec.networks}, "the default bridge must be left, as the provider does"
        for network, aliases in spec.networks:
            assert set(aliases) <= set(networks[network]["Aliases"] or []), spec.name


def test_postgres_exporter_reaches_postgres_by_alias_with_the_generated_password(mesh: ReplayedMesh) -> None:
    url = published(mesh, "postgres-exporter", 9187) + "/metrics"
    eventually(lambda: _assert_metric(get(url), "pg_up", 1.0))


def test_redis_exporter_reaches_redis_by_alias_with_the_generated_password(mesh: ReplayedMesh) -> None:
    url = published(mesh, "redis-exporter", 9121) + "/metrics"
    eventually(lambda: _assert_metric(get(url), "redis_up", 1.0))


def _assert_metric(text: str, name: str, expected: float) -> None:
    assert metric(text, name) == expected, f"{name} is {metric(text, name)}"


def _query(mesh: ReplayedMesh, expression: str) -> list[dict[str, Any]]:
    url = published(mesh, "prometheus", 9090) + "/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    answer = json.loads(get(url))
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def test_prometheus_scrapes_over_aliases_with_up_1(mesh: ReplayedMesh) -> None:
    """The static jobs of the rendered config: blackbox-exporter by alias, probing the DinD's TLS port by alias."""

    def scraped() -> list[dict[str, Any]]:
        results = _query(mesh, 'up{job="blackbox-tcp"}')
        assert results, "no blackbox-tcp target scraped yet"
        assert all(result["value"][1] == "1" for result in results), results
        probes = _query(mesh, 'probe_success{job="blackbox-tcp", mesh_service="mcp-orchestrator"}')
        assert probes and probes[0]["value"][1] == "1", probes
        return results

    eventually(scraped, timeout_s=120, every_s=5)


def test_prometheus_finds_alertmanager_by_alias(mesh: ReplayedMesh) -> None:
    def discovered() -> None:
        url = published(mesh, "prometheus", 9090) + "/api/v1/alertmanagers"
        active = json.loads(get(url))["data"]["activeAlertmanagers"]
        assert any("alertmanager:9093" in item["url"] for item in active), active

    eventually(discovered, timeout_s=60)
    # and the name resolves and answers from inside Prometheus's container, as its notifier dials it
    exit_code, output = mesh.client.containers.get(mesh.spec("prometheus").name).exec_run(
        ["wget", "-q", "-T", "4", "-O", "-", "http://alertmanager:9093/-/ready"]
    )
    assert exit_code == 0, output


def backend_env(mesh: ReplayedMesh) -> dict[str, str]:
    """The backend container's environment as the daemon received it (the program's env, secrets revealed)."""
    return dict(item.split("=", 1) for item in mesh.client.api.inspect_container(mesh.spec("backend").name)["Config"]["Env"])


def backend_status(mesh: ReplayedMesh) -> dict[str, Any]:
    """GET /api/v1/mesh/status on the backend's published port, with a JWT as Kong's consumer would pass it."""
    env = backend_env(mesh)
    token = jwt.encode({"iss": env["MESH_JWT_KEY"], "exp": int(time.time()) + 300}, env["MESH_JWT_SECRET"], algorithm="HS256")
    request = urllib.request.Request(published(mesh, "backend", 8000) + "/api/v1/mesh/status", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=90) as answer:
        return dict(json.loads(answer.read()))


def findings(status: dict[str, Any], service: str) -> dict[str, tuple[str, str]]:
    entry = next(item for item in status["services"] if item["name"] == service)
    return {finding["source"]: (finding["verdict"], finding["detail"]) for finding in entry["findings"]}


def test_the_backend_logs_in_to_postgres_and_redis_by_alias_with_the_generated_credentials(mesh: ReplayedMesh) -> None:
    """The backend's own status endpoint dials both stores by alias and authenticates with the program's credentials."""
    env = backend_env(mesh)
    postgres_url = urllib.parse.urlsplit(env["MESH_DB_POSTGRES"])
    redis_url = urllib.parse.urlsplit(env["MESH_DB_REDIS"])
    # the program's wiring: mesh aliases, the generated passwords (the same the stores were started with)
    assert (postgres_url.hostname, redis_url.hostname) == ("postgres", "redis")
    assert redis_url.password and f"requirepass {redis_url.password}" in _uploaded(mesh, "redis", "redis.conf")
    status = backend_status(mesh)
    postgres, redis = findings(status, "postgres"), findings(status, "redis")
    assert postgres["tcp"][0] == "pass" and postgres["tcp"][1].startswith("postgres:5432 accepts"), postgres
    assert postgres["auth"] == ("pass", f"logged in as {postgres_url.username} (SCRAM-SHA-256)"), postgres
    assert redis["tcp"][0] == "pass" and redis["tcp"][1].startswith("redis:6379 accepts"), redis
    assert redis["auth"] == ("pass", "AUTH + PING answered PONG"), redis


def _uploaded(mesh: ReplayedMesh, service: str, file_name: str) -> str:
    return next(content.decode() for path, content, _ in mesh.spec(service).uploads if path.endswith(file_name))
