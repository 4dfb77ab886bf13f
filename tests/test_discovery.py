"""Service discovery: every deployed service registered in Consul, with checks consul-esm can really run."""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import subprocess
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import hcl  # pyhcl: HCL v1, the parser family Consul (ACL rules) and consul-esm (its config) use
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import components.plan.stack
from components.catalog.endpoint import Endpoint
from components.catalog.services import CATALOG, Check, Metrics
from components.model.base import ConfigError
from components.model.mesh import parse_mesh_config
from components.offline.synth import Capture, Registration, Secret
from components.offline.types import (
    ACL_POLICY,
    ACL_TOKEN,
    CONSUL_NODE,
    CONSUL_PROVIDER,
    CONSUL_SERVICE,
    CONTAINER,
    RANDOM_UUID,
    SERVICE_DISCOVERY,
)
from components.plan.endpoints import service_endpoints
from components.plan.services import resolve_services
from components.render.consul import (
    CONSUL_AGENT_CONFIG_PATH,
    ESM_CONFIG_PATH,
    EXTERNAL_NODE_ADDRESS,
    AclPolicy,
    AclRule,
    ConsulAgentConfig,
    EsmConfig,
    backend_policy,
    check_definition,
    consul_exporter_policy,
    esm_policy,
    prometheus_policy,
    render_consul_agent_config,
    render_consul_start_script,
    render_esm_config,
    service_meta,
    service_tags,
    swarm_consul_config,
)
from tests.host_tools import needs
from tests.queries import host_containers, listening_ports

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1", "[::1]"}


def containers(plan: Capture) -> list[Registration]:
    """Containers on the host daemon (the MCP servers inside the DinD orchestrator are reached through it)."""
    return host_containers(plan)


def inner_containers(plan: Capture) -> list[Registration]:
    return [container for container in plan.all(CONTAINER) if container not in containers(plan)]


def consul_services(plan: Capture) -> list[Registration]:
    return plan.all(CONSUL_SERVICE)


def container_for(plan: Capture, service: str) -> Registration:
    return next(c for c in containers(plan) if c.label("mesh.service") == service)


def aliases(container: Registration) -> set[str]:
    return {alias for network in container.plain["networksAdvanced"] for alias in network.get("aliases", [])}


def networks(container: Registration) -> set[str]:
    return {network["name"] for network in container.plain["networksAdvanced"]}


def check_host_port(check: dict[str, Any]) -> tuple[str, int]:
    if check.get("http"):
        url = urlsplit(check["http"])
        assert url.hostname is not None and url.port is not None, check["http"]
        return url.hostname, url.port
    host, port = check["tcp"].rsplit(":", 1)
    return host, int(port)


def upload_content(container: Registration, path: str) -> str:
    return str(next(upload["content"] for upload in container.plain["uploads"] if upload["file"] == path))


def leaves(value: Any, path: str = "", secret: bool = False) -> Iterator[tuple[str, Any, bool]]:
    """Every scalar of a captured input, with its path and whether a secret encloses it."""
    if isinstance(value, Secret):
        yield from leaves(value.value, path, True)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}" if path else key, secret)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}[{index}]", secret)
    else:
        yield path, value, secret


# --- registrations ---


def test_every_deployed_service_has_a_consul_service_and_nothing_undeployed_is_registered(plan):
    registered = {service.plain["serviceId"]: service.plain for service in consul_services(plan)}
    # the Docker socket proxy is off the mesh network: nothing on the mesh may find it, so it is not registered
    assert "docker-socket-proxy" not in registered
    for container in containers(plan):
        if container.label("mesh.service") == "docker-socket-proxy":
            continue
        instance = registered[str(container.label("mesh.instance"))]
        assert instance["name"] == container.label("mesh.service")
        assert instance["address"] in aliases(container)
    # servers behind another container (the MCP servers behind the DinD orchestrator) are reached through its alias
    assert len(inner_containers(plan)) == 6
    for container in inner_containers(plan):
        assert registered[str(container.label("mesh.instance"))]["address"] == "mcp-orchestrator"
    deployed_aliases = set().union(*(aliases(container) for container in containers(plan)))
    assert {props["address"] for props in registered.values()} <= deployed_aliases
    assert len(registered) == len(consul_services(plan))


def test_a_disabled_service_is_not_registered(plan, synth):
    plan.has_no_resource(CONSUL_SERVICE, {"name": "ollama"})  # off in the catalog
    without_neo4j = synth({"services": {"neo4j": {"enabled": False}}})
    without_neo4j.has_no_resource(CONSUL_SERVICE, {"name": "neo4j"})
    without_neo4j.has_resource_properties(CONSUL_SERVICE, {"name": "postgres"})
    with_ollama = synth({"services": {"ollama": {"enabled": True}}})
    with_ollama.has_resource_properties(CONSUL_SERVICE, {"name": "ollama", "address": "ollama", "port": 11434})


