"""Day 2, offline: the program runs twice against provider-faithful state and the second run changes nothing.

The first run is deployed into the state each provider would write back (`provider_state`); the second run's
inputs are diffed against it with the providers' own replace/update rules (`lifecycle`). Each regression the
issue found is planted once below and shown to fail the same check the healthy stack passes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi_consul as consul
import pulumi_docker as docker
import pytest

from components.catalog import canonical
from components.catalog.services import CATALOG
from components.offline import lifecycle, provider_state
from components.offline.blast_radius import EDITS, README_BEGIN, README_END, Edit, render_markdown
from components.offline.lifecycle import Deployment, Plan
from components.offline.synth import Capture, synthesize, try_synthesize
from components.offline.types import CONSUL_SERVICE, CONTAINER, VOLUME
from components.render.consul import CONSUL_AGENT_CONFIG_PATH
from components.resources import container as container_module

UNUSUAL_BUT_VALID: dict[str, dict[str, Any]] = {
    "default": {},
    "backend replicas": {"services": {"backend": {"replicas": 3}}},
    "every UI routed": {"gateway": {"ui": ["grafana", "prometheus", "alertmanager", "jaeger", "consul", "rabbitmq"]}},
    "a seventh MCP server": {
        "mcpServers": {"time": {"port": 3020, "package": "@example/mcp-time@1.4.2", "bin": "mcp-time", "dataPath": "/state"}}
    },
    "Ollama on": {"services": {"ollama": {"enabled": True}}},
    "odd limits": {"services": {"redis": {"cpus": 0.25, "memoryMb": 300}, "kong": {"cpus": 2}}, "mcpServers": {"docs": {"cpus": 1.5}}},
}


def second_up(config: dict[str, Any], *, refreshed: bool = False, rerun: bool = False) -> Plan:
    """`pulumi up`, (optionally `pulumi refresh`), then `pulumi up` again with the same config: what the second one does.

    `rerun` runs the program a second time; otherwise the first run's registrations stand for the second's, which
    is the same thing for a deterministic program (the default stack below is run twice, and
    test_deploy_graph.py proves two runs register the same resources byte for byte).
    """
    first = synthesize(config)
    state = lifecycle.deploy(first)
    if refreshed:
        state = lifecycle.refresh(state)
    return lifecycle.diff(state, synthesize(config) if rerun else first)


def assert_changes_nothing(plan: Plan) -> None:
    assert plan.empty, f"the second `pulumi up` would: {plan.summary()}"


def test_up_then_up_changes_nothing_for_the_default_stack_run_twice() -> None:
    assert_changes_nothing(second_up({}, rerun=True))


@pytest.mark.parametrize("config", list(UNUSUAL_BUT_VALID.values())[1:], ids=list(UNUSUAL_BUT_VALID)[1:])
def test_up_then_up_changes_nothing_for_unusual_but_valid_configs(config: dict[str, Any]) -> None:
    assert_changes_nothing(second_up(config))


def test_refresh_then_up_changes_nothing() -> None:
    assert_changes_nothing(second_up({}, refreshed=True))


# --- each finding of the issue, planted again: the same check fails -------------------------------------


@pytest.fixture
def plant(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def planted(regression: str) -> None:
        if regression == "cpus sent as '1'":
            monkeypatch.setattr(container_module, "docker_cpus", lambda cpus: f"{cpus:g}")
        elif regression == "healthcheck durations sent as '60s'":
            monkeypatch.setattr(container_module, "go_duration", lambda seconds: f"{seconds}s")
        elif regression == "memory_swap left to Docker":
            original = docker.Container

            def without_swap(*args: Any, **kwargs: Any) -> Any:
                kwargs.pop("memory_swap", None)
                return original(*args, **kwargs)

            monkeypatch.setattr(docker, "Container", without_swap)
        elif regression == "a Consul check gets a status":
            original_check = consul.ServiceCheckArgs

            def with_status(**kwargs: Any) -> Any:
                return original_check(**kwargs, status="critical")

            monkeypatch.setattr(consul, "ServiceCheckArgs", with_status)
        else:
            raise AssertionError(regression)

    yield planted


@pytest.mark.parametrize(
    ("regression", "refreshed", "expected"),
    [
        ("cpus sent as '1'", False, {"replace": {"postgres", "rabbitmq", "consul", "kong", "backend"}}),
        ("healthcheck durations sent as '60s'", True, {"update": {"rabbitmq", "neo4j", "mcp-memory"}}),
        ("memory_swap left to Docker", False, {"update": {"postgres", "redis", "mcp-files"}}),
        ("a Consul check gets a status", True, {"update": {"postgres-registration", "redis-registration", "kong-registration"}}),
    ],
)
def test_each_finding_planted_again_fails_the_second_up(
    plant: Callable[[str], None], regression: str, refreshed: bool, expected: dict[lifecycle.Op, set[str]]
) -> None:
    plant(regression)
    plan = second_up({}, refreshed=refreshed)
    with pytest.raises(AssertionError, match="the second `pulumi up` would"):
        assert_changes_nothing(plan)
    for op, names in expected.items():
        assert names <= plan.names(op), f"{regression}: expected {op} of {sorted(names)}, got {plan.summary()}"
    if regression == "cpus sent as '1'":
        # the count: every container limited to whole CPUs is replaced, none of the 0.5-CPU MCP servers
        whole = {name for name in plan.names("replace", CONTAINER) if not name.startswith("mcp-") or name == "mcp-orchestrator"}
        assert whole == plan.names("replace") and len(whole) >= 20, plan.summary()


# --- the forms themselves, against the providers' own test vectors ---------------------------------------


@pytest.mark.parametrize(
    ("nanos", "text"),
    # terraform-provider-docker v4.5.0 internal/provider/helpers_test.go TestNanoInt64ToDecimalString
    [(0, "0"), (1_000_000_000, "1.0"), (1_500_000_000, "1.5"), (2_000_000_000, "2.0"), (2_250_000_000, "2.25")],
)
def test_cpus_read_back_as_the_provider_writes_them(nanos: int, text: str) -> None:
    assert canonical.docker_cpus_text(nanos) == text


def test_cpus_the_provider_cannot_read_back_faithfully_are_refused() -> None:
    assert canonical.docker_cpus(0.5) == "0.5" and canonical.docker_cpus(4) == "4.0" and canonical.docker_cpus(10) == "10."
    with pytest.raises(ValueError, match=r"reads 0\.05 CPUs back as '0\.1'"):
        canonical.docker_cpus(0.05)


@pytest.mark.parametrize(
    ("given", "read_back"),
    [
        ("60s", "1m0s"),
        ("180s", "3m0s"),
        ("10s", "10s"),
        ("0s", "0s"),
        ("3600s", "1h0m0s"),
        ("1.5s", "1.5s"),
        ("500ms", "500ms"),
        ("90m", "1h30m0s"),
    ],
)
def test_durations_read_back_as_go_formats_them(given: str, read_back: str) -> None:
    assert provider_state.go_duration(given) == read_back


@pytest.mark.parametrize("seconds", [0, 5, 10, 30, 45, 59, 60, 61, 180, 3599, 3600, 86400])
def test_the_program_sends_durations_in_the_form_they_are_read_back(seconds: int) -> None:
    sent = canonical.go_duration(seconds)
    assert provider_state.go_duration(sent) == sent
    assert provider_state.parse_go_duration(sent) == seconds * 10**9


def test_every_state_row_and_replace_rule_cites_its_provider_source() -> None:
    for row in provider_state.STATE_TABLE + provider_state.REFRESH_TABLE:
        assert row.source.strip() and ".go" in row.source, row
    for rules in lifecycle.REPLACE_RULES.values():
        assert ".go" in rules.source, rules.type_


def test_every_resource_type_the_stack_registers_has_replace_rules(plan: Capture) -> None:
    registered = {r.type for r in plan.resources if r.custom and not r.type.startswith("pulumi:providers:")}
    assert registered <= set(lifecycle.REPLACE_RULES), sorted(registered - set(lifecycle.REPLACE_RULES))


def test_the_mock_answers_with_the_provider_state(plan: Capture) -> None:
    state = lifecycle.deploy(plan)
    rabbitmq = state.one(CONTAINER, "rabbitmq").state
    # Docker fills the swap limit in, Go formats the durations
    assert rabbitmq["memorySwap"] == 2 * rabbitmq["memory"]
    assert rabbitmq["healthcheck"]["startPeriod"] == "1m0s" and rabbitmq["healthcheck"]["startInterval"] == "0s"
    registration = state.one(CONSUL_SERVICE, "redis-registration").state
    assert registration["checks"][0]["status"] == "critical"
    assert lifecycle.refresh(state).one(CONSUL_SERVICE, "redis-registration").state["checks"][0]["status"] == "passing"


def test_a_diff_sees_creates_and_deletes(plan: Capture) -> None:
    state: Deployment = lifecycle.deploy(plan)
    without_redis = synthesize({"services": {"redis": {"enabled": False}, "redis-exporter": {"enabled": False}}})
    removed = lifecycle.diff(state, without_redis)
    assert {"redis", "redis-registration", "redis-data"} <= removed.names("delete")
    assert all(change.retained for change in removed.changes if change.name == "redis-data")
    back = lifecycle.diff(lifecycle.apply(state, without_redis, removed), plan)
    assert {"redis", "redis-registration", "redis-data"} <= back.names("create")


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"services": {"redis": {"cpus": 0.05}}}, "mesh:services.redis.cpus"),
        ({"mcpServers": {"docs": {"cpus": 0.005}}}, "mesh:mcpServers.docs.cpus"),
        ({"mcpOrchestrator": {"cpus": 0.05}}, "mesh:mcpOrchestrator.cpus"),
    ],
)
def test_a_cpu_limit_the_provider_reads_back_otherwise_is_a_config_error(config: dict[str, Any], key: str) -> None:
    capture, error = try_synthesize(config)
    assert error is not None and not capture.resources
    assert error.key == key and "every `pulumi up` would replace the container" in error.message


# --- blast radius: what an everyday edit restarts ----------------------------------------------------------


@pytest.fixture(scope="module")
def default_deployment() -> Deployment:
    return lifecycle.deploy(synthesize({}))


@pytest.fixture(scope="module")
def measured(default_deployment: Deployment) -> dict[str, Plan]:
    return {edit.what: edit.measure(None if edit.before else default_deployment) for edit in EDITS}


@pytest.mark.parametrize("edit", EDITS, ids=[edit.what for edit in EDITS])
def test_an_everyday_edit_touches_exactly_what_the_table_says(edit: Edit, measured: dict[str, Plan]) -> None:
    plan = measured[edit.what]
    found = {op: plan.names(op) for op in ("replace", "update", "create", "delete")}
    assert found == {"replace": edit.replaced, "update": edit.updated, "create": edit.created, "delete": edit.deleted}, plan.summary()


def _stateful_containers(deployment: Deployment) -> set[str]:
    return {
        deployed.name
        for deployed in deployment.resources.values()
        if deployed.type_ == CONTAINER and any(volume.get("volumeName") for volume in deployed.inputs.get("volumes") or [])
    }


def test_no_stateful_container_is_replaced_by_an_edit_that_does_not_concern_it(
    measured: dict[str, Plan], default_deployment: Deployment
) -> None:
    stateful = _stateful_containers(default_deployment)
    assert {"postgres", "redis", "rabbitmq", "consul", "neo4j", "prometheus", "mcp-orchestrator"} <= stateful
    for edit in EDITS:
        restarted = measured[edit.what].names("replace", CONTAINER) & stateful
        assert restarted <= edit.concerns, f"{edit.what} restarts {sorted(restarted - edit.concerns)}"


def test_a_data_volume_is_never_replaced_and_leaves_the_stack_only_retained(measured: dict[str, Plan]) -> None:
    for edit in EDITS:
        for change in measured[edit.what].changes:
            if change.type_ == VOLUME:
                assert change.op == "delete" and change.retained, f"{edit.what}: {change}"


def test_the_readme_publishes_the_blast_radius_table() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert README_BEGIN in readme and README_END in readme
    published = readme.split(README_BEGIN, 1)[1].split(README_END, 1)[0].strip("\n") + "\n"
    assert published == render_markdown(), "README's table is stale; replace it with:\n" + render_markdown()


# --- a replaced container keeps its identity and its data ----------------------------------------------------

STATEFUL_SERVICES = (
    "rabbitmq", "consul", "neo4j", "postgres", "redis", "qdrant", "chromadb", "loki", "prometheus", "grafana", "alertmanager",
)  # fmt: skip


def identity(deployed: lifecycle.Deployed) -> dict[str, Any]:
    """What the service's data is stored under: the hostname Docker reports, its node name, its volumes and their paths."""
    envs = dict(str(env).split("=", 1) for env in deployed.inputs.get("envs") or [])
    return {
        "hostname": deployed.state["hostname"],
        "node name": envs.get("RABBITMQ_NODENAME"),
        "volumes": sorted((v.get("volumeName"), v["containerPath"]) for v in deployed.inputs.get("volumes") or [] if v.get("volumeName")),
    }


