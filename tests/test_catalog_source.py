"""The catalog is the single source of truth: other code takes service names and internal ports from it."""

from __future__ import annotations

import ast
from pathlib import Path

from components.catalog import names
from components.catalog.services import CATALOG

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
    ("render/consul.py", "consul-esm"): "consul-esm's instance id and its ACL policy name",
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


def service_name_literals(root: Path, service_names: set[str]) -> list[str]:
    """`path:line value` for each string literal outside the catalog that is a service name and is not listed above."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] == "catalog":
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
        if relative.parts[0] == "catalog":
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