def test_replicas_register_one_instance_each_with_its_own_id_address_and_check(synth):
    plan = synth({"services": {"blackbox-exporter": {"replicas": 3}}})
    instances = [service.plain for service in consul_services(plan) if service.plain["name"] == "blackbox-exporter"]
    assert sorted(instance["serviceId"] for instance in instances) == ["blackbox-exporter", "blackbox-exporter-2", "blackbox-exporter-3"]
    assert sorted(instance["address"] for instance in instances) == [f"blackbox-exporter-{n}" for n in (1, 2, 3)]
    for instance in instances:
        (check,) = instance["checks"]
        assert check_host_port(check) == (instance["address"], 9115)
    check_ids = [check["checkId"] for service in consul_services(plan) for check in service.plain["checks"]]
    assert len(check_ids) == len(set(check_ids)), "check ids must be unique on the node"


def test_services_are_registered_on_the_external_node_consul_esm_watches(plan):
    node = plan.one(CONSUL_NODE, "mesh-discovery-node").plain
    assert node["meta"] == {"external-node": "true", "external-probe": "true"}
    assert {service.plain["node"] for service in consul_services(plan)} == {node["name"]}
    # consul-esm pings the node: its address must resolve inside the consul-esm container
    esm = container_for(plan, "consul-esm").plain
    assert {"host": node["address"], "ip": "host-gateway"} in esm["hosts"]


def test_tags_and_meta_tell_prometheus_what_to_scrape(plan):
    by_name = {service.plain["serviceId"]: service.plain for service in consul_services(plan)}
    assert "metrics" in by_name["qdrant"]["tags"]
    assert by_name["qdrant"]["meta"]["metrics_port"] == "6333"
    assert by_name["qdrant"]["meta"]["metrics_path"] == "/metrics"
    assert "metrics" not in by_name["neo4j"]["tags"] and "blackbox" in by_name["neo4j"]["tags"]
    assert "metrics_path" not in by_name["neo4j"]["meta"]
    # Consul's own metrics need `?format=prometheus`: the path and the parameter are kept apart for relabelling
    assert by_name["consul"]["meta"]["metrics_path"] == "/v1/agent/metrics"
    assert by_name["consul"]["meta"]["metrics_param_format"] == "prometheus"
    for props in by_name.values():
        assert props["meta"]["category"] in props["tags"]


# --- checks that can pass ---


def test_every_check_targets_an_alias_of_a_container_on_a_network_consul_esm_is_on(plan):
    esm_networks = networks(container_for(plan, "consul-esm"))
    checked = 0
    for service in consul_services(plan):
        for check in service.plain["checks"]:
            host, port = check_host_port(check)
            assert host not in LOOPBACK_HOSTS, check
            owners = [c for c in containers(plan) if host in aliases(c) and networks(c) & esm_networks]
            assert owners, f"{host} is no alias on a network consul-esm joins"
            for owner in owners:
                assert port in listening_ports(plan, owner), f"{owner.name} does not listen on {port}"
            checked += 1
    assert checked == len(consul_services(plan))


def test_every_check_runs_every_10s_with_a_5s_timeout_and_never_deregisters_the_service(plan):
    for service in consul_services(plan):
        for check in service.plain["checks"]:
            assert check["interval"] == "10s"
            assert check["timeout"] == "5s"
            # absent, the provider would send its default of 30s; consul-esm reaps only when it is above zero
            assert check["deregisterCriticalServiceAfter"] == "0s"
            # Consul starts a new check critical by itself; a `status` input would reset passing checks on every up after a refresh
            assert "status" not in check


def test_http_services_get_http_checks_and_the_others_tcp(plan):
    by_id = {service.plain["serviceId"]: service.plain["checks"][0] for service in consul_services(plan)}
    assert by_id["postgres"] == by_id["postgres"] | {"tcp": "postgres:5432"}
    assert "http" not in by_id["postgres"]
    assert by_id["chromadb"]["http"] == "http://chromadb:8000/api/v2/heartbeat"
    assert by_id["kong"]["http"] == "http://kong:8100/status/ready"


