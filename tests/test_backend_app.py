"""The reference backend in-process: `/health`, `/metrics`, JWT on `/api/v1/*` (401 without the
gateway's secret), `/api/v1/mesh/status` served by the status library, and OTLP traces."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mesh_backend.main import app_from_env, create_app
from mesh_backend.settings import Settings, SettingsError
from mesh_status.targets import MeshTargets
from tests import api_answers
from tests.loopback import CannedApi, Reply

SECRET = "gateway-shared-jwt-secret-0123456789"
KEY = "mesh-consumer-key"


@pytest.fixture
def consul() -> Iterator[CannedApi]:
    api = CannedApi(api_answers.consul_routes())
    yield api
    api.close()


def settings_for(consul_url: str | None = None, otlp_endpoint: str | None = None) -> Settings:
    targets = MeshTargets(consul_url=consul_url, consul_token="backend-token", expected_services=["backend", "consul", "redis"])
    return Settings(jwt_secret=SECRET, jwt_key=KEY, targets=targets, otlp_endpoint=otlp_endpoint)


def token(secret: str = SECRET, **claims: object) -> str:
    return jwt.encode({"iss": KEY, "exp": int(time.time()) + 300, **claims}, secret, algorithm="HS256")


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_health_answers_without_a_token() -> None:
    client = TestClient(create_app(settings_for()))
    answer = client.get("/health")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_metrics_count_requests_by_route_and_status() -> None:
    client = TestClient(create_app(settings_for()))
    client.get("/health")
    client.get("/api/v1/mesh/status")
    text = client.get("/metrics").text
    assert 'http_requests_total{method="GET",route="/health",status="200"} 1.0' in text
    assert 'http_requests_total{method="GET",route="/api/v1/mesh/status",status="401"} 1.0' in text
    assert "http_request_duration_seconds_bucket" in text


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing bearer token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Authorization is not a bearer token"),
        (bearer("not-a-jwt"), "invalid token: Not enough segments"),
        (bearer(token(secret="some-other-secret-of-enough-length")), "invalid token: Signature verification failed"),
        (bearer(token(exp=int(time.time()) - 10)), "token expired"),
        (bearer(token(iss="someone-else")), "token issuer is not the gateway consumer's key"),
    ],
    ids=["missing", "not-bearer", "malformed", "wrong-secret", "expired", "wrong-issuer"],
)
def test_api_v1_rejects_a_missing_or_wrong_jwt_with_401(headers: dict[str, str], reason: str) -> None:
    answer = TestClient(create_app(settings_for())).get("/api/v1/mesh/status", headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {"detail": reason}
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_mesh_status_is_the_status_library_reading_consul_with_its_token(consul: CannedApi) -> None:
    client = TestClient(create_app(settings_for(consul_url=consul.url)))
    answer = client.get("/api/v1/mesh/status", headers=bearer(token()))
    assert answer.status_code == 200
    report = answer.json()
    services = {service["name"]: service for service in report["services"]}
    assert services["redis"]["consulCheck"] == "passing"
    assert services["redis"]["findings"][0] == {"source": "consul", "verdict": "pass", "detail": "1 check(s) passing"}
    assert report["sections"][0] == {"name": "service discovery", "verdict": "pass", "detail": "3 registered, 3/3 passing all checks"}
    # no Kong, Prometheus... given: the mesh as a whole is unknown, not healthy
    assert report["verdict"] == "unknown"
    assert all(headers.get("X-Consul-Token") == "backend-token" for _, _, headers in consul.requests)

    critical = api_answers.consul_check("redis", "critical", "connection refused")
    with consul.replaced(
        **{"GET /v1/health/state/any": Reply([api_answers.consul_check("backend"), api_answers.consul_check("consul"), critical])}
    ):
        report = client.get("/api/v1/mesh/status", headers=bearer(token())).json()
    services = {service["name"]: service for service in report["services"]}
    assert services["redis"]["verdict"] == "fail"
    assert report["verdict"] == "fail"


def test_requests_are_traced_continuing_the_gateways_trace() -> None:
    exporter = InMemorySpanExporter()
    client = TestClient(create_app(settings_for(), span_processors=[SimpleSpanProcessor(exporter)]))
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    client.get("/health", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    (span,) = exporter.get_finished_spans()
    assert span.name == "GET /health"
    assert format(span.context.trace_id, "032x") == trace_id
    assert span.parent is not None and format(span.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert span.resource.attributes["service.name"] == "backend"
    assert span.attributes is not None and span.attributes["http.response.status_code"] == 200


def test_spans_are_exported_over_otlp_http_to_the_configured_endpoint() -> None:
    collector = CannedApi({("POST", "/v1/traces"): Reply(b"", content_type="application/x-protobuf")})
    try:
        app = create_app(settings_for(otlp_endpoint=collector.url))
        TestClient(app).get("/health")
        app.state.tracer_provider.force_flush()
    finally:
        collector.close()
    posts = [
        (headers, body)
        for (method, path, headers), body in zip(collector.requests, collector.bodies, strict=True)
        if (method, path) == ("POST", "/v1/traces")
    ]
    assert posts, collector.requests
    headers, body = posts[0]
    assert {key.lower(): value for key, value in headers.items()}["content-type"] == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    (resource_spans,) = request.resource_spans
    attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert attributes["service.name"] == "backend"
    assert [span.name for scope in resource_spans.scope_spans for span in scope.spans] == ["GET /health"]


def test_the_image_entry_point_refuses_to_start_without_the_jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESH_JWT_SECRET", raising=False)
    with pytest.raises(SettingsError, match="MESH_JWT_SECRET"):
        app_from_env()


def test_the_image_entry_point_reads_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = {
        "MESH_JWT_SECRET": SECRET,
        "MESH_JWT_KEY": KEY,
        "MESH_CONSUL_URL": "http://consul:8500",
        "MESH_CONSUL_TOKEN": "backend-token",
        "MESH_DB_REDIS": "redis://:pw@redis:6379/0",
        "MESH_MCP_SERVERS": "mcp-memory=http://mcp-orchestrator:3009",
        "MESH_EXPECTED_SERVICES": "backend,consul",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318/",
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    settings = app_from_env().state.settings
    assert settings.jwt_key == KEY
    assert settings.otlp_endpoint == "http://jaeger:4318"
    targets = settings.targets
    assert (targets.consul_url, targets.consul_token, targets.expected_services) == (
        "http://consul:8500",
        "backend-token",
        ["backend", "consul"],
    )
    assert targets.mcp_servers == {"mcp-memory": "http://mcp-orchestrator:3009/mcp"}
    (redis,) = targets.databases
    assert (redis.name, redis.host, redis.port, redis.password) == ("redis", "redis", 6379, "pw")


def test_on_a_swarm_the_backend_reads_its_credentials_from_secret_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "jwt").write_text(SECRET + "\n")
    (tmp_path / "redis").write_text("redis://:from-file@redis:6379/0")
    monkeypatch.delenv("MESH_JWT_SECRET", raising=False)
    monkeypatch.setenv("MESH_JWT_SECRET_FILE", str(tmp_path / "jwt"))
    monkeypatch.setenv("MESH_DB_REDIS_FILE", str(tmp_path / "redis"))
    settings = app_from_env().state.settings
    assert settings.jwt_secret == SECRET
    (redis,) = settings.targets.databases
    assert redis.password == "from-file"
