"""Logs and traces: Loki on its volume, Alloy shipping every container's logs to it, Jaeger v2 receiving OTLP."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml

from components.catalog.services import CATALOG, DOCKER_API_URL
from components.offline.synth import Capture, Registration
from components.offline.types import CONTAINER, GRAFANA_DATASOURCE
from components.render.telemetry import (
    ALLOY_CONFIG_PATH,
    JAEGER_CONFIG_PATH,
    LOG_LABELS,
    LOKI_CONFIG_PATH,
    LOKI_PUSH_URL,
    render_alloy_config,
)


def uploaded(container: Registration, path: str) -> str:
    (content,) = [upload["content"] for upload in container.plain["uploads"] if upload["file"] == path]
    return str(content)


def loki_config(plan: Capture) -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(plan.rendered_files["loki/local-config.yaml"])
    return parsed


def jaeger_config(plan: Capture) -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(plan.rendered_files["jaeger/config.yaml"])
    return parsed


# --- Loki ----------------------------------------------------------------------------------------


def test_loki_reads_the_rendered_config_its_command_names(plan: Capture) -> None:
    loki = plan.one(CONTAINER, "loki")
    assert f"-config.file={LOKI_CONFIG_PATH}" in loki.plain["command"]
    assert uploaded(loki, LOKI_CONFIG_PATH) == plan.rendered_files["loki/local-config.yaml"]


def test_loki_keeps_index_and_chunks_on_its_data_volume(plan: Capture) -> None:
    config = loki_config(plan)
    (volume,) = CATALOG["loki"].volumes
    common = config["common"]
    assert common["path_prefix"] == volume.container_path
    for directory in common["storage"]["filesystem"].values():
        assert directory.startswith(volume.container_path + "/")
    assert config["compactor"]["working_directory"].startswith(volume.container_path + "/")
    (schema,) = config["schema_config"]["configs"]
    # Loki 3 wants the TSDB index and schema v13 (structured metadata); boltdb-shipper is deprecated
    assert (schema["store"], schema["object_store"], schema["schema"]) == ("tsdb", "filesystem", "v13")
    assert config["server"]["http_listen_port"] == CATALOG["loki"].ports[0].internal
    assert config["auth_enabled"] is False


def test_loki_retention_comes_from_config_and_is_enforced_by_the_compactor(plan: Capture, synth: Callable[..., Capture]) -> None:
    assert loki_config(plan)["limits_config"]["retention_period"] == "168h"
    config = loki_config(synth({"telemetry": {"logRetention": "14d"}}))
    assert config["limits_config"]["retention_period"] == "336h"
    # without retention_enabled the period is ignored; since Loki 3.0 retention also needs delete_request_store
    assert config["compactor"]["retention_enabled"] is True
    assert config["compactor"]["delete_request_store"] == "filesystem"


# --- Alloy ---------------------------------------------------------------------------------------

# Arguments and blocks each component accepts (Alloy reference, components/<name>/), for the ones we use.
_ALLOY_COMPONENTS: dict[str, set[str]] = {
    "discovery.docker": {"host", "refresh_interval", "port", "host_networking_host", "filter", "http_client_config"},
    "discovery.relabel": {"targets", "rule"},
    "loki.source.docker": {"host", "targets", "forward_to", "labels", "relabel_rules", "refresh_interval", "http_client_config"},
    "loki.write": {"endpoint", "external_labels", "max_streams"},
}
_ALLOY_EXPORTS = {"discovery.docker": {"targets"}, "discovery.relabel": {"output", "rules"}, "loki.write": {"receiver"}}


def parse_alloy(text: str) -> dict[str, dict[str, Any]]:
    """A small reader for the subset of Alloy syntax we render: top-level `component "label" { ... }` blocks,
    their attributes and nested blocks; raises on unbalanced braces, brackets or strings."""
    code = "\n".join(line for line in text.splitlines() if not line.strip().startswith("//"))
    depth, in_string, escaped = 0, False, False
    for char in code:
        if in_string:
            escaped, in_string = (not escaped and char == "\\"), in_string and not (char == '"' and not escaped)
            continue
        if char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            assert depth >= 0, "closing bracket without an opening one"
    assert depth == 0 and not in_string, "unbalanced brackets or an open string"

    components: dict[str, dict[str, Any]] = {}
    for match in re.finditer(r'^([a-z_]+(?:\.[a-z_]+)+) "([a-z_][a-z0-9_]*)" \{\n(.*?)^\}', code, re.M | re.S):
        name, label, body = match.groups()
        top_level = re.findall(r"^  ([a-z_]+)\s*(?:=|\{)", body, re.M)
        components[f"{name}.{label}"] = {"component": name, "label": label, "fields": top_level, "body": body}
    assert re.sub(r'^([a-z_]+(?:\.[a-z_]+)+) "[a-z0-9_]+" \{\n.*?^\}', "", code, flags=re.M | re.S).strip() == "", (
        "text outside component blocks"
    )
    return components


def test_alloy_config_uses_only_known_components_arguments_and_exports() -> None:
    components = parse_alloy(render_alloy_config(DOCKER_API_URL))
    assert {block["component"] for block in components.values()} == set(_ALLOY_COMPONENTS)
    for block in components.values():
        assert set(block["fields"]) <= _ALLOY_COMPONENTS[block["component"]], block["component"]
        for reference in re.findall(r"\b((?:discovery|loki)\.[a-z_.]+)\b(?!\s*\")", block["body"]):
            *instance, export = reference.split(".")
            target = ".".join(instance)
            assert target in components, f"{reference} names no component"
            assert export in _ALLOY_EXPORTS[components[target]["component"]], reference


def test_alloy_ships_every_container_log_to_loki(plan: Capture) -> None:
    text = plan.rendered_files["alloy/config.alloy"]
    components = parse_alloy(text)
    source = components["loki.source.docker.containers"]["body"]
    assert "targets       = discovery.docker.containers.targets" in source  # every container, no filter
    assert "forward_to    = [loki.write.mesh.receiver]" in source
    assert f'url = "{LOKI_PUSH_URL}"' in components["loki.write.mesh"]["body"]
    assert LOKI_PUSH_URL.startswith(f"http://loki:{CATALOG['loki'].ports[0].internal}/")
    # through the socket proxy, never the socket itself
    assert f'host             = "{DOCKER_API_URL}"' in components["discovery.docker.containers"]["body"]
    assert f'host          = "{DOCKER_API_URL}"' in source


def test_log_lines_carry_the_mesh_labels_every_container_has(plan: Capture) -> None:
    relabel = parse_alloy(plan.rendered_files["alloy/config.alloy"])["discovery.relabel.containers"]["body"]
    for container_label, stream_label in LOG_LABELS.items():
        sd_label = "__meta_docker_container_label_" + container_label.replace(".", "_")
        assert f'source_labels = ["{sd_label}"]\n    target_label  = "{stream_label}"' in relabel
    for container in plan.all(CONTAINER):
        for container_label in LOG_LABELS:
            assert container.label(container_label), (container.name, container_label)


def test_alloy_mounts_no_host_path_and_reaches_the_docker_api_only_through_the_proxy_network(plan: Capture) -> None:
    alloy = plan.one(CONTAINER, "alloy")
    assert [volume for volume in alloy.plain["volumes"] if volume.get("hostPath")] == []
    assert {network["name"] for network in alloy.plain["networksAdvanced"]} == {"sutazai-network", "sutazai-docker-api"}
    assert not alloy.plain.get("privileged")
    assert uploaded(alloy, ALLOY_CONFIG_PATH) == plan.rendered_files["alloy/config.alloy"]
    assert ALLOY_CONFIG_PATH in alloy.plain["command"]


def test_alloy_needs_loki_but_does_not_wait_for_it(plan: Capture) -> None:
    from components.offline.synth import try_synthesize

    # alloy retries its pushes, so it starts in parallel; without Loki it would be pointless, so config refuses that
    assert plan.one(CONTAINER, "loki").urn not in plan.one(CONTAINER, "alloy").dependencies
    _, error = try_synthesize({"services": {"loki": {"enabled": False}}})
    assert str(error).startswith("mesh:services.loki.enabled: alloy needs loki")


# --- Jaeger --------------------------------------------------------------------------------------


def _port(endpoint: str) -> int:
    host, port = endpoint.rsplit(":", 1)
    assert host == "0.0.0.0", f"{endpoint} is not reachable from the mesh network"
    return int(port)


def test_jaeger_runs_the_rendered_config(plan: Capture) -> None:
    jaeger = plan.one(CONTAINER, "jaeger")
    assert jaeger.plain["command"] == ["--config", JAEGER_CONFIG_PATH]
    assert uploaded(jaeger, JAEGER_CONFIG_PATH) == plan.rendered_files["jaeger/config.yaml"]


def test_jaeger_receives_otlp_on_the_ports_the_catalog_publishes(plan: Capture) -> None:
    config = jaeger_config(plan)
    ports = {port.name: port.internal for port in CATALOG["jaeger"].ports}
    protocols = config["receivers"]["otlp"]["protocols"]
    assert _port(protocols["grpc"]["endpoint"]) == ports["otlp-grpc"] == 4317
    assert _port(protocols["http"]["endpoint"]) == ports["otlp-http"] == 4318
    assert "otlp" in config["service"]["pipelines"]["traces"]["receivers"]
    published = {port.internal for port in CATALOG["jaeger"].published_ports}
    assert {4317, 4318} <= published


def test_jaeger_health_metrics_and_ui_listen_where_checks_scrapes_and_grafana_look(plan: Capture) -> None:
    config = jaeger_config(plan)
    spec = CATALOG["jaeger"]
    health = config["extensions"]["healthcheckv2"]
    assert health["use_v2"] is True
    assert spec.check is not None and _port(health["http"]["endpoint"]) == spec.check.port == 13133
    (reader,) = config["service"]["telemetry"]["metrics"]["readers"]
    exporter = reader["pull"]["exporter"]["prometheus"]
    assert spec.metrics is not None and exporter["port"] == spec.metrics.port == 8888 and exporter["host"] == "0.0.0.0"
    assert _port(config["extensions"]["jaeger_query"]["http"]["endpoint"]) == 16686
    plan.has_resource_properties(GRAFANA_DATASOURCE, {"url": "http://jaeger:16686"})


def test_jaeger_pipeline_names_only_components_it_defines(plan: Capture, synth: Callable[..., Capture]) -> None:
    config = jaeger_config(plan)
    service = config["service"]
    assert set(service["extensions"]) == set(config["extensions"])
    for pipeline in service["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline[kind]) <= set(config[kind]), kind
    storage = config["extensions"]["jaeger_storage"]["backends"]
    assert config["exporters"]["jaeger_storage_exporter"]["trace_storage"] in storage
    assert config["extensions"]["jaeger_query"]["storage"]["traces"] in storage
    capacity = jaeger_config(synth({"telemetry": {"maxTraces": 5000}}))["extensions"]["jaeger_storage"]["backends"]
    assert next(iter(capacity.values()))["memory"]["max_traces"] == 5000