def test_an_endpoint_without_a_check_is_registered_without_one(synth, monkeypatch):
    original = service_endpoints

    def with_an_unchecked_endpoint(services):
        extra = Endpoint("mcp-demo", "mcp-demo", "mcp-orchestrator", 3001, None, None, False, "mcp", "mcp")
        return [*original(services), extra]

    monkeypatch.setattr(components.plan.stack, "service_endpoints", with_an_unchecked_endpoint)
    plan = synth()
    (registered,) = [s for s in consul_services(plan) if s.plain["name"] == "mcp-demo"]
    assert not registered.plain.get("checks")
    assert {"service": "mcp-demo", "service_id": "mcp-demo", "address": "mcp-orchestrator", "port": 3001, "check": None} in plan.outputs[
        "registeredServices"
    ]
    assert check_definition(Endpoint("x", "x", "x", 1, None, None, False, "core", "core")) is None
    definition = check_definition(Endpoint("x", "x-2", "x-2", 1, Check("tcp", 1), None, False, "core", "core"))
    assert definition is not None and definition.target == "x-2:1"


def test_the_stack_lists_every_registration_with_its_check_target(plan):
    listed = {entry["service_id"]: entry for entry in plan.outputs["registeredServices"]}
    assert set(listed) == {service.plain["serviceId"] for service in consul_services(plan)}
    for service in consul_services(plan):
        props = service.plain
        check = props["checks"][0]
        assert listed[props["serviceId"]] == {
            "service": props["name"],
            "service_id": props["serviceId"],
            "address": props["address"],
            "port": props["port"],
            "check": check.get("http") or check.get("tcp"),
        }


# --- the provider and the ACLs ---


def test_the_consul_provider_depends_on_the_consul_container_and_manages_every_consul_resource(plan):
    provider = plan.one(CONSUL_PROVIDER, "mesh-discovery-consul")
    consul = container_for(plan, "consul")
    assert consul.urn in provider.dependencies
    for registration in plan.resources:
        if registration.type.startswith("consul:"):
            assert registration.provider.startswith(provider.urn + "::"), registration.name


def test_discovery_is_one_component_owning_the_provider_acls_and_registrations(plan):
    (component,) = plan.all(SERVICE_DISCOVERY)
    owned = {r.urn for r in plan.descendants_of(component.urn)}
    consul_resources = [r for r in plan.resources if r.type.startswith("consul:") or r.type == CONSUL_PROVIDER]
    assert consul_resources and {r.urn for r in consul_resources} <= owned


def test_the_provider_reaches_consul_on_its_published_port_unless_configured(plan, synth):
    assert plan.one(CONSUL_PROVIDER, "mesh-discovery-consul").plain | {"token": None} == {
        "address": "127.0.0.1:10006",
        "scheme": "http",
        "datacenter": "dc1",
        "token": None,
    }
    moved = synth({"services": {"consul": {"hostPorts": [10066]}}})
    assert moved.one(CONSUL_PROVIDER, "mesh-discovery-consul").plain["address"] == "127.0.0.1:10066"
    remote = synth({"discovery": {"address": "https://consul.example:8501"}})
    remote.has_resource_properties(CONSUL_PROVIDER, {"address": "consul.example:8501", "scheme": "https"}, name="mesh-discovery-consul")


@pytest.mark.parametrize(
    ("discovery", "key"),
    [
        ({"address": "consul:8500"}, "mesh:discovery.address"),
        ({"address": "http://consul"}, "mesh:discovery.address"),
        ({"address": "http://consul:8500/v1"}, "mesh:discovery.address"),
        ({"datacenter": "DC 1"}, "mesh:discovery.datacenter"),
        ({"token": "x"}, "mesh:discovery.token"),
    ],
)
def test_a_wrong_discovery_setting_names_its_key(synth, discovery, key):
    with pytest.raises(ConfigError) as raised:
        synth({"discovery": discovery})
    assert raised.value.key == key
    assert "\n" not in str(raised.value)


def test_every_token_and_the_management_secret_are_secret_in_every_input_and_output(plan):
    management = plan.one(CONSUL_PROVIDER, "mesh-discovery-consul").props["token"]
    assert isinstance(management, Secret)
    esm_token = json.loads(upload_content(container_for(plan, "consul-esm"), ESM_CONFIG_PATH))["token"]
    tokens = {management.value, esm_token}
    for output in ("consulManagementToken", "consulPrometheusToken", "consulBackendToken"):
        assert isinstance(plan.outputs[output], Secret), output
        tokens.add(plan.outputs[output].value)
    assert len(tokens) == 4 and all(re.fullmatch(r"[0-9a-f-]{36}", token) for token in tokens)
    found = 0
    for registration in plan.resources:
        for path, value, secret in leaves(registration.props):
            if isinstance(value, str) and any(token in value for token in tokens):
                assert secret, f"{registration.name}.{path} carries a Consul token in plaintext"
                found += 1
    assert found >= 3  # the provider, the server's config, consul-esm's config


