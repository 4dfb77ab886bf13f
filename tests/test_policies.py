"""The policy pack, run offline exactly as `make plan` runs it: each rule fires on a bad resource and
stays quiet on a good one; the default stack passes; deliberately bad stacks trip only their rule."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi_policy.proxy import unknown_checking_proxy

from components.model.mesh import DEFAULT_PORT_RANGES
from components.offline.synth import Capture, Registration, Secret, synthesize
from components.offline.types import CONSUL_SERVICE, CONTAINER, DOCKER_PROVIDER, REMOTE_IMAGE, SERVICE
from policies.offline import Violation, blocking, engine_properties, evaluate, format_violations, load_pack_config
from policies.rules import _exposes_socket, build_policies, check_loopback, check_port_ranges, duration_seconds, service_view
from policies.settings import PORT_RANGES, SCHEMAS, policy_config
from tests.policy_fixtures import (
    changed,
    consul_service,
    container_props,
    healthy_stack,
    registration,
    swarm_service_props,
    urn_of,
    with_resources,
)

ROOT = Path(__file__).resolve().parent.parent


def fired(violations: list[Violation]) -> set[str]:
    return {violation.policy for violation in violations}


def postgres(capture: Capture) -> dict[str, Any]:
    return next(r.props for r in capture.resources if r.name == "postgres")


def with_postgres_port(**port: Any) -> Capture:
    stack = healthy_stack()
    return changed(stack, "postgres", ports=[{"internal": 5432, "external": 10000, "ip": "127.0.0.1", "protocol": "tcp", **port}])


def without_key(key: str) -> Capture:
    return changed(healthy_stack(), "postgres", **{key: None})


def test_the_healthy_stack_passes_every_policy():
    assert evaluate(healthy_stack()) == []


# Each case: the rule, a stack with one thing wrong, the pack config, and words the message must contain.
BAD: list[tuple[str, Callable[[], Capture], dict[str, Any], list[str]]] = [
    ("host-port-in-category-range", lambda: with_postgres_port(external=10150), {}, ["10150", "core range 10000-10099"]),
    (
        "host-port-in-category-range",
        lambda: changed(healthy_stack(), "postgres", labels=[{"label": "mesh.service", "value": "postgres"}]),
        {},
        ["mesh.category label is None"],
    ),
    (
        "no-privileged-host-ports",
        lambda: with_postgres_port(external=80),
        {"host-port-in-category-range": {"portRanges": {"core": [1, 10099]}}},
        ["privileged host port 80"],
    ),
    (
        "unique-host-ports",
        lambda: with_resources(
            healthy_stack(),
            registration(CONTAINER, "redis", container_props("redis", "core", [(6379, 10000)])),
            consul_service("redis"),
        ),
        {},
        ["host port 10000 is published by both sutazai-postgres and sutazai-redis"],
    ),
    ("container-healthcheck", lambda: without_key("healthcheck"), {}, ["sutazai-postgres has no healthcheck"]),
    (
        "container-healthcheck",
        lambda: changed(healthy_stack(), "postgres", healthcheck={"tests": ["NONE"]}),
        {},
        ["no healthcheck"],
    ),
    (
        "container-healthcheck",
        lambda: changed(healthy_stack(), "postgres", healthcheck={"tests": ["CMD", "true"], "interval": "1m30s"}),
        {},
        ["every 1m30s, above 30s"],
    ),
    ("container-healthcheck", lambda: changed(healthy_stack(), "postgres", wait=False), {}, ["not waited on (wait=False)"]),
    (
        "consul-service-check-interval",
        lambda: with_resources(healthy_stack(), consul_service("postgres", interval="30s"), without=("postgres-registration",)),
        {},
        ["Consul service postgres checks every 30s, none within 10s"],
    ),
    (
        "consul-service-check-interval",
        lambda: changed(healthy_stack(), "kong-registration", checks=[]),
        {},
        ["Consul service kong has no check"],
    ),
    (
        "registered-in-consul",
        lambda: with_resources(healthy_stack(), without=("postgres-registration",)),
        {},
        ["no consul.Service named 'postgres'"],
    ),
    ("privileged-allow-list", lambda: changed(healthy_stack(), "postgres", privileged=True), {}, ["runs privileged", "'postgres'"]),
    (
        "docker-socket-mount",
        lambda: changed(
            healthy_stack(), "postgres", volumes=[{"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock"}]
        ),
        {},
        ["mounts /var/run/docker.sock", "not in the allow-list"],
    ),
    (
        "docker-socket-mount",
        lambda: changed(healthy_stack(), "postgres", volumes=[{"hostPath": "/var/run", "containerPath": "/var/run"}]),
        {"docker-socket-mount": {"allowedServices": ["postgres"]}},
        ["mounts /var/run", "read-write"],
    ),
    ("host-namespaces", lambda: changed(healthy_stack(), "postgres", networkMode="host"), {}, ["host's network namespace"]),
    ("host-namespaces", lambda: changed(healthy_stack(), "postgres", pidMode="host"), {}, ["host's PID namespace"]),
    ("host-namespaces", lambda: changed(healthy_stack(), "postgres", ipcMode="host"), {}, ["host's IPC namespace"]),
    ("published-port-loopback", lambda: with_postgres_port(ip="0.0.0.0"), {}, ["host port 10000", "on 0.0.0.0"]),
    ("published-port-loopback", lambda: with_postgres_port(ip=None), {}, ["0.0.0.0 (unset)"]),
    (
        "sensitive-port-loopback",
        lambda: changed(
            healthy_stack(),
            "kong",
            ports=[
                {"internal": 8000, "external": 10005, "ip": "0.0.0.0", "protocol": "tcp"},
                {"internal": 8001, "external": 10015, "ip": "0.0.0.0", "protocol": "tcp"},
            ],
        ),
        # even allow-listed as public, the admin port stays on loopback
        {"published-port-loopback": {"allowedPorts": ["kong:8000", "kong:8001"]}},
        ["sensitive port 8001 (host 10015)"],
    ),
    (
        "no-plaintext-docker-port",
        lambda: changed(healthy_stack(), "kong", envs=["DOCKER_HOST=tcp://mcp-orchestrator:2375"]),
        {},
        ["DOCKER_HOST at tcp://mcp-orchestrator:2375"],
    ),
    (
        "no-plaintext-docker-port",
        lambda: changed(healthy_stack(), "dind", caMaterial=None, certMaterial=None, keyMaterial=None),
        {},
        ["Docker provider dind connects to tcp://127.0.0.1:12376 without TLS"],
    ),
    (
        "no-plaintext-docker-port",
        lambda: changed(
            healthy_stack(), "mcp-orchestrator", ports=[{"internal": 2375, "external": 12375, "ip": "127.0.0.1", "protocol": "tcp"}]
        ),
        {},
        ["2375->12375"],
    ),
    (
        "image-pinned",
        lambda: changed(healthy_stack(), "postgres-image", name="postgres"),
        {},
        ["image postgres (postgres-image) has no tag"],
    ),
    ("image-pinned", lambda: changed(healthy_stack(), "kong-image", name="localhost:5000/kong"), {}, ["has no tag"]),
    ("image-pinned", lambda: changed(healthy_stack(), "kong-image", name="kong:latest"), {}, ["uses 'latest'"]),
    ("memory-limit", lambda: without_key("memory"), {}, ["no memory limit"]),
    ("restart-policy", lambda: changed(healthy_stack(), "postgres", restart="always"), {}, ["restart policy always", "'unless-stopped'"]),
    ("no-new-privileges", lambda: without_key("securityOpts"), {}, ["may gain privileges"]),
    ("capabilities-dropped", lambda: without_key("capabilities"), {}, ["keeps Docker's default capabilities"]),
    (
        "capabilities-dropped",
        lambda: changed(healthy_stack(), "postgres", capabilities={"drops": ["ALL"], "adds": ["CAP_SYS_ADMIN"]}),
        {},
        ["adds CAP_SYS_ADMIN with no recorded reason"],
    ),
    ("read-only-root", lambda: changed(healthy_stack(), "postgres", readOnly=False), {}, ["writable root filesystem"]),
    ("non-root-user", lambda: without_key("user"), {}, ["runs as root (user None)"]),
    ("non-root-user", lambda: changed(healthy_stack(), "postgres", user="0:0"), {}, ["runs as root (user '0:0')"]),
    (
        "least-privilege-exceptions",
        lambda: changed(
            healthy_stack(),
            "postgres",
            user=None,
            labels=[
                {"label": "mesh.service", "value": "postgres"},
                {"label": "mesh.category", "value": "core"},
                {"label": "mesh.exception.root", "value": "the entrypoint drops to postgres"},
            ],
        ),
        {},
        ["sutazai-postgres: root exception: the entrypoint drops to postgres"],
    ),
    (
        "stateful-service-placement",
        lambda: with_resources(healthy_stack(), registration(SERVICE, "postgres-swarm", swarm_service_props("postgres", replicas=2))),
        {},
        ["runs 2 task(s)", "pin one task to a labelled node"],
    ),
    (
        "swarm-secrets-as-files",
        lambda: with_resources(
            healthy_stack(), registration(SERVICE, "postgres-swarm", swarm_service_props("postgres", env={"POSTGRES_PASSWORD": "hunter2"}))
        ),
        {},
        ["sets POSTGRES_PASSWORD in its environment"],
    ),
    (
        "credential-env-secret",
        lambda: changed(healthy_stack(), "postgres", envs=["POSTGRES_USER=mesh", "POSTGRES_PASSWORD=hunter2"]),
        {},
        ["sets POSTGRES_PASSWORD in plaintext"],
    ),
]


@pytest.mark.parametrize(("policy", "stack", "config", "words"), BAD, ids=[f"{case[0]}-{i}" for i, case in enumerate(BAD)])
def test_each_rule_fires_on_its_violation_and_only_it(policy, stack, config, words):
    violations = evaluate(stack(), config)
    assert fired(violations) == {policy}, format_violations(violations)
    for word in words:
        assert any(word in violation.message for violation in violations), (word, format_violations(violations))


def test_a_swarm_service_that_keeps_every_rule_passes_the_pack():
    assert evaluate(with_resources(healthy_stack(), registration(SERVICE, "postgres-swarm", swarm_service_props("postgres")))) == []


def test_every_policy_of_the_pack_has_a_violating_case():
    assert {policy.name for policy in build_policies()} == {case[0] for case in BAD}


# Passing cases that sit right at each rule's edge.
GOOD: list[tuple[str, Callable[[], Capture], dict[str, Any]]] = [
    ("host-port-in-category-range", lambda: with_postgres_port(external=10099), {}),
    ("no-privileged-host-ports", lambda: with_postgres_port(external=1024), {"host-port-in-category-range": "disabled"}),
    ("container-healthcheck", lambda: changed(healthy_stack(), "postgres", healthcheck={"tests": ["CMD", "true"], "interval": "30s"}), {}),
    ("container-healthcheck", lambda: changed(healthy_stack(), "postgres", healthcheck={"tests": ["CMD", "true"]}), {}),
    (
        "container-healthcheck",
        lambda: changed(healthy_stack(), "postgres", healthcheck={"tests": ["CMD", "true"], "interval": "2m"}),
        {"container-healthcheck": {"maxIntervalSeconds": 120}},
    ),
    (
        "consul-service-check-interval",
        lambda: with_resources(healthy_stack(), consul_service("postgres", interval="10s"), without=("postgres-registration",)),
        {},
    ),
    (
        "registered-in-consul",
        lambda: with_resources(healthy_stack(), without=("postgres-registration",)),
        {"registered-in-consul": {"exemptServices": ["postgres"]}},
    ),
    ("privileged-allow-list", healthy_stack, {}),
    # the privileged orchestrator is judged by privileged-allow-list alone (no capabilities, writable root, root)
    ("capabilities-dropped", lambda: changed(healthy_stack(), "mcp-orchestrator", capabilities=None, readOnly=None, user=None), {}),
    (
        "docker-socket-mount",
        lambda: changed(healthy_stack(), "postgres", volumes=[{"hostPath": "/var/run", "containerPath": "/var/run", "readOnly": True}]),
        {"docker-socket-mount": {"allowedServices": ["postgres"]}},
    ),
    (
        "docker-socket-mount",
        lambda: changed(healthy_stack(), "postgres", volumes=[{"hostPath": "/var/lib/postgres-dumps", "containerPath": "/dumps"}]),
        {},
    ),
    ("published-port-loopback", lambda: with_postgres_port(ip="::1"), {}),
    (
        "published-port-loopback",
        lambda: with_postgres_port(ip="0.0.0.0"),
        {"published-port-loopback": {"allowedPorts": ["kong:8000", "postgres:5432"]}},
    ),
    ("no-plaintext-docker-port", lambda: changed(healthy_stack(), "kong", envs=["DOCKER_HOST=tcp://mcp-orchestrator:2376"]), {}),
    ("image-pinned", lambda: changed(healthy_stack(), "kong-image", name="localhost:5000/kong:3.9.1"), {}),
    (
        "restart-policy",
        lambda: with_resources(changed(healthy_stack(), "postgres", restart="always"), without=("kong", "mcp-orchestrator")),
        {"restart-policy": {"required": "always"}},
    ),
    (
        "credential-env-secret",
        lambda: changed(healthy_stack(), "postgres", envs=["POSTGRES_USER=mesh", Secret("POSTGRES_PASSWORD=hunter2")]),
        {},
    ),
]


@pytest.mark.parametrize(("policy", "stack", "config"), GOOD, ids=[f"{case[0]}-{i}" for i, case in enumerate(GOOD)])
def test_each_rule_accepts_the_edge_of_what_it_allows(policy, stack, config):
    violations = evaluate(stack(), config)
    assert policy not in fired(violations), format_violations(violations)
    assert violations == [], format_violations(violations)


def test_messages_name_the_resource_the_value_and_the_fix():
    (violation,) = evaluate(with_postgres_port(ip="0.0.0.0"))
    assert violation.resource == "postgres"
    assert violation.level == "mandatory"
    assert "sutazai-postgres" in violation.message and "0.0.0.0" in violation.message and "bind it to 127.0.0.1" in violation.message


def test_an_exempt_service_is_the_exception_mechanism_and_a_level_override_unblocks():
    privileged = changed(healthy_stack(), "postgres", privileged=True)
    assert evaluate(privileged, {"privileged-allow-list": {"exemptServices": ["postgres"]}}) == []
    advisory = evaluate(privileged, {"privileged-allow-list": "advisory"})
    assert fired(advisory) == {"privileged-allow-list"} and blocking(advisory) == []
    assert evaluate(privileged, {"privileged-allow-list": {"enforcementLevel": "disabled"}}) == []


def test_an_unknown_value_is_reported_as_the_engine_does_during_preview():
    unknown_string = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's sentinel for a string not known at preview
    stack = changed(healthy_stack(), "postgres", restart=unknown_string)
    (violation,) = evaluate(stack)
    assert violation.policy == "restart-policy" and violation.level == "advisory"
    assert "can't run policy 'restart-policy' during preview" in violation.message and ".restart" in violation.message


def test_credentials_are_judged_by_their_secret_markers_and_remediated_not_blocked():
    plaintext = changed(healthy_stack(), "postgres", envs=["POSTGRES_USER=mesh", "POSTGRES_PASSWORD=hunter2", "API_TOKEN=t"])
    violations = evaluate(plaintext)
    assert [(v.level, v.resource) for v in violations] == [("remediate", "postgres"), ("remediate", "postgres")]
    assert blocking(violations) == []
    assert all("hunter2" not in violation.message for violation in violations)


def test_the_credential_name_pattern_is_configurable():
    stack = changed(healthy_stack(), "postgres", envs=["PGPASSFILE_CONTENT=x"])
    assert evaluate(stack) == []
    assert fired(evaluate(stack, {"credential-env-secret": {"namePattern": "PGPASS"}})) == {"credential-env-secret"}


def nested_mcp_server(**changes: Any) -> Registration:
    """An MCP server inside the DinD: published on the nested daemon (its health port too), which the orchestrator's
    ports expose."""
    props = container_props("mcp-files", "mcp", [(3003, 3003), (3103, 3103)])
    for port in props["ports"]:
        port["ip"] = "0.0.0.0"
    props.update(changes)
    dind = urn_of(DOCKER_PROVIDER, "dind")
    return registration(CONTAINER, "mcp-files", props, provider=f"{dind}::dind-id")


def test_containers_on_the_nested_daemon_bind_inside_it_and_only_host_ports_must_be_loopback():
    nested = with_resources(healthy_stack(), nested_mcp_server(), consul_service("mcp-files"))
    assert evaluate(nested) == []
    on_the_host = with_resources(healthy_stack(), nested_mcp_server(), consul_service("mcp-files"), without=("dind",))
    violations = evaluate(on_the_host)
    assert fired(violations) == {"published-port-loopback", "host-port-in-category-range", "unique-host-ports"}
    assert any("host port 3103" in v.message and "mcp range 3000-3099" in v.message for v in violations)


def test_the_orchestrator_may_publish_in_the_mcp_range_and_nowhere_else():
    stack = healthy_stack()
    assert evaluate(stack) == []
    wider = changed(stack, "mcp-orchestrator", ports=[{"internal": 3003, "external": 10050, "ip": "127.0.0.1", "protocol": "tcp"}])
    (violation,) = evaluate(wider)
    assert violation.policy == "host-port-in-category-range" and "orchestration/mcp range 12000-12999 or 3000-3099" in violation.message
    assert fired(evaluate(stack, {"host-port-in-category-range": {"sharedRanges": {}}})) == {"host-port-in-category-range"}


def test_consul_is_exempt_from_registration_because_it_registers_itself():
    consul = registration(CONTAINER, "consul", container_props("consul", "core", [(8500, 10006)]))
    assert evaluate(with_resources(healthy_stack(), consul)) == []
    assert fired(evaluate(with_resources(healthy_stack(), consul), {"registered-in-consul": {"exemptServices": []}})) == {
        "registered-in-consul"
    }


def test_a_nested_daemon_is_a_separate_port_space_for_collisions():
    clash = container_props("grafana-shadow", "mcp", [(3005, 3005)])
    inside = nested_mcp_server(ports=[{"internal": 3005, "external": 3005, "ip": "0.0.0.0", "protocol": "tcp"}])
    stack = with_resources(healthy_stack(), inside, consul_service("mcp-files"))
    assert evaluate(with_resources(stack, registration(CONTAINER, "grafana-shadow", clash), consul_service("grafana-shadow"))) == []
    same_daemon = nested_mcp_server(name="sutazai-mcp-shadow", ports=inside.props["ports"])
    same_daemon = registration(CONTAINER, "mcp-shadow", same_daemon.props, provider=same_daemon.provider)
    violations = evaluate(with_resources(stack, same_daemon))
    assert {v.policy for v in violations if v.level == "mandatory"} == {"unique-host-ports"}


def test_a_plaintext_docker_port_alone_is_caught_even_on_loopback():
    dind = changed(healthy_stack(), "dind", host="tcp://127.0.0.1:2375")
    assert fired(evaluate(dind)) == {"no-plaintext-docker-port"}


def test_the_default_stack_has_no_mandatory_violation(plan):
    violations = evaluate(plan)
    assert blocking(violations) == [], format_violations(violations)
    # every credential the program passes is already secret: the remediation has nothing to do
    assert [v for v in violations if v.level == "remediate"] == []


def test_the_default_stack_is_checked_by_every_container_rule(plan):
    """Not vacuous: break every container of the real stack one way and every container is named."""
    broken = Capture(
        resources=[r if r.type != CONTAINER else type(r)(**{**r.__dict__, "props": {**r.plain, "restart": "no"}}) for r in plan.resources]
    )
    names = {v.resource for v in evaluate(broken) if v.policy == "restart-policy"}
    assert names == {r.name for r in plan.all(CONTAINER)} and len(names) >= 18


def test_the_default_stack_passes_every_policy_and_its_only_advisories_are_recorded_exceptions(plan):
    violations = evaluate(plan)
    assert {v.policy for v in violations} == {"least-privilege-exceptions"}, format_violations(violations)
    # each advisory names the container, the kind of exception and the catalog's reason
    assert all(re.match(r"^sutazai-[\w-]+: (capabilities|writable-root|root) exception: \S", v.message) for v in violations)
    assert not any("no reason recorded" in v.message for v in violations)


def test_the_default_stack_registers_every_container_in_consul_and_a_missing_one_blocks(plan):
    assert len(plan.all(CONSUL_SERVICE)) >= len(plan.all(CONTAINER)) - 1  # consul registers itself
    unregistered = Capture(resources=[r for r in plan.resources if not (r.type == CONSUL_SERVICE and r.plain.get("name") == "redis")])
    (violation,) = blocking(evaluate(unregistered))
    assert (violation.policy, violation.level, violation.resource) == ("registered-in-consul", "mandatory", "redis")


# --- deliberately bad stacks, through the real program ---------------------------------------------


@pytest.mark.synthesis
def test_a_stack_bound_to_all_interfaces_trips_the_loopback_rules_and_names_postgres():
    violations = blocking(evaluate(synthesize({"bindAddress": "0.0.0.0"})))
    # the program keeps the Kong admin port on loopback whatever bindAddress says, so only the general rule fires
    assert fired(violations) == {"published-port-loopback"}
    postgres_line = [line for line in format_violations(violations) if "published-port-loopback  postgres  " in line]
    assert postgres_line and "10000" in postgres_line[0] and "0.0.0.0" in postgres_line[0]
    assert "kong" not in {v.resource for v in violations}  # its proxy is allow-listed, its admin port stays on loopback


@pytest.mark.synthesis
def test_opening_only_the_kong_proxy_is_allowed():
    assert blocking(evaluate(synthesize({"proxyBindAddress": "0.0.0.0"}))) == []


@pytest.mark.synthesis
def test_a_stack_that_moves_a_range_away_from_services_md_trips_only_the_port_range_rule():
    config = {
        "portRanges": {"ai": [11000, 11099]},
        "services": {"chromadb": {"hostPorts": [11000]}, "qdrant": {"hostPorts": [11001, 11002]}},
    }
    violations = blocking(evaluate(synthesize(config)))
    assert fired(violations) == {"host-port-in-category-range"}
    assert {v.resource for v in violations} == {"chromadb", "qdrant"}


@pytest.mark.synthesis
def test_a_stack_that_publishes_a_privileged_port_trips_the_range_and_privileged_port_rules():
    config = {"portRanges": {"core": [80, 10099]}, "services": {"postgres": {"hostPorts": [80]}}}
    violations = blocking(evaluate(synthesize(config)))
    assert fired(violations) == {"host-port-in-category-range", "no-privileged-host-ports"}
    assert {v.resource for v in violations} == {"postgres"}


@pytest.mark.synthesis
def test_the_pack_config_can_follow_a_stack_that_moves_a_range():
    config = {
        "portRanges": {"ai": [11000, 11099]},
        "services": {"chromadb": {"hostPorts": [11000]}, "qdrant": {"hostPorts": [11001, 11002]}},
    }
    pack_config = {"host-port-in-category-range": {"portRanges": {**PORT_RANGES, "ai": [11000, 11099]}}}
    assert blocking(evaluate(synthesize(config), pack_config)) == []


# --- the configuration ----------------------------------------------------------------------------


def test_the_pack_port_ranges_are_the_programs_defaults_from_services_md():
    assert {category: tuple(bounds) for category, bounds in PORT_RANGES.items()} == DEFAULT_PORT_RANGES
    assert SCHEMAS["host-port-in-category-range"]["portRanges"]["default"] == PORT_RANGES


def test_every_policy_publishes_its_config_schema_with_defaults():
    for policy in build_policies():
        assert policy.config_schema is not None
        for key, prop in policy.config_schema.properties.items():
            assert "default" in prop and "type" in prop, (policy.name, key)
        assert policy_config(policy.name, {}) == {key: prop["default"] for key, prop in policy.config_schema.properties.items()}


def test_a_pack_config_file_is_read_like_the_cli_reads_it(tmp_path):
    path = tmp_path / "policy-config.json"
    path.write_text('{"privileged-allow-list": {"allowedServices": ["mcp-orchestrator", "postgres"]}}')
    assert evaluate(changed(healthy_stack(), "postgres", privileged=True), load_pack_config(path)) == []
    path.write_text("[]")
    with pytest.raises(ValueError, match="JSON object"):
        load_pack_config(path)


@pytest.mark.parametrize(("text", "seconds"), [("10s", 10), ("1m30s", 90), ("500ms", 0.5), ("1h", 3600)])
def test_go_durations_are_read_as_docker_and_consul_write_them(text, seconds):
    assert duration_seconds(text) == seconds


def test_a_malformed_duration_is_an_error_not_a_pass():
    with pytest.raises(ValueError, match="not a duration"):
        duration_seconds("10 seconds")


def test_verdict_lines_put_blocking_ones_first():
    stack = changed(healthy_stack(), "postgres", restart="always", envs=["POSTGRES_PASSWORD=x"], memory=None)
    lines = format_violations(evaluate(stack, {"memory-limit": "advisory"}))
    assert [re.split(r"\s{2,}", line)[0:3] for line in lines] == [
        ["mandatory", "restart-policy", "postgres"],
        ["remediate", "credential-env-secret", "postgres"],
        ["advisory", "memory-limit", "postgres"],
    ]


def test_remote_images_of_the_default_stack_are_all_pinned(plan):
    assert len(plan.all(REMOTE_IMAGE)) >= 18
    assert [v for v in evaluate(plan) if v.policy == "image-pinned"] == []
    unpinned = Capture(resources=[r for r in plan.resources if r.type == REMOTE_IMAGE and r.name == "redis-image"])
    assert fired(evaluate(changed(unpinned, "redis-image", name="redis"))) == {"image-pinned"}


def test_provider_registrations_are_checked_as_the_engine_hands_them():
    stack = with_resources(healthy_stack(), registration(DOCKER_PROVIDER, "nested", {"host": "tcp://10.0.0.5"}))
    (violation,) = evaluate(stack)
    assert violation.resource == "nested" and "without TLS" in violation.message


def test_the_readme_rules_table_lists_every_policy_with_its_level():
    readme = (ROOT / "README.md").read_text()
    rules_table = readme.split("## Policy pack", 1)[1].split("### Rules", 1)[1].split("### Running it", 1)[0]
    rows = {}
    for line in rules_table.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 5 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[3]
    assert rows == {policy.name: (policy.enforcement_level.value if policy.enforcement_level else "") for policy in build_policies()}


# --- `make plan` (tools/plan.py) -------------------------------------------------------------------


def run_plan(tmp_path: Path, stack_yaml: str, *extra: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "Pulumi.check.yaml"
    config.write_text(stack_yaml)
    command = [sys.executable, "-m", "tools.plan", "--config", str(config), "--out", str(tmp_path / "build"), *extra]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.synthesis
def test_make_plan_on_a_stack_open_to_the_lan_exits_non_zero_naming_the_rule_and_postgres(tmp_path):
    result = run_plan(tmp_path, "config:\n  mesh:bindAddress: 0.0.0.0\n")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    postgres = [line for line in lines if re.match(r"mandatory\s+published-port-loopback\s+postgres\s", line)]
    assert postgres and "host port 10000" in postgres[0] and "0.0.0.0" in postgres[0]
    mandatory = [line for line in lines if line.startswith("mandatory  ")]
    assert any(line.startswith(f"policy pack: {len(mandatory)} mandatory") for line in lines) and len(mandatory) >= 20


@pytest.mark.synthesis
def test_make_plan_on_the_default_stack_passes(tmp_path):
    result = run_plan(tmp_path, (ROOT / "Pulumi.dev.yaml").read_text())
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    # the recorded least-privilege exceptions are reported, never blocking
    assert any(re.fullmatch(r"policy pack: \d+ advisory", line) for line in lines), result.stdout
    assert not [line for line in lines if line.startswith("mandatory  ")]


@pytest.mark.synthesis
def test_make_plan_takes_the_pack_config_that_grants_an_exception(tmp_path):
    exception = tmp_path / "policy.json"
    exception.write_text('{"published-port-loopback": "advisory", "sensitive-port-loopback": "advisory"}')
    result = run_plan(tmp_path, "config:\n  mesh:bindAddress: 0.0.0.0\n", "--policy-config", str(exception))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mandatory" not in result.stdout


# --- properties over wide inputs (the rule functions directly, on what the engine hands them) ------


@settings(max_examples=200, deadline=None)
@given(category=st.sampled_from(sorted(PORT_RANGES)), host_port=st.integers(1024, 65535))
def test_the_range_rule_fires_exactly_outside_the_categorys_ranges(category, host_port):
    props = unknown_checking_proxy(engine_properties(container_props("svc", category, [(80, host_port)])))
    messages = list(check_port_ranges("svc", props, policy_config("host-port-in-category-range", {})))
    low, high = PORT_RANGES[category]
    shared = category == "orchestration" and PORT_RANGES["mcp"][0] <= host_port <= PORT_RANGES["mcp"][1]
    assert (messages == []) == (low <= host_port <= high or shared)


@settings(max_examples=200, deadline=None)
@given(address=st.ip_addresses())
def test_the_loopback_rule_fires_exactly_for_non_loopback_addresses(address):
    props = container_props("svc", "core", [(5432, 10000)])
    props["ports"][0]["ip"] = str(address)
    messages = list(check_loopback("svc", unknown_checking_proxy(engine_properties(props)), policy_config("published-port-loopback", {})))
    assert (messages == []) == address.is_loopback


@pytest.mark.parametrize(
    ("host_path", "exposed"),
    [
        ("/var/run/docker.sock", True),
        ("/var/run/docker.sock/", True),
        ("/run/docker.sock", True),
        ("/var/run", True),
        ("/var/run/", True),
        ("/var", True),
        ("/run", True),
        ("/", True),
        ("/var/lib/docker", False),
        ("/var/run2", False),
        ("/ru", False),
        ("/srv/data", False),
    ],
)
def test_a_mount_exposes_the_docker_socket_exactly_when_it_is_the_socket_or_a_directory_above_it(host_path, exposed):
    assert _exposes_socket(host_path) is exposed


# --- swarm services read like containers (`policies.rules.service_view`), rule by rule ---


def swarm_service(**changes: Any) -> Registration:
    props = swarm_service_props("postgres")
    for key, value in changes.items():
        props[key] = value
    return registration(SERVICE, "postgres-swarm", props)


def test_a_swarm_service_is_read_with_its_own_fields_where_a_container_keeps_them():
    props = swarm_service_props("postgres")
    props["taskSpec"]["containerSpec"]["mounts"] += [
        {"type": "bind", "source": "/var/run/docker.sock", "target": "/var/run/docker.sock", "readOnly": True}
    ]
    props["endpointSpec"] = {"mode": "vip", "ports": [{"targetPort": 5432, "publishedPort": 10000, "publishMode": "host"}]}
    view = service_view(props)
    assert (view["__service"], view["name"], view["image"]) == (True, "postgres", "postgres:17.6-alpine")
    assert view["labels"] == props["labels"] and view["wait"] is True
    # a host-mode port binds every interface of the node: no ip
    assert view["ports"] == [{"internal": 5432, "external": 10000, "ip": None, "mode": "host"}]
    assert view["volumes"] == [{"hostPath": "/var/run/docker.sock", "readOnly": True}]
    assert (view["memory"], view["restart"], view["replicas"]) == (1024, "any", 1)
    assert view["envs"] == ["POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password"]
    del props["mode"]["replicated"]["replicas"]
    assert service_view(props)["replicas"] == 1  # the provider's default: one task
    props["mode"] = {"global": True}
    del props["convergeConfig"]
    assert (service_view(props)["replicas"], service_view(props)["wait"]) == (None, True)  # a global service has nothing to converge
    assert (service_view({})["labels"], service_view({})["ports"], service_view({})["memory"]) == ([], [], None)


def test_each_container_rule_fires_on_a_swarm_service_that_breaks_it():
    props = swarm_service_props("postgres")
    props["endpointSpec"] = {"mode": "vip", "ports": [{"targetPort": 5432, "publishedPort": 10090, "publishMode": "host"}]}
    assert fired(evaluate(with_resources(healthy_stack(), registration(SERVICE, "postgres-swarm", props)))) == {"published-port-loopback"}
    props = swarm_service_props("postgres")
    props["taskSpec"]["containerSpec"]["mounts"] += [{"type": "bind", "source": "/var/run/docker.sock/", "target": "/var/run/docker.sock"}]
    assert fired(evaluate(with_resources(healthy_stack(), registration(SERVICE, "postgres-swarm", props)))) == {"docker-socket-mount"}
    props = swarm_service_props("postgres")
    del props["taskSpec"]["resources"]
    assert "memory-limit" in fired(evaluate(with_resources(healthy_stack(), registration(SERVICE, "postgres-swarm", props))))
    props = swarm_service_props("postgres")
    del props["convergeConfig"]
    assert fired(evaluate(with_resources(healthy_stack(), registration(SERVICE, "postgres-swarm", props)))) == {"container-healthcheck"}


@pytest.mark.parametrize(
    ("replicas", "placement", "words"),
    [
        (
            2,
            {"constraints": ["node.labels.mesh.data.postgres==true"]},
            "runs 2 task(s) with constraints ['node.labels.mesh.data.postgres==true'] and max_replicas unlimited",
        ),
        (1, {}, "runs 1 task(s) with constraints [] and max_replicas unlimited"),
        (1, {"maxReplicas": 1}, "runs 1 task(s) with constraints [] and max_replicas 1"),
        (3, {"maxReplicas": 2}, "runs 3 task(s) with constraints [] and max_replicas 2"),
    ],
)
def test_a_stateful_swarm_service_is_refused_unless_pinned_alone_or_one_per_node(replicas, placement, words):
    props = swarm_service_props("postgres", replicas=replicas)
    props["taskSpec"]["placement"] = placement
    violations = evaluate(with_resources(healthy_stack(), registration(SERVICE, "postgres-swarm", props)))
    assert fired(violations) == {"stateful-service-placement"}
    assert [v.message for v in violations] == [
        f"service postgres keeps data in volume sutazai-postgres-data but {words}; "
        "pin one task to a labelled node (node.labels.mesh.data.<service>==true) or run one task per node"
    ]


def test_a_stateful_cluster_may_run_one_task_per_node_and_a_global_service_one_per_node_too():
    cluster = swarm_service_props("postgres", replicas=3)
    cluster["taskSpec"]["placement"] = {"maxReplicas": 1}
    assert evaluate(with_resources(healthy_stack(), registration(SERVICE, "postgres-swarm", cluster))) == []
    per_node = swarm_service_props("postgres")
    per_node["mode"] = {"global": True}
    per_node["taskSpec"]["placement"] = {}
    assert evaluate(with_resources(healthy_stack(), registration(SERVICE, "postgres-swarm", per_node))) == []


def test_a_swarm_credential_is_refused_in_the_environment_even_next_to_a_secret_file():
    env = {"POSTGRES_PASSWORD_FILE": "/run/secrets/postgres_password", "DB_PASSWORD": "hunter2", "PGDATA_FILE": "/var/lib/x"}
    props = swarm_service_props("postgres", env=env)
    violations = evaluate(with_resources(healthy_stack(), registration(SERVICE, "postgres-swarm", props)))
    assert [v.message for v in violations if v.policy == "swarm-secrets-as-files"] == [
        "service postgres sets DB_PASSWORD in its environment; deliver it as a docker.Secret file (DB_PASSWORD_FILE)"
    ]


def test_a_stateful_cluster_of_two_one_per_node_passes_and_a_credential_file_outside_run_secrets_does_not():
    cluster = swarm_service_props("postgres", replicas=2)
    cluster["taskSpec"]["placement"] = {"maxReplicas": 1}
    assert evaluate(with_resources(healthy_stack(), registration(SERVICE, "postgres-swarm", cluster))) == []
    env = {"POSTGRES_PASSWORD_FILE": "/run/secrets/postgres_password", "DB_PASSWORD_FILE": "/tmp/password"}
    violations = evaluate(
        with_resources(healthy_stack(), registration(SERVICE, "postgres-swarm", swarm_service_props("postgres", env=env)))
    )
    assert [v.message for v in violations if v.policy == "swarm-secrets-as-files"] == [
        "service postgres sets DB_PASSWORD_FILE in its environment; deliver it as a docker.Secret file (DB_PASSWORD_FILE_FILE)"
    ]