def replace_each(services: tuple[str, ...]) -> tuple[Deployment, Deployment, Plan]:
    """Deploy the default stack, then force a replacement of each service's container (a new image tag) in one update."""
    before = lifecycle.deploy(synthesize({}))
    edit = {"services": {name: {"image": f"{CATALOG[name].image}-r2"} for name in services}}
    after_run = synthesize(edit)
    plan = lifecycle.diff(before, after_run)
    return before, lifecycle.apply(before, after_run, plan), plan


def test_every_stateful_service_keeps_its_identity_and_data_across_a_replacement() -> None:
    before, after, plan = replace_each(STATEFUL_SERVICES)
    assert set(STATEFUL_SERVICES) <= plan.names("replace", CONTAINER)
    assert not plan.names("replace", VOLUME) and not plan.names("delete")
    for name in STATEFUL_SERVICES:
        old, new = before.one(CONTAINER, name), after.one(CONTAINER, name)
        assert old.id_ != new.id_, f"{name} was not recreated"
        assert identity(new) == identity(old), f"{name}: {identity(old)} -> {identity(new)}"
        assert identity(new)["hostname"] == name and identity(new)["volumes"], name
    rabbitmq = identity(after.one(CONTAINER, "rabbitmq"))
    # RabbitMQ's data directory is /var/lib/rabbitmq/mnesia/<node name>, and the node is rabbit@<hostname>
    assert rabbitmq["node name"] == f"rabbit@{rabbitmq['hostname']}"