def test_consul_esm_prometheus_consul_exporter_and_backend_each_get_a_token_bound_to_their_own_policy(plan):
    policies = {p.plain["name"]: p for p in plan.all(ACL_POLICY)}
    assert set(policies) == {"consul-esm", "prometheus", "consul-exporter", "backend"}
    for name in policies:
        (token,) = [t for t in plan.all(ACL_TOKEN) if t.plain["policies"] == [name]]
        assert token.name == f"mesh-discovery-{name}-token"


def rules(policy: Registration) -> set[tuple[str, str | None, str]]:
    return parse_rules(policy.plain["rules"])


def parse_rules(text: str) -> set[tuple[str, str | None, str]]:
    """ACL rules parsed with an HCL v1 parser (the language Consul parses ACL rules in)."""
    found: set[tuple[str, str | None, str]] = set()
    for resource, value in hcl.loads(text).items():
        if isinstance(value, str):
            found.add((resource, None, value))
        else:
            found.update((resource, segment, rule["policy"]) for segment, rule in value.items())
    return found


def test_consul_esm_may_write_only_the_external_node_its_services_and_its_own_state(plan):
    policy = next(p for p in plan.all(ACL_POLICY) if p.plain["name"] == "consul-esm")
    writes = {(resource, segment) for resource, segment, verb in rules(policy) if verb == "write"}
    registered = {service.plain["name"] for service in consul_services(plan)}
    assert writes == {
        ("key_prefix", "consul-esm/"),
        ("node", "mesh-host"),
        ("node_prefix", "consul-esm-agents:"),
        ("session", "consul-server"),
        ("session_prefix", "consul-esm-agents:"),
        ("service", "consul-esm-agents"),
    } | {("service", name) for name in registered}
    assert ("node_prefix", "", "read") in rules(policy)


def test_prometheus_and_backend_may_only_read(plan):
    by_name = {p.plain["name"]: rules(p) for p in plan.all(ACL_POLICY)}
    # the one server agent Prometheus scrapes, no wildcard agent rule
    assert by_name["prometheus"] == {("service_prefix", "", "read"), ("node_prefix", "", "read"), ("agent", "consul-server", "read")}
    assert by_name["consul-exporter"] == {("service_prefix", "", "read"), ("node_prefix", "", "read")}
    assert not any(resource == "agent_prefix" for policy in by_name.values() for resource, _, _ in policy)
    assert by_name["backend"] == {("service_prefix", "", "read"), ("node_prefix", "", "read")}


# --- the Consul server ---

# Consul's agent configuration reference (general, ACL, telemetry and UI parameters): key -> type
DOCUMENTED_AGENT_KEYS: dict[str, type | dict[str, Any]] = {
    "datacenter": str,
    "node_name": str,
    "server": bool,
    "bootstrap_expect": int,
    "client_addr": str,
    "data_dir": str,
    "ui_config": {"enabled": bool},
    "acl": {"enabled": bool, "default_policy": str, "enable_token_persistence": bool, "tokens": {"initial_management": str}},
    "telemetry": {"prometheus_retention_time": str, "disable_hostname": bool},
}


def assert_documented(document: dict[str, Any], schema: dict[str, Any], where: str = "") -> None:
    for key, value in document.items():
        assert key in schema, f"{where}{key} is not a documented key"
        expected = schema[key]
        if isinstance(expected, dict):
            assert isinstance(value, dict), f"{where}{key} must be an object"
            assert_documented(value, expected, f"{where}{key}.")
        else:
            assert isinstance(value, expected), f"{where}{key} must be {expected.__name__}"


def go_duration_seconds(text: str) -> float:
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    assert parts and "".join(number + unit for number, unit in parts) == text, f"{text!r} is not a Go duration"
    return sum(float(number) * units[unit] for number, unit in parts)


def test_the_rendered_agent_config_is_json_with_the_keys_consul_documents(plan):
    consul = container_for(plan, "consul")
    config = json.loads(upload_content(consul, CONSUL_AGENT_CONFIG_PATH))
    assert_documented(config, DOCUMENTED_AGENT_KEYS)
    assert config["server"] is True and config["bootstrap_expect"] == 1
    assert config["ui_config"] == {"enabled": True}
    assert config["client_addr"] == "0.0.0.0"
    assert config["data_dir"] == "/consul/data"
    assert any(volume["containerPath"] == "/consul/data" and volume.get("volumeName") for volume in consul.plain["volumes"])
    assert config["acl"]["enabled"] is True and config["acl"]["default_policy"] == "deny"
    assert config["acl"]["tokens"]["initial_management"] == plan.one(CONSUL_PROVIDER, "mesh-discovery-consul").plain["token"]
    assert go_duration_seconds(config["telemetry"]["prometheus_retention_time"]) > 0
    # the image's entrypoint loads /consul/config; flags would override the file, so there are none
    assert consul.plain["command"][:2] == ["sh", "-c"] and "docker-entrypoint.sh agent &" in consul.plain["command"][2]
    assert plan.rendered_files["consul/mesh.json"] == upload_content(consul, CONSUL_AGENT_CONFIG_PATH)


