"""The status library against real servers on loopback: it reports what the parts really say, and
every injected fault fails with the right reason (never "healthy" by assumption, never a hang)."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mesh_status import MeshReport, MeshTargets, Verdict, collect
from mesh_status.http import Limits
from mesh_status.targets import DatabaseTarget, targets_from_stack_outputs
from tests import api_answers
from tests.loopback import REDIS_PASSWORD, CannedApi, LoopbackMesh, Reply, SilentServer, free_port, start_postgres

FAST = Limits(connect_timeout_s=1.0, read_timeout_s=2.0, retries=1, backoff_s=0.1)


@pytest.fixture
def mesh(loopback_mesh: LoopbackMesh) -> LoopbackMesh:
    return loopback_mesh


@pytest.fixture
def targets(mesh: LoopbackMesh) -> MeshTargets:
    return targets_from_stack_outputs(mesh.stack_outputs())


def finding(report: MeshReport, service: str, source: str) -> tuple[Verdict, str]:
    found = [f for f in report.services[service].findings if f.source == source]
    assert found, f"no {source} finding for {service}: {report.services[service].findings}"
    worst = next((f for f in found if f.verdict is Verdict.FAIL), None) or next(
        (f for f in found if f.verdict is Verdict.UNKNOWN), found[0]
    )
    return worst.verdict, worst.detail


def section(report: MeshReport, name: str) -> tuple[Verdict, str]:
    found = next(s for s in report.sections if s.name == name)
    return found.verdict, found.detail


def test_a_healthy_mesh_passes_every_section_and_service(targets: MeshTargets) -> None:
    report = collect(targets, FAST)

    assert report.verdict is Verdict.PASS, report.to_dict()
    assert [s.name for s in report.sections] == ["service discovery", "communication", "circuit breakers", "discovery lookups"]
    backend = report.services["backend"]
    assert (backend.registered, backend.consul_check, backend.scrape_health) == (True, "passing", "up")
    assert backend.upstream == "closed: 2/2 HEALTHY"
    assert finding(report, "redis", "auth") == (Verdict.PASS, "AUTH + PING answered PONG")
    assert finding(report, "mcp-memory", "mcp")[1].startswith("initialize: mesh-test-memory")
    assert "1 tool(s)" in finding(report, "mcp-docs", "mcp")[1]
    assert "database ok" in finding(report, "grafana", "http")[1]
    assert "services with traces: backend, kong" in finding(report, "jaeger", "http")[1]
    assert section(report, "discovery lookups")[1].startswith("10 lookups: p50")


def test_kong_circuits_come_from_the_status_listener_by_upstream_name(mesh: LoopbackMesh, targets: MeshTargets) -> None:
    mesh.kong.requests.clear()
    report = collect(targets, FAST)
    asked = {path for method, path, _ in mesh.kong.requests}
    # every expected service is looked up; the unrouted ones answer 404 and are left out
    assert {"/status", "/upstreams", "/upstreams/backend-upstream/health", "/upstreams/redis-upstream/health"} <= asked
    assert section(report, "circuit breakers") == (Verdict.PASS, "1/1 upstreams closed")
    assert report.services["backend"].route is None  # the status listener lists no routes


def test_an_admin_api_url_also_names_the_routes(mesh: LoopbackMesh, targets: MeshTargets) -> None:
    with mesh.kong.replaced(**api_answers.kong_admin_routes()):
        report = collect(targets, FAST)
    assert report.services["backend"].route == "/api"
    assert report.services["backend"].upstream == "closed: 2/2 HEALTHY"


def test_consul_is_read_with_the_token(mesh: LoopbackMesh, targets: MeshTargets) -> None:
    mesh.consul.requests.clear()
    collect(targets, FAST)
    reads = [headers for method, path, headers in mesh.consul.requests if path == "/v1/health/state/any"]
    assert reads and all(headers.get("X-Consul-Token") == "loopback-consul-token" for headers in reads)


def test_a_real_prometheus_target_going_down_fails_with_the_scrape_error(mesh: LoopbackMesh, targets: MeshTargets) -> None:
    mesh.metrics.stop()
    try:
        # a scrape racing the shutdown may see a reset; the steady state of a stopped exporter is "refused"
        mesh.wait_for_scrape("down", "connection refused")
        report = collect(targets, FAST)
    finally:
        mesh.metrics.start()
        mesh.wait_for_scrape("up")

    verdict, detail = finding(report, "backend", "prometheus")
    assert verdict is Verdict.FAIL
    assert re.fullmatch(rf"scrape http://127\.0\.0\.1:{mesh.metrics.port}/metrics down: .*connect: connection refused", detail)
    assert report.services["backend"].scrape_health == "down"
    assert section(report, "communication")[0] is Verdict.FAIL
    assert report.verdict is Verdict.FAIL


def test_a_critical_consul_check_fails_discovery_with_its_output(mesh: LoopbackMesh, targets: MeshTargets) -> None:
    critical = api_answers.consul_check("redis", "critical", "dial tcp redis:6379: connect: connection refused")
    checks = [api_answers.consul_check("backend"), api_answers.consul_check("consul"), critical]
    with mesh.consul.replaced(**{"GET /v1/health/state/any": Reply(checks)}):
        report = collect(targets, FAST)

    verdict, detail = finding(report, "redis", "consul")
    assert verdict is Verdict.FAIL
    assert detail == "check Service 'redis' check is critical: dial tcp redis:6379: connect: connection refused"
    assert report.services["redis"].consul_check == "critical"
    assert section(report, "service discovery") == (
        Verdict.FAIL,
        "3 registered, 2/3 passing all checks; checks failing: redis",
    )


def test_a_service_missing_from_consul_fails_and_one_without_a_check_is_unknown(mesh: LoopbackMesh, targets: MeshTargets) -> None:
    catalog = Reply({"backend": ["mesh"], "consul": [], "redis": []})
    checks = Reply([api_answers.consul_check("consul"), api_answers.consul_check("redis")])
    with mesh.consul.replaced(**{"GET /v1/catalog/services": catalog, "GET /v1/health/state/any": checks}):
        report = collect(targets, FAST)
    assert finding(report, "backend", "consul") == (Verdict.UNKNOWN, "registered without a health check")

    with mesh.consul.replaced(**{"GET /v1/catalog/services": Reply({"consul": [], "redis": []})}):
        report = collect(targets, FAST)
    assert finding(report, "backend", "consul") == (Verdict.FAIL, "not registered in Consul")
    assert report.services["backend"].registered is False


def test_results_hidden_by_consul_acls_are_unknown_not_missing(mesh: LoopbackMesh, targets: MeshTargets) -> None:
    filtered = {"X-Consul-Results-Filtered-By-ACLs": "true"}
    with mesh.consul.replaced(
        **{"GET /v1/catalog/services": Reply({"consul": []}, headers=filtered), "GET /v1/health/state/any": Reply([], headers=filtered)}
    ):
        report = collect(targets, FAST)
    assert finding(report, "backend", "consul") == (Verdict.UNKNOWN, "not visible: the token's ACL policy hides it")
    assert report.services["backend"].registered is None
    assert report.verdict is not Verdict.PASS


def test_an_unhealthy_kong_upstream_target_opens_the_circuit(mesh: LoopbackMesh, targets: MeshTargets) -> None:
    health = api_answers.kong_health(("backend-1:8000", "HEALTHY"), ("backend-2:8000", "UNHEALTHY"))
    with mesh.kong.replaced(**{"GET /upstreams/backend-upstream/health": health}):
        report = collect(targets, FAST)

    verdict, detail = finding(report, "backend", "kong")
    assert verdict is Verdict.FAIL
    assert detail == "upstream backend-upstream: circuit open for backend-2:8000 UNHEALTHY"
    assert report.services["backend"].upstream == "open: 1/2 HEALTHY"
    assert section(report, "circuit breakers")[0] is Verdict.FAIL


def test_kong_upstreams_without_health_checks_have_no_circuit_breaker(mesh: LoopbackMesh, targets: MeshTargets) -> None:
    health = api_answers.kong_health(("backend-1:8000", "HEALTHCHECKS_OFF"))
    with mesh.kong.replaced(**{"GET /upstreams/backend-upstream/health": health}):
        report = collect(targets, FAST)
    assert finding(report, "backend", "kong") == (Verdict.UNKNOWN, "upstream backend-upstream: health checks off, no circuit breaker")
    assert section(report, "circuit breakers")[0] is Verdict.UNKNOWN


def test_kong_without_its_declarative_config_fails(mesh: LoopbackMesh, targets: MeshTargets) -> None:
    status = Reply({"database": {"reachable": True}, "server": {"connections_active": 1}, "configuration_hash": "0" * 32})
    with mesh.kong.replaced(**{"GET /status": status}):
        report = collect(targets, FAST)
    assert finding(report, "kong", "http") == (Verdict.FAIL, "no declarative configuration loaded")


def test_the_mcp_handshake_reads_both_sse_and_json_replies(mesh: LoopbackMesh) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
    }
    kinds = {}
    for name, port in (("sse", mesh.mcp.port), ("json", mesh.mcp_json_port)):
        answer = requests.post(
            f"http://127.0.0.1:{port}/mcp", json=initialize, headers={"Accept": "application/json, text/event-stream"}, timeout=5
        )
        kinds[name] = answer.headers["Content-Type"].split(";")[0]
    assert kinds == {"sse": "text/event-stream", "json": "application/json"}


def test_an_endpoint_that_answers_http_but_not_mcp_fails(mesh: LoopbackMesh) -> None:
    not_found = f"http://127.0.0.1:{mesh.mcp.port}/not-mcp"
    report = collect(MeshTargets(mcp_servers={"mcp-web": f"{mesh.not_mcp.url}/mcp", "mcp-wrong-path": not_found}), FAST)
    assert finding(report, "mcp-web", "mcp") == (
        Verdict.FAIL,
        f"{mesh.not_mcp.url}/mcp is not an MCP server: answered HTTP 200 with text/html, not JSON-RPC (JSON or SSE)",
    )
    assert finding(report, "mcp-wrong-path", "mcp") == (
        Verdict.FAIL,
        f"{not_found} is not an MCP server: answered HTTP 404 to a JSON-RPC POST",
    )


def test_a_json_rpc_error_to_initialize_is_not_mcp(mesh: LoopbackMesh) -> None:
    error = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "Method not found"}}
    with mesh.not_mcp.replaced(**{"POST /mcp": Reply(error)}):
        report = collect(MeshTargets(mcp_servers={"mcp-x": f"{mesh.not_mcp.url}/mcp"}), FAST)
    assert finding(report, "mcp-x", "mcp")[1].endswith("JSON-RPC error -32601: Method not found")


def test_unreachable_endpoints_are_reported_within_a_bounded_time() -> None:
    silent = SilentServer()
    closed = free_port()
    limits = Limits(connect_timeout_s=0.5, read_timeout_s=0.5, retries=1, backoff_s=0.1)
    targets = MeshTargets(
        consul_url=f"http://127.0.0.1:{silent.port}",
        kong_status_url=f"http://127.0.0.1:{closed}",
        mcp_servers={"mcp-silent": f"http://127.0.0.1:{silent.port}/mcp", "mcp-gone": f"http://127.0.0.1:{closed}/mcp"},
        databases=[DatabaseTarget("postgres", "postgres", "127.0.0.1", closed)],
        expected_services=["backend"],
    )
    start = time.monotonic()
    try:
        report = collect(targets, limits)
    finally:
        silent.close()
    elapsed = time.monotonic() - start

    assert elapsed < 2 * limits.worst_case_s + 1, elapsed
    assert finding(report, "mcp-silent", "mcp") == (
        Verdict.FAIL,
        f"http://127.0.0.1:{silent.port}/mcp unreachable after 2 attempt(s): no answer within 1s",
    )
    assert finding(report, "mcp-gone", "mcp")[1].endswith("connection refused")
    assert finding(report, "postgres", "tcp")[0] is Verdict.FAIL
    assert finding(report, "backend", "consul")[0] is Verdict.UNKNOWN
    assert section(report, "service discovery")[0] is Verdict.FAIL
    assert finding(report, "kong", "http")[0] is Verdict.FAIL
    assert report.verdict is Verdict.FAIL


def test_a_wrong_redis_password_fails_authentication_but_not_the_tcp_connect(mesh: LoopbackMesh) -> None:
    wrong = DatabaseTarget("redis", "redis", "127.0.0.1", mesh.redis.port, password="not-" + REDIS_PASSWORD)
    report = collect(MeshTargets(databases=[wrong]), FAST)
    assert [f.verdict for f in report.services["redis"].findings] == [Verdict.PASS, Verdict.FAIL]
    _verdict, detail = finding(report, "redis", "auth")
    assert detail.startswith("AUTH rejected: WRONGPASS")


def test_a_database_without_a_known_password_is_only_connected_to(mesh: LoopbackMesh) -> None:
    report = collect(MeshTargets(databases=[DatabaseTarget("redis", "redis", "127.0.0.1", mesh.redis.port)]), FAST)
    assert [f.source for f in report.services["redis"].findings] == ["tcp"]


def test_grafana_with_a_failing_database_fails() -> None:
    grafana = CannedApi({("GET", "/api/health"): Reply({"commit": "087143285", "database": "failing", "version": "12.2.0"}, 503)})
    try:
        report = collect(MeshTargets(grafana_url=grafana.url), FAST)
    finally:
        grafana.close()
    verdict, detail = finding(report, "grafana", "http")
    assert verdict is Verdict.FAIL and "HTTP 503" in detail


def test_nothing_observed_is_unknown_never_healthy() -> None:
    report = collect(MeshTargets(expected_services=["backend"]), FAST)
    assert report.services["backend"].verdict is Verdict.UNKNOWN
    assert report.services["backend"].reasons == ["nothing observed"]
    assert {s.verdict for s in report.sections} == {Verdict.UNKNOWN}
    assert report.verdict is Verdict.UNKNOWN


PG_USER, PG_PASSWORD = "mesh", "loopback-postgres-secret"


@pytest.fixture(scope="module")
def postgres() -> Iterator[int]:
    # not under pytest's tmp dir: that is private to root, and the server runs as `postgres`
    workdir = Path(tempfile.mkdtemp(prefix="mesh-postgres-"))
    try:
        daemon = start_postgres(workdir, PG_USER, PG_PASSWORD).wait_ready()
        yield daemon.port
        daemon.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_a_real_postgres_login_with_scram_passes(postgres: int) -> None:
    target = DatabaseTarget.from_url("postgres", f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{postgres}/postgres")
    report = collect(MeshTargets(databases=[target]), FAST)
    assert finding(report, "postgres", "auth") == (Verdict.PASS, "logged in as mesh (SCRAM-SHA-256)")
    assert report.services["postgres"].verdict is Verdict.PASS


def test_a_wrong_postgres_password_is_rejected_by_the_server(postgres: int) -> None:
    target = DatabaseTarget("postgres", "postgres", "127.0.0.1", postgres, user=PG_USER, password="wrong", database="postgres")
    report = collect(MeshTargets(databases=[target]), FAST)
    assert finding(report, "postgres", "tcp")[0] is Verdict.PASS
    assert finding(report, "postgres", "auth") == (
        Verdict.FAIL,
        'login as mesh rejected: 28P01 password authentication failed for user "mesh"',
    )


def test_stack_outputs_give_host_addresses_with_the_mesh_connection_strings_passwords() -> None:
    targets = targets_from_stack_outputs(
        {
            "services": ["postgres", "mcp-files"],
            "accessPoints": {
                "postgres": "postgresql://127.0.0.1:10000",
                "neo4j.http": "http://127.0.0.1:10002",
                "neo4j.bolt": "bolt://127.0.0.1:10003",
                "mcp-files": "http://127.0.0.1:3003",
            },
            "connectionStrings": {"postgres": "postgresql://mesh:s3cret@postgres:5432/mesh"},
        }
    )
    postgres, neo4j = targets.databases
    assert (postgres.host, postgres.port, postgres.user, postgres.password, postgres.database) == (
        "127.0.0.1",
        10000,
        "mesh",
        "s3cret",
        "mesh",
    )
    assert (neo4j.name, neo4j.protocol, neo4j.port, neo4j.password) == ("neo4j", "bolt", 10003, None)
    assert targets.mcp_servers == {"mcp-files": "http://127.0.0.1:3003/mcp"}
    assert targets.consul_url is None and targets.consul_token is None
