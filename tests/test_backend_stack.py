"""The backend in the stack: built from `backend/` on the local daemon (or an external image when
config names one), given its view of the mesh and its secrets (as secrets); and the image itself:
the same status library as `make verify`, pinned requirements, an entry point the healthcheck passes."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import mesh_status
from components.catalog.mcp_servers import MCP_CATALOG
from components.catalog.services import CATALOG
from components.offline.synth import Capture
from components.offline.types import BACKEND_IMAGE, CONTAINER, IMAGE, REMOTE_IMAGE, SERVICE_MESH
from tests.loopback import free_port, port_open, wait_until

MCP_SERVICES = [spec.service for spec in MCP_CATALOG.values()]

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ROOT / "backend"


def envs(capture: Capture, name: str = "backend") -> dict[str, str]:
    return dict(item.split("=", 1) for item in capture.one(CONTAINER, name).plain["envs"])


def test_the_backend_image_is_built_from_backend_dir_without_a_registry(plan: Capture) -> None:
    build = plan.one(IMAGE, "backend-image-build").plain
    assert build["build"]["context"] == "./backend"
    assert build["skipPush"] is True
    assert build["imageName"] == CATALOG["backend"].image
    component = plan.by_urn(plan.one(IMAGE, "backend-image-build").parent)
    assert component.type == BACKEND_IMAGE
    assert plan.by_urn(component.parent).type == SERVICE_MESH


def test_the_backend_container_runs_the_image_it_built(plan: Capture) -> None:
    image = plan.one(IMAGE, "backend-image-build")
    container = plan.one(CONTAINER, "backend")
    assert container.plain["image"].startswith("sha256:")
    assert image.urn in container.property_dependencies["image"]
    assert not plan.all(REMOTE_IMAGE, "backend-image")


def test_an_external_image_replaces_the_build(synth: Callable[..., Capture]) -> None:
    capture = synth({"services": {"backend": {"image": "ghcr.io/acme/mesh-backend:1.4.2"}}})
    assert not capture.all(IMAGE, "backend-image-build")
    assert capture.one(REMOTE_IMAGE, "backend-image").plain["name"] == "ghcr.io/acme/mesh-backend:1.4.2"
    assert envs(capture)["MESH_CONSUL_URL"] == "http://consul:8500"


def test_a_disabled_backend_builds_nothing(synth: Callable[..., Capture]) -> None:
    capture = synth({"services": {"backend": {"enabled": False}}})
    # the MCP servers' images are built all the same (inside the orchestrator)
    assert sorted(image.name for image in capture.all(IMAGE)) == sorted(f"{service}-image" for service in MCP_SERVICES)
    assert not capture.all(CONTAINER, "backend")


def test_the_backend_sees_the_mesh_by_its_aliases(plan: Capture) -> None:
    env = envs(plan)
    assert {key: env[key] for key in env if key.endswith("_URL") or key.startswith("OTEL_")} == {
        "MESH_CONSUL_URL": "http://consul:8500",
        "MESH_KONG_STATUS_URL": "http://kong:8100",
        "MESH_PROMETHEUS_URL": "http://prometheus:9090",
        "MESH_GRAFANA_URL": "http://grafana:3000",
        "MESH_JAEGER_URL": "http://jaeger:16686",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318",
        "OTEL_SERVICE_NAME": "backend",
    }
    assert env["MESH_EXPECTED_SERVICES"].split(",") == plan.outputs["services"]
    assert env["MESH_DB_REDIS"].startswith("redis://:") and env["MESH_DB_REDIS"].endswith("@redis:6379/0")
    assert {key for key in env if key.startswith("MESH_DB_")} == {"MESH_DB_POSTGRES", "MESH_DB_REDIS", "MESH_DB_NEO4J", "MESH_DB_RABBITMQ"}


def test_a_mesh_without_jaeger_exports_no_traces(synth: Callable[..., Capture]) -> None:
    env = envs(synth({"services": {"jaeger": {"enabled": False}}}))
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in env and "MESH_JWT_SECRET" in env


def test_the_backends_secrets_are_marked_secret(plan: Capture) -> None:
    container = plan.one(CONTAINER, "backend")
    assert "envs" in container.secret_paths()
    assert len(envs(plan)["MESH_JWT_SECRET"]) >= 16


def test_the_backend_shares_kongs_jwt_consumer_and_reads_consul_with_its_own_token(plan: Capture) -> None:
    from components.offline.synth import reveal
    from components.plan.gateway import JWT_ISSUER

    env = envs(plan)
    gateway = reveal(plan.outputs["gateway"])
    assert env["MESH_JWT_SECRET"] == gateway["jwtSecret"]
    assert env["MESH_JWT_KEY"] == JWT_ISSUER == gateway["jwtIssuer"]
    assert env["MESH_CONSUL_TOKEN"] == reveal(plan.outputs["consulBackendToken"])
    assert env["MESH_CONSUL_TOKEN"] != reveal(plan.outputs["consulManagementToken"])


def test_make_verify_and_the_image_share_one_copy_of_the_status_library() -> None:
    assert Path(mesh_status.__file__).resolve().parent == BACKEND / "mesh_status"
    dockerfile = (BACKEND / "Dockerfile").read_text()
    assert "COPY mesh_status ./mesh_status" in dockerfile
    assert "COPY mesh_backend ./mesh_backend" in dockerfile
    # FROM ${BASE_IMAGE}: the engine tests swap the base; the default every real build uses is pinned
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", dockerfile, re.MULTILINE)
    base = re.search(r"^ARG BASE_IMAGE=(\S+)", dockerfile, re.MULTILINE)
    assert base and ":" in base.group(1) and not base.group(1).endswith(":latest")
    verify = (ROOT / "tools" / "verify.py").read_text()
    assert "backend" in verify and "from mesh_status" in verify
    assert not any("pulumi" in line for line in (BACKEND / "mesh_status").joinpath("__init__.py").read_text().splitlines())


def _third_party_imports() -> set[str]:
    modules: set[str] = set()
    for path in BACKEND.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m not in ("mesh_status", "mesh_backend", "__future__")}


def test_every_package_the_backend_imports_is_pinned_in_its_requirements() -> None:
    pinned = {
        line.split("==")[0].strip().lower().replace("_", "-")
        for line in (BACKEND / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    distributions = importlib.metadata.packages_distributions()
    for module in _third_party_imports():
        names = {name.lower().replace("_", "-") for name in distributions[module]}
        assert names & pinned, f"{module} (from {names}) is not pinned in backend/requirements.txt"
    assert not any("pulumi" in name for name in pinned)


def test_the_image_command_serves_the_health_the_catalog_probe_checks() -> None:
    dockerfile = (BACKEND / "Dockerfile").read_text()
    command = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE).group(1))  # type: ignore[union-attr]
    port = free_port()
    argv = [sys.executable, "-m", *[str(port) if part == "8000" else part for part in command]]
    environment = {**os.environ, "MESH_JWT_SECRET": "a-test-secret-of-some-length"}
    server = subprocess.Popen(argv, cwd=BACKEND, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: port_open(port) or server.poll() is not None, 30, "uvicorn")
        assert server.poll() is None, "the image command exited"
        probe = list(CATALOG["backend"].probe.test)
        assert probe[:2] == ["CMD", "python"]
        script = probe[-1].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        assert subprocess.run([sys.executable, "-c", script], timeout=20).returncode == 0
    finally:
        server.terminate()
        server.wait(timeout=10)
