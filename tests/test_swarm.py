"""`mesh:platform: swarm` under mocks: the committed swarm stack (docs/stacks/Pulumi.swarm.yaml) as the program
registers it: services, their scheduling and placement, secrets and configs, the overlay, Consul's cluster,
the DinD orchestrator on its node, the values in the provider's read-back form, and the policy pack on services.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from components.catalog.services import CATALOG, DOCKER_SOCKET
from components.model.base import ConfigError
from components.offline import lifecycle
from components.offline.stack_file import load_stack_file
from components.offline.synth import Capture, Registration, synthesize
from components.offline.types import CONSUL_SERVICE, CONTAINER, NETWORK, SECRET, SERVICE, SERVICE_CONFIG
from components.plan.swarm import REPLICATED, SECRET_ENVS, SecretEnv, go_duration
from components.resources.swarm_service import credentials_by_name
from policies.offline import blocking, evaluate
from tests.queries import PACK_PASSED
from tools.plan import main as plan_main

SWARM_STACK = Path(__file__).resolve().parent.parent / "docs" / "stacks" / "Pulumi.swarm.yaml"
CREDENTIAL = re.compile(r"(^|_)(PASSWORD|PASSWD|PASS|PWD|SECRET|TOKEN|KEY|AUTH|CREDENTIALS?)(_|$)", re.IGNORECASE)


def swarm_config(**changes: Any) -> dict[str, Any]:
    raw = dict(load_stack_file(SWARM_STACK).values)
    for key, value in changes.items():
        raw[key] = value
    return raw


@pytest.fixture(scope="module")
def swarm() -> Capture:
    stack_file = load_stack_file(SWARM_STACK)
    raw, secret_keys = dict(stack_file.values), stack_file.secret_keys
    return synthesize(raw, stack="swarm", secret_keys=secret_keys)


def service(capture: Capture, name: str) -> dict[str, Any]:
    plain: dict[str, Any] = capture.one(SERVICE, name).plain
    return plain


def container_spec(capture: Capture, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = service(capture, name)["taskSpec"]["containerSpec"]
    return spec


def test_on_a_swarm_the_proxys_clients_read_their_own_nodes_socket_read_only(swarm: Capture) -> None:
    for name in ("alloy", "cadvisor"):
        mounts = container_spec(swarm, name)["mounts"]
        assert {"type": "bind", "source": DOCKER_SOCKET, "target": DOCKER_SOCKET, "readOnly": True} in [
            {key: mount.get(key) for key in ("type", "source", "target", "readOnly")} for mount in mounts
        ], name
    assert not [flag for flag in container_spec(swarm, "cadvisor").get("args") or [] if "--docker=" in flag]
    assert f'host          = "unix://{DOCKER_SOCKET}"' in swarm.rendered_files["alloy/config.alloy"]


def by_id(capture: Capture, type_: str) -> dict[str, Registration]:
    return {f"{registration.name}-id": registration for registration in capture.all(type_)}


def test_every_enabled_catalog_service_is_one_swarm_service_named_after_it_and_no_host_container(swarm: Capture) -> None:
    # no socket proxy on a swarm: a global proxy's name would resolve to any node's task
    enabled = {name for name, spec in CATALOG.items() if spec.enabled and spec.docker_api != "proxy"}
    assert {registration.plain["name"] for registration in swarm.all(SERVICE)} == enabled
    # only the DinD orchestrator and the MCP servers inside it stay containers
    containers = {registration.plain["name"] for registration in swarm.all(CONTAINER)}
    assert containers == {"sutazai-mcp-orchestrator"} | {
        f"sutazai-mcp-{name}" for name in ("claude-flow", "files", "context", "search", "memory", "docs")
    }


def test_swarm_component_type_tokens_are_pinned(swarm: Capture) -> None:
    tokens = {r.type for r in swarm.resources if not r.custom}
    assert {"service-mesh:swarm:SwarmMesh", "service-mesh:swarm_service:SwarmService"} <= tokens
    assert "service-mesh:mesh:ServiceMesh" not in tokens


def test_stateless_services_run_replicated_tasks_that_start_before_the_old_ones_stop_and_roll_back(swarm: Capture) -> None:
    for name in sorted(REPLICATED - {"kong"}):
        plain = service(swarm, name)
        assert plain["mode"] == {"replicated": {"replicas": 2}}, name
        assert plain["updateConfig"]["order"] == "start-first", name
        assert plain["updateConfig"]["failureAction"] == "rollback", name
        assert plain["updateConfig"]["monitor"] == "30s", name
        assert plain["rollbackConfig"]["failureAction"] == "pause", name


def test_replicas_come_from_the_service_override(synth: Any) -> None:
    capture = synth(swarm_config(services={"backend": {"image": "registry.mesh.internal:5000/backend:0.1.0", "replicas": 4}}))
    assert service(capture, "backend")["mode"] == {"replicated": {"replicas": 4}}


def test_a_stateful_service_runs_one_task_pinned_to_its_labelled_node_with_its_volume_stopping_first(swarm: Capture) -> None:
    for name in ("postgres", "redis", "neo4j", "chromadb", "qdrant", "rabbitmq", "prometheus", "grafana", "loki", "alertmanager"):
        plain = service(swarm, name)
        assert plain["mode"] == {"replicated": {"replicas": 1}}, name
        assert plain["taskSpec"]["placement"]["constraints"] == [f"node.labels.mesh.data.{name}==true"], name
        assert plain["updateConfig"]["order"] == "stop-first", name
        mounts = {m["target"]: m for m in plain["taskSpec"]["containerSpec"]["mounts"]}
        for volume in CATALOG[name].volumes:
            assert mounts[volume.container_path] == {
                "type": "volume",
                "source": f"sutazai-{name}-{volume.name}",
                "target": volume.container_path,
            }


def test_stateful_services_refuse_replicas_on_a_swarm(synth: Any) -> None:
    capture_error = None
    try:
        synth(swarm_config(services={"backend": {"image": "r.example:5000/b:1.0"}, "postgres": {"replicas": 2}}))
    except ConfigError as error:
        capture_error = error
    assert capture_error is not None and capture_error.key == "mesh:services.postgres.replicas"


def test_consul_runs_three_servers_one_per_node_spread_over_zones_that_join_through_the_swarm_dns(swarm: Capture) -> None:
    plain = service(swarm, "consul")
    assert plain["mode"] == {"replicated": {"replicas": 3}}
    assert plain["taskSpec"]["placement"] == {"maxReplicas": 1, "prefs": ["node.labels.mesh.zone"]}
    assert plain["taskSpec"]["containerSpec"]["hostname"] == "consul-{{.Node.Hostname}}"
    agent = json.loads(swarm.rendered_files["consul/mesh.json"])
    assert agent["bootstrap_expect"] == 3
    assert agent["retry_join"] == ["consul"]
    assert agent["bind_addr"] == '{{ GetAllInterfaces | include "network" "10.201.0.0/16" | attr "address" }}'
    assert "node_name" not in agent  # each server is named after its task's hostname


def test_consul_servers_follow_the_config(synth: Any) -> None:
    capture = synth(swarm_config(swarm={"consulServers": 5, "subnet": "10.55.0.0/16"}))
    assert service(capture, "consul")["mode"] == {"replicated": {"replicas": 5}}
    agent = json.loads(capture.rendered_files["consul/mesh.json"])
    assert agent["bootstrap_expect"] == 5
    assert '"10.55.0.0/16"' in agent["bind_addr"]


def test_node_agents_run_on_every_node(swarm: Capture) -> None:
    for name in ("node-exporter", "cadvisor", "alloy"):
        plain = service(swarm, name)
        assert plain["mode"] == {"global": True}, name
        binds = [m for m in plain["taskSpec"]["containerSpec"]["mounts"] if m["type"] == "bind"]
        assert binds and all(m["readOnly"] is True for m in binds), name


def test_every_service_keeps_its_probe_limits_reservations_restart_and_dnsrr(swarm: Capture) -> None:
    for registration in swarm.all(SERVICE):
        plain = registration.plain
        spec = CATALOG[plain["name"]]
        health = plain["taskSpec"]["containerSpec"]["healthcheck"]
        if plain["name"] != "redis":
            assert health["tests"] == list(spec.probe.test), plain["name"]
        assert health["interval"] == go_duration(spec.probe.interval_s)
        cpu_limit = {} if spec.cpus is None else {"nanoCpus": spec.cpus * 1e9}
        assert plain["taskSpec"]["resources"]["limits"] == {"memoryBytes": spec.memory_mb * 1024 * 1024, **cpu_limit}
        assert 0 < plain["taskSpec"]["resources"]["reservation"]["memoryBytes"] < spec.memory_mb * 1024 * 1024
        assert plain["taskSpec"]["restartPolicy"]["condition"] == "any"
        assert plain["endpointSpec"]["mode"] == "dnsrr"
        assert plain["taskSpec"]["networksAdvanceds"] == [{"id": "mesh-overlay-id"}]


def test_redis_probe_reads_its_password_from_the_secret_file(swarm: Capture) -> None:
    health = container_spec(swarm, "redis")["healthcheck"]
    assert health["tests"] == ["CMD-SHELL", 'REDISCLI_AUTH="$(cat /run/secrets/rediscli_auth)" redis-cli ping | grep -q PONG']


def test_no_service_carries_a_credential_in_its_environment(swarm: Capture) -> None:
    for registration in swarm.all(SERVICE):
        env = registration.plain["taskSpec"]["containerSpec"].get("env") or {}
        leaked = [k for k, v in env.items() if CREDENTIAL.search(k) and k != "MESH_JWT_KEY" and not v.startswith("/run/secrets/")]
        assert leaked == [], registration.name


def _docker_platform_envs(plan: Capture) -> dict[str, dict[str, str]]:
    """Per service, the environment of its (first) container on the docker platform."""
    found: dict[str, dict[str, str]] = {}
    for container in plan.all(CONTAINER):
        envs = container.plain.get("envs") or []
        found.setdefault(str(container.label("mesh.service")), dict(entry.partition("=")[::2] for entry in envs))
    return found


def test_every_credential_becomes_a_secret_file_holding_the_value_the_docker_platform_puts_in_its_environment(
    plan: Capture, swarm: Capture
) -> None:
    docker_envs = _docker_platform_envs(plan)
    secrets = by_id(swarm, SECRET)
    for name, declared_envs in SECRET_ENVS.items():
        refs = {ref["fileName"]: ref for ref in container_spec(swarm, name).get("secrets") or []}
        env = container_spec(swarm, name).get("env") or {}
        for declared in declared_envs:
            ref = refs[declared.path]
            assert ref["fileMode"] == 0o444
            data = base64.b64decode(secrets[ref["secretId"]].plain["data"]).decode()
            assert data == declared.render(docker_envs[name][declared.env]), (name, declared.env)
            assert secrets[ref["secretId"]].plain["name"] == ref["secretName"]
            assert declared.env not in env
            if declared.file_env is not None:
                assert env[declared.file_env] == declared.path


def test_a_credential_without_a_secret_file_stops_the_program() -> None:
    # the swarm stack above synthesizes, so the wiring's credentials and the table agree; one missing entry is refused
    entries = ["MESH_JWT_SECRET=s", "MESH_CONSUL_TOKEN=t"]
    with pytest.raises(ValueError, match=r"backend: credential variables \['MESH_CONSUL_TOKEN', 'MESH_JWT_SECRET'\]"):
        credentials_by_name("backend", entries, [SecretEnv("MESH_CONSUL_TOKEN", "MESH_CONSUL_TOKEN_FILE")])
    assert credentials_by_name("backend", entries, [SecretEnv("MESH_JWT_SECRET", None), SecretEnv("MESH_CONSUL_TOKEN", None)]) == {
        "MESH_JWT_SECRET": "s",
        "MESH_CONSUL_TOKEN": "t",
    }


def test_secret_data_is_secret_in_state(swarm: Capture) -> None:
    for registration in swarm.all(SECRET):
        assert "data" in registration.secret_paths(), registration.name


def test_rendered_files_are_configs_named_after_their_content_and_credential_files_are_secrets(swarm: Capture) -> None:
    configs = by_id(swarm, SERVICE_CONFIG)
    refs = {ref["fileName"]: ref for ref in container_spec(swarm, "prometheus")["configs"]}
    config = configs[refs["/etc/prometheus/prometheus.yml"]["configId"]].plain
    assert base64.b64decode(config["data"]).decode() == swarm.rendered_files["prometheus/prometheus.yml"]
    assert config["name"].startswith("sutazai-prometheus-etc-prometheus-prometheus-yml-")
    # kong.yml carries the consumer's credentials: a secret file, never a config
    kong_files = [ref["fileName"] for ref in container_spec(swarm, "kong")["secrets"]]
    assert kong_files == ["/kong/declarative/kong.yml"]
    assert not container_spec(swarm, "kong").get("configs")


def test_a_changed_file_is_a_new_config_name_and_an_unchanged_one_keeps_its_name(swarm: Capture, synth: Any) -> None:
    changed = synth(swarm_config(monitoring={"thresholds": {"errorRatio": 0.2}}))

    def config_names(capture: Capture) -> dict[str, str]:
        configs = by_id(capture, SERVICE_CONFIG)
        return {ref["fileName"]: configs[ref["configId"]].plain["name"] for ref in container_spec(capture, "prometheus")["configs"]}

    before, after = config_names(swarm), config_names(changed)
    assert before["/etc/prometheus/prometheus.yml"] == after["/etc/prometheus/prometheus.yml"]
    assert before["/etc/prometheus/mesh.rules.yml"] != after["/etc/prometheus/mesh.rules.yml"]


def test_the_mesh_network_is_an_attachable_overlay_and_encryption_is_an_option(swarm: Capture, synth: Any) -> None:
    overlay = swarm.one(NETWORK, "mesh-overlay").plain
    assert overlay["driver"] == "overlay" and overlay["attachable"] is True
    assert overlay["ipamConfigs"] == [{"subnet": "10.201.0.0/16"}]
    assert "options" not in overlay
    encrypted = synth(swarm_config(swarm={"encryptedOverlay": True})).one(NETWORK, "mesh-overlay").plain
    assert encrypted["options"] == {"encrypted": ""}


def test_edge_ports_are_published_in_host_mode_and_the_gateway_runs_on_edge_nodes_one_task_each(swarm: Capture) -> None:
    kong = service(swarm, "kong")
    assert kong["endpointSpec"]["ports"] == [
        {"name": "proxy", "protocol": "tcp", "publishMode": "host", "publishedPort": 10005, "targetPort": 8000}
    ]
    assert kong["taskSpec"]["placement"]["constraints"] == ["node.labels.mesh.edge==true"]
    assert kong["taskSpec"]["placement"]["maxReplicas"] == 1
    # two tasks cannot hold one host port on a node: the old task stops first
    assert kong["updateConfig"]["order"] == "stop-first"
    published = {r.plain["name"] for r in swarm.all(SERVICE) if r.plain["endpointSpec"].get("ports")}
    assert published == {"kong", "consul", "grafana"}


@pytest.mark.parametrize(
    ("swarm_section", "key"),
    [
        ({"edgePorts": ["kong:8001"]}, "mesh:swarm.edgePorts[0]"),
        ({"edgePorts": ["postgres:9999"]}, "mesh:swarm.edgePorts[0]"),
        ({"edgeServices": ["nope"]}, "mesh:swarm.edgeServices[0]"),
        ({"consulServers": 2}, "mesh:swarm.consulServers"),
        ({"subnet": "8.8.0.0/16"}, "mesh:swarm.subnet"),
        ({"orchestratorHost": "tcp://node3:2376"}, "mesh:swarm"),
        ({"orchestratorHost": "http://node3"}, "mesh:swarm.orchestratorHost"),
    ],
)
def test_swarm_config_mistakes_name_their_key(synth: Any, swarm_section: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        synth(swarm_config(swarm=swarm_section))
    assert raised.value.key == key


def test_the_backend_built_here_cannot_reach_other_nodes_so_a_swarm_needs_its_registry_image(synth: Any) -> None:
    with pytest.raises(ConfigError) as raised:
        synth({"platform": "swarm"})
    assert raised.value.key == "mesh:services.backend.image"


def test_the_orchestrator_stays_a_privileged_container_on_the_configured_node_joining_the_overlay(synth: Any) -> None:
    capture = synth(swarm_config(swarm={"orchestratorHost": "ssh://mesh@node3"}))
    node = capture.one("pulumi:providers:docker", "mesh-orchestrator-node")
    assert node.plain["host"] == "ssh://mesh@node3"
    orchestrator = capture.one(CONTAINER, "mcp-orchestrator")
    assert orchestrator.provider.startswith(node.urn)
    assert orchestrator.plain["privileged"] is True
    assert orchestrator.plain["networksAdvanced"][0]["name"] == "sutazai-network"


def test_durations_are_written_in_the_form_the_provider_reads_back(swarm: Capture) -> None:
    assert [go_duration(s) for s in (0, 7, 30, 60, 90, 120, 600, 3600, 5400)] == [
        "0s", "7s", "30s", "1m", "1m30s", "2m", "10m", "1h", "1h30m"
    ]  # fmt: skip
    canonical = re.compile(r"^(\d+h)?(\d+m)?(\d+s)?$")

    def durations(value: Any, path: str = "") -> list[tuple[str, str]]:
        if isinstance(value, dict):
            return [found for key, item in value.items() for found in durations(item, f"{path}.{key}")]
        names = ("interval", "timeout", "startPeriod", "delay", "monitor", "window")
        return [(path, value)] if isinstance(value, str) and path.rsplit(".", 1)[-1] in names else []

    for registration in swarm.all(SERVICE):
        for path, value in durations(registration.plain):
            seconds = sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in re.findall(r"(\d+)([hms])", value))
            assert canonical.match(value) and go_duration(seconds) == value, (registration.name, path, value)
    assert container_spec(swarm, "rabbitmq")["healthcheck"]["startPeriod"] == "1m"
    assert service(swarm, "postgres")["updateConfig"]["maxFailureRatio"] == "0.0"


def test_make_plan_lists_services_secrets_configs_and_the_overlay_with_no_violation(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert plan_main(["--config", str(SWARM_STACK), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "22 swarm services, 22 with a healthcheck; 19 secrets, 8 configs, 1 overlay network(s)" in printed
    assert PACK_PASSED.search(printed) is not None


def _with_service(capture: Capture, name: str, change: Any) -> Capture:
    """The one service, changed, with the Consul registrations (the stack rules need them): the pack judges it alone."""
    resources = []
    for registration in capture.resources:
        if registration.type == SERVICE and registration.name == name:
            props = json.loads(json.dumps(registration.plain))
            change(props)
            resources.append(dataclasses.replace(registration, props=props))
        elif registration.type == CONSUL_SERVICE:
            resources.append(registration)
    return Capture(resources=resources)


def _fired(capture: Capture) -> set[tuple[str, str]]:
    return {(violation.policy, violation.resource) for violation in blocking(evaluate(capture))}


def test_the_policy_pack_passes_the_swarm_stack(swarm: Capture) -> None:
    assert blocking(evaluate(swarm)) == []


@pytest.mark.parametrize(
    ("name", "change", "policy"),
    [
        ("kong", lambda p: p["taskSpec"]["containerSpec"].pop("healthcheck"), "container-healthcheck"),
        ("kong", lambda p: p.pop("convergeConfig"), "container-healthcheck"),
        ("postgres", lambda p: p["taskSpec"]["placement"].pop("constraints"), "stateful-service-placement"),
        ("postgres", lambda p: p["mode"]["replicated"].update(replicas=2), "stateful-service-placement"),
        ("postgres", lambda p: p["taskSpec"]["containerSpec"]["env"].update(POSTGRES_PASSWORD="x"), "swarm-secrets-as-files"),
        ("postgres", lambda p: p["taskSpec"]["resources"].pop("limits"), "memory-limit"),
        ("postgres", lambda p: p["taskSpec"]["restartPolicy"].update(condition="on-failure"), "restart-policy"),
        ("postgres", lambda p: p["taskSpec"]["containerSpec"].update(image="postgres:latest"), "image-pinned"),
        ("kong", lambda p: p["endpointSpec"]["ports"][0].update(publishMode="ingress"), "published-port-loopback"),
        (
            "kong",
            lambda p: p["endpointSpec"]["ports"].append({"targetPort": 8001, "publishedPort": 10015, "publishMode": "host"}),
            "sensitive-port-loopback",
        ),
        (
            "redis",
            lambda p: p["endpointSpec"].update(ports=[{"targetPort": 6379, "publishedPort": 10001, "publishMode": "host"}]),
            "published-port-loopback",
        ),
        (
            "redis",
            lambda p: p["endpointSpec"].update(ports=[{"targetPort": 6379, "publishedPort": 80, "publishMode": "host"}]),
            "no-privileged-host-ports",
        ),
        (
            "redis",
            lambda p: p["endpointSpec"].update(ports=[{"targetPort": 6379, "publishedPort": 10200, "publishMode": "host"}]),
            "host-port-in-category-range",
        ),
        (
            "redis",
            lambda p: p["taskSpec"]["containerSpec"]["mounts"].append({"type": "bind", "source": "/var/run/docker.sock", "target": "/s"}),
            "docker-socket-mount",
        ),
        # the least-privilege rules judge services too: prometheus runs as nobody, drops everything, keeps an uploaded config
        ("prometheus", lambda p: p["taskSpec"]["containerSpec"].pop("capDrops"), "capabilities-dropped"),
        ("prometheus", lambda p: p["taskSpec"]["containerSpec"].update(capAdds=["CAP_SYS_ADMIN"]), "capabilities-dropped"),
        ("prometheus", lambda p: p["taskSpec"]["containerSpec"].update(user="root"), "non-root-user"),
        ("postgres-exporter", lambda p: p["taskSpec"]["containerSpec"].pop("readOnly"), "read-only-root"),
        ("postgres-exporter", lambda p: p["taskSpec"]["containerSpec"].pop("user"), "non-root-user"),
    ],
)
def test_each_service_rule_fires_on_a_planted_violation(swarm: Capture, name: str, change: Any, policy: str) -> None:
    assert _fired(_with_service(swarm, name, lambda props: None)) == set()
    assert (policy, name) in _fired(_with_service(swarm, name, change))


def test_a_service_not_registered_in_consul_is_reported(swarm: Capture) -> None:
    without = Capture(
        resources=[r for r in swarm.resources if not (r.type == "consul:index/service:Service" and r.plain["name"] == "redis")]
    )
    assert ("registered-in-consul", "redis") in _fired(without)


def test_the_second_up_of_the_swarm_stack_changes_nothing(swarm: Capture) -> None:
    # the lifecycle suite's engine-like diff (tests/test_lifecycle.py), on the swarm stack: deploy, then the same run again
    plan = lifecycle.diff(lifecycle.deploy(swarm), swarm)
    assert plan.empty, plan.summary()
    refreshed = lifecycle.diff(lifecycle.refresh(lifecycle.deploy(swarm)), swarm)
    assert refreshed.empty, refreshed.summary()


def test_a_duration_not_in_the_read_back_form_would_update_the_service_on_every_up(swarm: Capture) -> None:
    state = lifecycle.deploy(swarm)
    planted = _with_service(swarm, "rabbitmq", lambda props: props["taskSpec"]["containerSpec"]["healthcheck"].update(startPeriod="60s"))
    rabbitmq = next(r for r in planted.resources if r.type == SERVICE)
    again = Capture(resources=[rabbitmq if r.type == SERVICE and r.name == "rabbitmq" else r for r in swarm.resources])
    assert lifecycle.diff(state, again).summary() == "update rabbitmq (taskSpec)"


def test_each_consul_server_takes_the_agent_token_of_its_own_node(swarm: Capture) -> None:
    # the docker platform's server is `consul-server`; on a swarm each server's node is named after its task's host name
    script = container_spec(swarm, "consul")["args"][-1]
    assert '-node-identity "$(hostname)":dc1' in script
    assert "consul-server" not in script


def _exceptions(labels: list[dict[str, str]]) -> dict[str, str]:
    return {item["label"]: item["value"] for item in labels if item["label"].startswith("mesh.exception.")}


def test_every_swarm_service_gets_the_catalogs_hardening_as_its_container_does(swarm: Capture, plan: Capture) -> None:
    """Capabilities, read-only root with tmpfs, user and the recorded exceptions: the docker platform's, on the swarm API."""
    containers = {c.plain["name"]: c.plain for c in plan.all(CONTAINER)}
    for registration in swarm.all(SERVICE):
        name = registration.plain["name"]
        spec = container_spec(swarm, name)
        container = containers[f"sutazai-{name}"]
        capabilities = container.get("capabilities")
        assert spec.get("capDrops") == (capabilities or {}).get("drops"), name
        assert spec.get("capAdds") == (capabilities or {}).get("adds"), name
        assert bool(spec.get("readOnly")) == bool(container.get("readOnly")), name
        tmpfs = {mount["target"] for mount in spec.get("mounts") or [] if mount["type"] == "tmpfs"}
        # masked paths hide a socket that the node agents mount themselves on a swarm (Hardening.masked_paths)
        assert tmpfs == set(container.get("tmpfs") or {}) - set(CATALOG[name].hardening.masked_paths), name
        assert all(
            mount["tmpfsOptions"] == {"sizeBytes": 64 * 1024 * 1024} for mount in spec.get("mounts") or [] if mount["type"] == "tmpfs"
        )
        assert spec.get("user") == container.get("user"), name
        assert _exceptions(registration.plain["labels"]) == _exceptions(container["labels"]), name
        assert _exceptions(spec["labels"]) == _exceptions(container["labels"]), name
    assert container_spec(swarm, "prometheus")["capDrops"] == ["ALL"]
    assert container_spec(swarm, "postgres")["capAdds"] == ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID"]
    assert container_spec(swarm, "postgres-exporter")["readOnly"] is True