def test_the_management_token_is_generated_and_stable(plan):
    uuid = plan.one(RANDOM_UUID, "mesh-credentials-consul-management")
    assert uuid.custom
    config = json.loads(plan.rendered_files["consul/mesh.json"])
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", config["acl"]["tokens"]["initial_management"])


def test_the_consul_healthcheck_needs_no_token_and_waits_for_a_leader(plan):
    consul = container_for(plan, "consul").plain
    probe = " ".join(consul["healthcheck"]["tests"])
    assert "/v1/status/leader" in probe and ":8300" in probe
    assert "token" not in probe.lower()
    assert consul["wait"] is True
    assert {"internal": 8500, "external": 10006, "ip": "127.0.0.1", "protocol": "tcp"} in consul["ports"]


# --- consul-esm ---

# consul-esm's HumanConfig (config.go): the keys it accepts; any other key fails its config decoding
ESM_KEYS = {
    "log_level", "enable_debug", "enable_syslog", "enable_agentless", "syslog_facility", "log_json", "log_file",
    "log_rotate_bytes", "log_rotate_max_files", "log_rotate_duration", "instance_id", "consul_service",
    "consul_service_tag", "consul_kv_path", "external_node_meta", "partition", "node_reconnect_timeout",
    "node_probe_interval", "node_health_refresh_interval", "http_addr", "token", "datacenter", "ca_file", "ca_path",
    "cert_file", "key_file", "tls_server_name", "https_ca_file", "https_ca_path", "https_cert_file", "https_key_file",
    "client_address", "ping_type", "disable_coordinate_updates", "telemetry", "passing_threshold", "critical_threshold",
    "service_deregister_http_hook", "node_deregister_http_hook",
}  # fmt: skip


def test_consul_esm_config_uses_documented_keys_and_points_at_the_server_on_the_mesh(plan):
    esm = container_for(plan, "consul-esm")
    config = json.loads(upload_content(esm, ESM_CONFIG_PATH))
    assert hcl.loads(upload_content(esm, ESM_CONFIG_PATH)) == config  # consul-esm reads it through HCL v1
    assert set(config) <= ESM_KEYS
    assert esm.plain["command"] == [f"-config-file={ESM_CONFIG_PATH}"]
    assert config["enable_agentless"] is True
    host, port = config["http_addr"].rsplit(":", 1)
    consul = container_for(plan, "consul")
    assert host in aliases(consul) and networks(consul) & networks(esm)
    assert int(port) == 8500
    # /metrics on every interface of the container, on the port the catalog scrapes and checks
    listen_host, listen_port = config["client_address"].rsplit(":", 1)
    assert listen_host == "0.0.0.0" and int(listen_port) == CATALOG["consul-esm"].metrics.port  # type: ignore[union-attr]
    assert go_duration_seconds(config["telemetry"]["prometheus_retention_time"]) >= 1
    assert go_duration_seconds(config["node_reconnect_timeout"]) >= 365 * 24 * 3600


def test_consul_esm_coordinates_under_a_name_no_registration_uses(plan):
    # consul-esm hands checks to every healthy instance of its own service; a registration of ours under that
    # name would be handed checks that nobody runs
    config = json.loads(plan.rendered_files["consul-esm/consul-esm.json"])
    assert config["consul_service"] not in {service.plain["name"] for service in consul_services(plan)}
    node = plan.one(CONSUL_NODE, "mesh-discovery-node").plain
    assert config["external_node_meta"].items() <= node["meta"].items()


def test_consul_esm_starts_after_its_token_exists(plan):
    esm = container_for(plan, "consul-esm")
    token = next(t for t in plan.all(ACL_TOKEN) if t.plain["policies"] == ["consul-esm"])
    assert token.urn in esm.dependencies
    assert plan.one(CONSUL_NODE, "mesh-discovery-node").plain["address"] == EXTERNAL_NODE_ADDRESS


# --- the pure layer over any replica counts ---