def test_consul_keeps_its_node_name_across_a_replacement() -> None:
    before, after, _ = replace_each(("consul",))

    def node_name(deployed: lifecycle.Deployed) -> str:
        config = next(u["content"] for u in deployed.inputs["uploads"] if u["file"] == CONSUL_AGENT_CONFIG_PATH)
        return str(json.loads(config)["node_name"])

    assert node_name(after.one(CONTAINER, "consul")) == node_name(before.one(CONTAINER, "consul")) == "consul-server"


def test_without_a_fixed_hostname_rabbitmq_would_come_back_as_an_empty_node(monkeypatch: pytest.MonkeyPatch) -> None:
    """The regression planted: RabbitMQ's hostname removed; the replacement's hostname is its new container id."""
    monkeypatch.setitem(CATALOG, "rabbitmq", replace(CATALOG["rabbitmq"], hostname=None))
    with pytest.raises(AssertionError, match="rabbitmq"):
        test_every_stateful_service_keeps_its_identity_and_data_across_a_replacement()


GRACEFUL = {
    "consul-esm": "SIGTERM", "rabbitmq": "SIGTERM", "postgres": "SIGINT", "redis": "SIGTERM", "neo4j": "SIGTERM", "prometheus": "SIGTERM",
}  # fmt: skip


@pytest.mark.parametrize(("service", "signal"), GRACEFUL.items())
def test_services_that_flush_or_deregister_on_shutdown_get_their_signal_and_time(plan: Capture, service: str, signal: str) -> None:
    container = plan.one(CONTAINER, service).plain
    assert container["stopSignal"] == signal
    # without destroy_grace_seconds pulumi-docker stops with a zero timeout: SIGKILL right after the signal
    assert container["destroyGraceSeconds"] >= 15 and container["stopTimeout"] == container["destroyGraceSeconds"]


def test_every_container_with_a_data_volume_is_stopped_gracefully(plan: Capture) -> None:
    for container in plan.all(CONTAINER):
        if any(volume.get("volumeName") for volume in container.plain.get("volumes") or []):
            assert container.plain.get("destroyGraceSeconds", 0) > 0, container.name
            assert container.plain.get("hostname"), container.name
