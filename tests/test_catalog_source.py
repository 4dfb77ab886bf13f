"""The catalog is the single source of truth: other code takes service names and internal ports from it."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

from components.catalog import names
from components.catalog.services import CATALOG, Check, DataVolume, Metrics, Port, ServiceSpec, http_probe
from components.model.mesh import parse_mesh_config
from components.offline.assertions import Match
from components.offline.resource_count import expected_resources
from components.offline.synth import Capture
from components.offline.types import CONSUL_SERVICE, CONTAINER, VOLUME
from components.plan.stack import plan_stack
from components.render.service_docs import render_services_md

COMPONENTS = Path(names.__file__).resolve().parent.parent
# integer literals that equal a catalog port but mean something else
NOT_PORTS = {
    ("model/mesh.py", 3000): "the start of the default mcp host port range",
    ("offline/bench.py", 3000): "the start of the widened mcp range of the bench's scaled stacks",
}


# string literals that equal a service name but name something else (file, value): what it is
NOT_SERVICE_NAMES = {
    ("plan/addresses.py", "postgres"): "a catalog port name (URL schemes by port name)",
    ("plan/addresses.py", "redis"): "a catalog port name and a URL scheme",
    ("plan/gateway.py", "prometheus"): "Kong's prometheus plugin",
    ("plan/gateway.py", "kong"): "the OpenTelemetry service.name Kong's spans carry",
    ("render/consul.py", "consul-esm"): "consul-esm's ACL policy name",
    ("render/consul.py", "consul"): "the service Consul servers register themselves under, and the consul CLI",
    ("render/consul.py", "prometheus"): "an ACL policy name",
    ("render/consul.py", "backend"): "an ACL policy name",
    ("render/dashboards.py", "prometheus"): "a Grafana data source type",
    ("render/dashboards.py", "loki"): "a Grafana data source type",
    ("render/dashboards.py", "kong"): "a panel legend",
    ("render/datasources.py", "prometheus"): "a Grafana data source type and uid",
    ("render/datasources.py", "loki"): "a Grafana data source type and uid",
    ("render/datasources.py", "jaeger"): "a Grafana data source type and uid",
    ("render/datasources.py", "alertmanager"): "a Grafana data source type and uid",
    ("render/datastores.py", "prometheus"): "RabbitMQ's prometheus port name",
    ("render/telemetry.py", "jaeger"): "the OpenTelemetry service.name of Jaeger's own telemetry",
    ("render/telemetry.py", "prometheus"): "the OpenTelemetry prometheus exporter",
    ("resources/credentials.py", "postgres"): "part of a RandomPassword's resource name (never renamed)",
    ("resources/credentials.py", "redis"): "part of a RandomPassword's resource name (never renamed)",
    ("resources/credentials.py", "neo4j"): "part of a RandomPassword's resource name (never renamed)",
    ("resources/credentials.py", "rabbitmq"): "part of a RandomPassword's resource name (never renamed)",
    ("stack/program.py", "grafana"): "a stack output key",
}


# whole modules whose literals are data written the way a user writes them, not code that singles a service out
DATA_MODULES = {
    "offline/blast_radius.py": "everyday stack-file edits (`services.redis.memoryMb`) and the resource names they touch",
    "offline/engine/standins.py": "the table of stand-in images, one row per service the engine tier can run",
}


def service_name_literals(root: Path, service_names: set[str]) -> list[str]:
    """`path:line value` for each string literal outside the catalog that is a service name and is not listed above."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] == "catalog" or relative.as_posix() in DATA_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            if node.value in service_names and (relative.as_posix(), node.value) not in NOT_SERVICE_NAMES:
                found.append(f"{relative}:{node.lineno} {node.value}")
    return found


def test_code_names_services_through_catalog_names_not_literals(tmp_path: Path) -> None:
    assert service_name_literals(COMPONENTS, set(CATALOG)) == []
    (tmp_path / "wiring").mkdir()
    (tmp_path / "wiring" / "kong.py").write_text('if "kong" in deployed:\n    pass\n')
    assert service_name_literals(tmp_path, set(CATALOG)) == ["wiring/kong.py:1 kong"]


def test_every_service_name_constant_names_a_catalog_entry() -> None:
    assert set(names.NAMED_SERVICES) <= set(CATALOG)
    constants = {value for key, value in vars(names).items() if key.isupper() and isinstance(value, str)}
    assert constants == set(names.NAMED_SERVICES)


def port_literals(root: Path, ports: set[int]) -> list[str]:
    """`path:line value` for each integer literal outside the catalog that equals one of `ports`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] == "catalog" or relative.as_posix() in DATA_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Constant):
                continue
            if type(node.value) is int and node.value in ports and (relative.as_posix(), node.value) not in NOT_PORTS:
                found.append(f"{relative}:{node.lineno} {node.value}")
    return found


def test_no_internal_port_is_repeated_as_a_literal_outside_the_catalog(tmp_path: Path) -> None:
    internal = {port.internal for spec in CATALOG.values() for port in spec.ports}
    assert port_literals(COMPONENTS, internal) == []
    # the guard fires on a planted copy
    (tmp_path / "render").mkdir()
    (tmp_path / "render" / "redis.py").write_text("PORT = 6379\n")
    assert port_literals(tmp_path, internal) == ["render/redis.py:1 6379"]


def test_a_new_service_is_one_catalog_entry(synth: Callable[..., Capture], monkeypatch: pytest.MonkeyPatch) -> None:
    # an HTTP service with metrics and a volume, and nothing anywhere else: Prometheus finds it through its Consul tag
    echo = ServiceSpec(
        name="echo",
        kind="core",
        category="core",
        image="hashicorp/http-echo:1.0.0",
        ports=(Port(5678, 10050),),
        probe=http_probe("wget", 5678, "/"),
        check=Check("http", 5678, "/"),
        metrics=Metrics(5678),
        volumes=(DataVolume("data", "/data"),),
    )
    monkeypatch.setitem(CATALOG, "echo", echo)
    capture = synth()
    container = capture.has_resource_properties(
        CONTAINER, {"image": Match.any_value(), "ports": [{"internal": 5678, "external": 10050}]}, name="echo"
    )
    assert container.label("mesh.service") == "echo"
    capture.has_resource_properties(VOLUME, {"name": "sutazai-echo-data"})
    capture.has_resource_properties(
        CONSUL_SERVICE, {"name": "echo", "address": "echo", "port": 5678, "checks": [{"http": "http://echo:5678/"}], "tags": ["metrics"]}
    )
    assert capture.outputs["accessPoints"]["echo"] == "http://127.0.0.1:10050"
    assert "echo" in capture.outputs["services"]
    # the bench's count follows without a literal to bump
    assert len(capture.resources) == expected_resources(plan_stack(parse_mesh_config({})))
    # and the service reference shows it after `make docs`
    assert "| echo | core | core | `hashicorp/http-echo:1.0.0` |" in render_services_md()