@settings(max_examples=25, deadline=None)
@given(blackbox=st.integers(1, 16), backend=st.integers(1, 16))
def test_every_replica_gets_its_own_check_on_its_own_alias_and_consul_esm_may_update_it(blackbox, backend):
    config = parse_mesh_config(
        {"services": {"blackbox-exporter": {"replicas": blackbox}, "backend": {"enabled": True, "replicas": backend}}}
    )
    endpoints = service_endpoints(resolve_services(config))
    definitions = [check_definition(endpoint) for endpoint in endpoints]
    assert len({d.check_id for d in definitions if d is not None}) == len(endpoints)
    assert len({endpoint.instance for endpoint in endpoints}) == len(endpoints)
    for endpoint, definition in zip(endpoints, definitions, strict=True):
        assert definition is not None
        host = urlsplit(definition.target).hostname if definition.kind == "http" else definition.target.rsplit(":", 1)[0]
        assert host == endpoint.address and host not in LOOPBACK_HOSTS
        assert (definition.interval, definition.timeout, definition.deregister_critical_service_after) == ("10s", "5s", "0s")
    assert sum(1 for endpoint in endpoints if endpoint.service == "backend") == backend
    policy = esm_policy("mesh-host", [endpoint.service for endpoint in endpoints])
    writable = {rule.segment for rule in policy.rules if rule.resource == "service" and rule.policy == "write"}
    assert {endpoint.service for endpoint in endpoints} <= writable


# --- the Consul healthcheck, run for real against a stand-in for /v1/status/leader ---


@contextmanager
def leader_endpoint(status: int, body: bytes) -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/v1/status/leader" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


@needs("curl")  # curl runs the probe inside the consul image
@pytest.mark.parametrize(
    ("status", "body", "healthy"),
    [(200, b'"172.18.0.2:8300"', True), (200, b'""', False), (500, b"No cluster leader", False)],
)
def test_the_consul_healthcheck_passes_only_once_a_leader_is_elected(plan, status, body, healthy):
    test = container_for(plan, "consul").plain["healthcheck"]["tests"]
    assert test[0] == "CMD-SHELL"
    with leader_endpoint(status, body) as port:
        script = test[1].replace("127.0.0.1:8500", f"127.0.0.1:{port}")
        assert script != test[1]
        result = subprocess.run(["sh", "-c", script], timeout=10, capture_output=True)
    assert (result.returncode == 0) is healthy


# --- the renderers called directly, value by value (fast: `make mutate` runs these against every mutant) ---
def an_endpoint(check: Check | None = None, metrics: Metrics | None = None, blackbox: bool = False, kind: str = "database") -> Endpoint:
    return Endpoint("redis", "redis-2", "redis-2", 6379, check, metrics, blackbox, "core", kind)


def test_the_consul_server_config_is_a_single_acl_enforcing_server_with_prometheus_metrics():
    text = render_consul_agent_config(ConsulAgentConfig(management_token="root-token", datacenter="dc7"))
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"  # stable text: no diff without a change
    assert json.loads(text) == {
        "datacenter": "dc7",
        "node_name": "consul-server",
        "server": True,
        "bootstrap_expect": 1,
        "client_addr": "0.0.0.0",
        "data_dir": "/consul/data",
        "ui_config": {"enabled": True},
        "acl": {
            "enabled": True,
            "default_policy": "deny",
            "enable_token_persistence": True,
            "tokens": {"initial_management": "root-token"},
        },
        "telemetry": {"prometheus_retention_time": "60s", "disable_hostname": True},
    }


def test_consul_esm_runs_agentless_checks_of_the_external_node_and_never_reaps_it():
    text = render_esm_config(EsmConfig(token="esm-token", datacenter="dc7"))
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"  # stable text: no diff without a change
    assert json.loads(text) == {
        "log_level": "INFO",
        "enable_agentless": True,
        "consul_service": "consul-esm-agents",
        "consul_kv_path": "consul-esm/",
        "external_node_meta": {"external-node": "true"},
        "http_addr": "consul:8500",
        "token": "esm-token",
        "datacenter": "dc7",
        "client_address": "0.0.0.0:8080",
        "ping_type": "udp",
        "node_reconnect_timeout": "87600h",
        "telemetry": {"prometheus_retention_time": "60s", "disable_hostname": True},
    }


def test_an_acl_policy_renders_as_consul_hcl_rules():
    policy = AclPolicy("p", "d", (AclRule("operator", None, "read"), AclRule("service", 'we"ird', "write")))
    assert policy.render() == 'operator = "read"\nservice "we\\"ird" {\n  policy = "write"\n}\n'
    assert hcl.loads(policy.render()) == {"operator": "read", "service": {'we"ird': {"policy": "write"}}}


def test_consul_esm_may_write_only_its_node_its_services_its_kv_and_its_own_entries():
    policy = esm_policy("mesh-host", ["redis", "kong", "redis"], kv_path="esm/")
    assert (policy.name, policy.description) == ("consul-esm", "consul-esm: run the checks of the external node's services")
    assert policy.rules == (
        AclRule("agent", "consul-server", "read"),
        AclRule("operator", None, "read"),
        AclRule("key_prefix", "esm/", "write"),
        AclRule("node_prefix", "", "read"),
        AclRule("node", "mesh-host", "write"),
        AclRule("node_prefix", "consul-esm-agents:", "write"),
        AclRule("session", "consul-server", "write"),
        AclRule("session_prefix", "consul-esm-agents:", "write"),
        AclRule("service", "consul-esm-agents", "write"),
        AclRule("service", "kong", "write"),
        AclRule("service", "redis", "write"),
        AclRule("service", "consul", "read"),
    )
    assert esm_policy("mesh-host", []).rules[2] == AclRule("key_prefix", "consul-esm/", "write")


def test_prometheus_and_the_backend_only_read():
    assert prometheus_policy() == AclPolicy(
        "prometheus",
        "Prometheus: discover services and scrape Consul's own metrics",
        (AclRule("service_prefix", "", "read"), AclRule("node_prefix", "", "read"), AclRule("agent", "consul-server", "read")),
    )
    assert backend_policy() == AclPolicy(
        "backend",
        "Backend API: look up services and their health",
        (AclRule("service_prefix", "", "read"), AclRule("node_prefix", "", "read")),
    )


def test_an_http_check_targets_the_instance_alias_at_its_path_and_never_deregisters():
    check = check_definition(an_endpoint(Check("http", 8080, "/ready")))
    assert check is not None
    assert (check.check_id, check.name, check.kind, check.target) == (
        "service:redis-2",
        "redis-2 HTTP on http://redis-2:8080/ready",
        "http",
        "http://redis-2:8080/ready",
    )
    assert (check.interval, check.timeout, check.deregister_critical_service_after) == ("10s", "5s", "0s")
    no_path = check_definition(an_endpoint(Check("http", 8080)))
    assert no_path is not None and no_path.target == "http://redis-2:8080/"


def test_a_tcp_check_targets_alias_and_port_and_no_check_means_none():
    check = check_definition(an_endpoint(Check("tcp", 6379)))
    assert check is not None
    assert (check.name, check.kind, check.target) == ("redis-2 TCP on redis-2:6379", "tcp", "redis-2:6379")
    assert check_definition(an_endpoint()) is None


def test_tags_mark_metrics_and_blackbox_once_each():
    assert service_tags(an_endpoint()) == ["core", "database"]
    assert service_tags(an_endpoint(metrics=Metrics(9121), blackbox=True)) == ["core", "database", "metrics", "blackbox"]
    assert service_tags(an_endpoint(kind="core")) == ["core"]


def test_meta_splits_the_metrics_path_from_its_url_parameters():
    assert service_meta(an_endpoint()) == {"category": "core", "kind": "database", "instance": "redis-2"}
    assert service_meta(an_endpoint(metrics=Metrics(9121, "/v1/metrics?format=prometheus&x=1"))) == {
        "category": "core",
        "kind": "database",
        "instance": "redis-2",
        "metrics_path": "/v1/metrics",
        "metrics_port": "9121",
        "metrics_param_format": "prometheus",
        "metrics_param_x": "1",
    }


def test_consul_esm_has_no_fixed_instance_id_so_a_replacement_is_never_refused(plan):
    # consul-esm v0.10.0 exits when the catalog still holds its instance id (agent.go registerCatalog); a killed or
    # replaced instance leaves it behind. Unset, the id is a new UUID at every start, which the prefix ACL covers.
    config = json.loads(plan.rendered_files["consul-esm/consul-esm.json"])
    assert "instance_id" not in config
    policy = next(p for p in plan.all(ACL_POLICY) if p.plain["name"] == "consul-esm")
    assert ("node_prefix", "consul-esm-agents:", "write") in rules(policy)
    esm = container_for(plan, "consul-esm").plain
    # a clean stop deregisters it (main.go handleSignals -> agent.go Run)
    assert esm["stopSignal"] == "SIGTERM" and esm["destroyGraceSeconds"] > 0


def test_consul_esm_may_read_the_consul_service_for_its_version_check():
    # VerifyConsulCompatibility lists the servers' `consul` service (agent.go); without read the ACL hides them
    alone = esm_policy("mesh-host", ["redis"])
    assert ("service", "consul", "read") in {(r.resource, r.segment, r.policy) for r in alone.rules}
    with_consul = esm_policy("mesh-host", ["redis", "consul"])
    consul_rules = {r.policy for r in with_consul.rules if (r.resource, r.segment) == ("service", "consul")}
    assert consul_rules == {"write"}


# --- the server's own agent token (node identity), set by its start script ---


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)


@pytest.fixture
def consul_image(tmp_path: Path) -> dict[str, Any]:
    """The script's world with stand-ins for the image's entrypoint, curl and the consul CLI, which log what they get."""
    bin_dir, data, log = tmp_path / "bin", tmp_path / "data", tmp_path / "log"
    bin_dir.mkdir()
    data.mkdir()
    config = tmp_path / "mesh.json"
    config.write_text(render_consul_agent_config(ConsulAgentConfig(management_token="mgmt-secret")))
    # the stand-in agent lives at most 60 s: a test killed from outside (mutmut's timeout) leaves nothing running
    _stub(bin_dir, "docker-entrypoint.sh", f"""
        trap 'echo agent-got-TERM >> {log}; exit 0' TERM
        echo "agent-started $*" >> {log}
        ticks=0
        while [ "$ticks" -lt 600 ]; do sleep 0.1; ticks=$((ticks + 1)); done
    """)  # fmt: skip
    _stub(bin_dir, "curl", """echo '"172.17.0.2:8300"'\n""")
    _stub(bin_dir, "consul", f"""
        echo "consul $* token=$CONSUL_HTTP_TOKEN" >> {log}
        case "$1 $2 $3" in
          "acl token create") printf '{{\\n    "AccessorID": "a",\\n    "SecretID": "agent-secret"\\n}}\\n' ;;
          "acl set-agent-token agent") printf '{{"agent": "%s"}}' "$4" > {data}/acl-tokens.json ;;
        esac
    """)  # fmt: skip
    script = render_consul_start_script().replace(CONSUL_AGENT_CONFIG_PATH, str(config))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CONSUL_DATA_DIR": str(data)}
    return {"script": script, "env": env, "log": log, "data": data}


@contextmanager
def _started_until(world: dict[str, Any], marker: str) -> Iterator[subprocess.Popen[bytes]]:
    """The script in its own session, running until `marker` is logged; its whole group is killed afterwards."""
    started = subprocess.Popen(["sh", "-c", world["script"]], env=world["env"], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while marker not in (world["log"].read_text() if world["log"].exists() else ""):
            assert time.monotonic() < deadline and started.poll() is None, world["log"].read_text() if world["log"].exists() else "no log"
            time.sleep(0.1)
        yield started
    finally:
        with suppress(ProcessLookupError):
            os.killpg(started.pid, signal.SIGKILL)
        started.wait(timeout=10)


def test_the_consul_server_gets_a_node_identity_agent_token_once_and_passes_term_on(consul_image):
    with _started_until(consul_image, "set-agent-token") as first:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 0  # the agent's exit status, not the shell's
    log = consul_image["log"].read_text()
    assert "agent-started agent" in log and "agent-got-TERM" in log
    assert "-node-identity consul-server:dc1" in log and "token=mgmt-secret" in log
    assert json.loads((consul_image["data"] / "acl-tokens.json").read_text()) == {"agent": "agent-secret"}
    # a restart (or a replacement on the same volume) finds the persisted token and creates no other
    consul_image["log"].write_text("")
    with _started_until(consul_image, "agent-started") as second:
        time.sleep(2)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=20) == 0
    assert "acl token create" not in consul_image["log"].read_text()


def test_the_consul_exporter_only_reads_services_and_nodes():
    assert consul_exporter_policy() == AclPolicy(
        "consul-exporter",
        "consul-exporter: read services, nodes and their health",
        (AclRule("service_prefix", "", "read"), AclRule("node_prefix", "", "read")),
    )


def test_swarm_consul_servers_share_one_config_naming_no_node_and_joining_through_the_swarm_dns():
    config = json.loads(swarm_consul_config("mgmt-secret", "dc2", 5, "10.77.0.0/16"))
    # no node_name: each server is named after its task's hostname (`consul-<node>`), stable across restarts
    assert "node_name" not in config
    assert (config["datacenter"], config["bootstrap_expect"], config["retry_join"]) == ("dc2", 5, ["consul"])
    assert config["acl"]["tokens"] == {"initial_management": "mgmt-secret"}
    assert config["bind_addr"] == '{{ GetAllInterfaces | include "network" "10.77.0.0/16" | attr "address" }}'
