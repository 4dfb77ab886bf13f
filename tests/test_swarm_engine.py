"""The swarm platform on a real three-node Docker Swarm on this machine (`make test-swarm`; not part of `make test`).

The program's own swarm services, captured under mocks from the committed swarm stack, are replayed through
the Engine API (tests/swarm_replay.py) on three dockerd in network namespaces (tests/swarm_cluster.py), with a
Debian stand-in image answering on each service's ports (no registry is reachable). They show: tasks converge
and spread as placed (the gateway on edge nodes, one Consul server per node, a node agent on every node); a
stateful service stays on its labelled node with its volume; a failing healthcheck replaces a task; an update
whose new task fails its healthcheck rolls back by itself; secrets and configs appear at their paths with their
modes; tasks reach each other by service name across nodes (`dnsrr`), and an edge port answers on its node.

Not shown here: a real Consul electing a leader (no registry here ships a Consul binary: the Consul service
runs the stand-in, with its probe replaced, and what is tested is the placement, host names and DNS that its
`bootstrap_expect`/`retry_join` rely on), and traffic over an `encrypted` overlay between nodes (IPsec is
missing on this kernel: the program's encrypted overlay is created and carries traffic between two tasks on
one node, which does not cross IPsec).

Runs only when MESH_SWARM_TESTS=1 (the make target sets it); with CI=true a missing prerequisite fails.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from components.catalog.services import CATALOG
from components.offline.stack_file import load_stack_file
from components.offline.synth import Capture, synthesize
from components.offline.types import SECRET
from tests.swarm_cluster import Node, SwarmCluster, missing_prerequisites, standin_rootfs, wait_for
from tests.swarm_replay import Replay, ReplayChanges, standin_command
from tests.test_swarm import SWARM_STACK

REPLAYED = ("consul", "prometheus", "kong", "backend", "node-exporter")
SUBNET = ipaddress.ip_network("10.201.0.0/16")
NODE_LABELS = {
    "node1": {"mesh.edge": "true", "mesh.zone": "a"},
    "node2": {"mesh.edge": "true", "mesh.zone": "b", "mesh.data.prometheus": "true"},
    "node3": {"mesh.zone": "c"},
}
CONVERGE_S = 240
# the program's probes: start period 30 s, then 6 failures 10 s apart before a task is unhealthy
UNHEALTHY_S = 240


def _gate() -> None:
    if os.environ.get("MESH_SWARM_TESTS") != "1":
        pytest.skip("the swarm engine tier runs with `make test-swarm` (MESH_SWARM_TESTS=1)")
    missing = missing_prerequisites()
    if missing:
        message = "cannot start a swarm here: " + "; ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Deployment:
    cluster: SwarmCluster
    capture: Capture
    replay: Replay

    @property
    def api(self) -> Any:
        return self.cluster.manager.api

    def node_of(self, task: dict[str, Any]) -> Node:
        hostname = next(n["Description"]["Hostname"] for n in self.api.nodes() if n["ID"] == task["NodeID"])
        return self.cluster.node_named(hostname)

    def running(self, service: str) -> list[dict[str, Any]]:
        tasks = self.api.tasks(filters={"service": service, "desired-state": "running"})
        return [task for task in tasks if task["Status"]["State"] == "running"]

    def converged(self, service: str, count: int) -> bool:
        return len(self.running(service)) == count

    def exec(self, task: dict[str, Any], *command: str) -> str:
        node = self.node_of(task)
        container = task["Status"]["ContainerStatus"]["ContainerID"]
        created = node.api.exec_create(container, list(command))
        output = node.api.exec_start(created["Id"]).decode()
        code = node.api.exec_inspect(created["Id"])["ExitCode"]
        assert code == 0, f"{command} in {task['ID']} exited {code}: {output}"
        return str(output)

    def hostnames(self, service: str) -> list[str]:
        return sorted(self.node_of(task).hostname for task in self.running(service))


def changes(service: str, **env: str) -> ReplayChanges:
    image = CATALOG[service].image if service != "backend" else "registry.mesh.internal:5000/service-mesh/backend:0.1.0"
    # Consul's own probe asks the real server for its raft leader; the stand-in only answers HTTP
    probe = ("CMD", "wget", "-q", "-T", "4", "-O", "/dev/null", "http://127.0.0.1:8500/v1/status/leader") if service == "consul" else None
    return ReplayChanges(image=image, command=standin_command(service), probe=probe, env=dict(env))


@pytest.fixture(scope="module")
def swarm() -> Iterator[Deployment]:
    _gate()
    stack_file = load_stack_file(SWARM_STACK)
    raw, secret_keys = dict(stack_file.values), stack_file.secret_keys
    capture = synthesize(raw, stack="swarm", secret_keys=secret_keys)
    tarball = standin_rootfs()
    cluster = SwarmCluster()
    try:
        cluster.start()
        for node in cluster.nodes:
            cluster.label(node, NODE_LABELS[node.hostname])
        cluster.load_image(tarball, [changes(service).image for service in REPLAYED])
        replay = Replay(capture, cluster.manager.api)
        replay.network("mesh-overlay")
        deployment = Deployment(cluster, capture, replay)
        for service in REPLAYED:
            replay.create(service, changes(service))
        expected = {"consul": 3, "prometheus": 1, "kong": 2, "backend": 2, "node-exporter": 3}
        for service, count in expected.items():
            wait_for(f"{count} running task(s) of {service}", partial(deployment.converged, service, count), CONVERGE_S, 2)
        yield deployment
    finally:
        cluster.close()


def test_three_nodes_join_one_swarm_with_their_labels(swarm: Deployment) -> None:
    nodes = {n["Description"]["Hostname"]: n for n in swarm.api.nodes()}
    assert sorted(nodes) == ["node1", "node2", "node3"]
    assert all(n["Status"]["State"] == "ready" for n in nodes.values())
    assert {name: n["Spec"]["Labels"] for name, n in nodes.items()} == NODE_LABELS


def test_tasks_converge_healthy_and_spread_as_placed(swarm: Deployment) -> None:
    # the gateway: one task per edge node (host-mode port, max_replicas 1), never on node3
    assert swarm.hostnames("kong") == ["node1", "node2"]
    # Consul: one server per node (max_replicas 1, spread over mesh.zone)
    assert swarm.hostnames("consul") == ["node1", "node2", "node3"]
    # a node agent on every node
    assert swarm.hostnames("node-exporter") == ["node1", "node2", "node3"]
    assert len(swarm.running("backend")) == 2
    for service in REPLAYED:
        for task in swarm.running(service):
            container = swarm.node_of(task).api.inspect_container(task["Status"]["ContainerStatus"]["ContainerID"])
            assert container["State"]["Health"]["Status"] == "healthy", (service, task["ID"])


def test_a_stateful_service_stays_on_its_labelled_node_and_keeps_its_volume_across_a_new_task(swarm: Deployment) -> None:
    (task,) = swarm.running("prometheus")
    assert swarm.node_of(task).hostname == "node2"
    swarm.exec(task, "sh", "-c", "echo kept > /prometheus/marker")
    swarm.replay.update("prometheus", changes("prometheus"), force=True)
    wait_for("a new prometheus task", lambda: [t for t in swarm.running("prometheus") if t["ID"] != task["ID"]], CONVERGE_S, 2)
    (new_task,) = swarm.running("prometheus")
    assert swarm.node_of(new_task).hostname == "node2"
    assert swarm.exec(new_task, "cat", "/prometheus/marker").strip() == "kept"
    volumes = {node.hostname: [v["Name"] for v in node.api.volumes().get("Volumes") or []] for node in swarm.cluster.nodes}
    assert "sutazai-prometheus-data" in volumes["node2"]
    assert "sutazai-prometheus-data" not in volumes["node1"] + volumes["node3"]


def test_consul_servers_have_per_node_names_and_find_each_other_through_the_swarm_dns(swarm: Deployment) -> None:
    servers = swarm.running("consul")
    addresses: set[str] = set()
    for task in servers:
        container = swarm.node_of(task).api.inspect_container(task["Status"]["ContainerStatus"]["ContainerID"])
        assert container["Config"]["Hostname"] == f"consul-{swarm.node_of(task).hostname}"
        for attachment in task["NetworksAttachments"]:
            if attachment["Network"]["Spec"]["Name"] == "sutazai-network":
                addresses.update(str(ipaddress.ip_interface(a).ip) for a in attachment["Addresses"])
    assert len(addresses) == 3 and all(ipaddress.ip_address(a) in SUBNET for a in addresses)
    backend = swarm.running("backend")[0]
    script = "import socket,json; print(json.dumps(sorted({a[4][0] for a in socket.getaddrinfo(%r, 8500)})))"
    # retry_join = ["consul"]: with dnsrr the service name resolves to every server task
    assert set(json.loads(swarm.exec(backend, "python3", "-c", script % "consul"))) == addresses
    assert set(json.loads(swarm.exec(backend, "python3", "-c", script % "tasks.consul"))) == addresses
    # and each server's bind_addr template selects its address in the overlay's subnet
    agent = json.loads(swarm.exec(servers[0], "cat", "/consul/config/mesh.json"))
    assert agent["retry_join"] == ["consul"] and f'"{SUBNET}"' in agent["bind_addr"]


def test_tasks_run_with_the_catalogs_capabilities_and_read_only_root(swarm: Deployment) -> None:
    # API 1.41 (Engine 20.10) takes CapabilityDrop/ReadOnly/tmpfs mounts on a service: the tasks run with them
    for service in ("backend", "node-exporter", "prometheus"):
        task = swarm.running(service)[0]
        inspected = swarm.node_of(task).api.inspect_container(task["Status"]["ContainerStatus"]["ContainerID"])
        host = inspected["HostConfig"]
        assert host["CapDrop"] == ["ALL"] and not host["CapAdd"], service
        # root in the stand-in, yet without a single effective capability
        assert "CapEff:\t0000000000000000" in swarm.exec(task, "grep", "CapEff", "/proc/1/status"), service
        read_only = service != "prometheus"  # its uploaded config keeps a writable root (the catalog's reason)
        assert host["ReadonlyRootfs"] is read_only, service
        if read_only:
            assert {m["Destination"]: m["Type"] for m in inspected["Mounts"]}["/tmp"] == "tmpfs", service
            assert "Read-only file system" in swarm.exec(task, "sh", "-c", "touch /etc/mesh-probe 2>&1 || true"), service
            swarm.exec(task, "touch", "/tmp/mesh-probe")


def test_tasks_reach_each_other_across_nodes_by_service_name_and_the_edge_port_answers_on_its_node(swarm: Deployment) -> None:
    (prometheus,) = swarm.running("prometheus")
    kong_on_node1 = next(t for t in swarm.running("kong") if swarm.node_of(t).hostname == "node1")
    fetch = "import urllib.request; print(urllib.request.urlopen('http://prometheus:9090/-/healthy', timeout=5).read().decode())"
    answer = swarm.exec(kong_on_node1, "python3", "-c", fetch)
    prometheus_container = swarm.node_of(prometheus).api.inspect_container(prometheus["Status"]["ContainerStatus"]["ContainerID"])
    assert answer.split()[:2] == ["ok", prometheus_container["Config"]["Hostname"]]
    on_edge = swarm.cluster.node_named("node1").in_netns("curl", "-fsS", "--max-time", "5", "http://127.0.0.1:10005/")
    assert on_edge.returncode == 0 and on_edge.stdout.startswith("ok ")
    off_edge = swarm.cluster.node_named("node3").in_netns("curl", "-fsS", "--max-time", "5", "http://127.0.0.1:10005/")
    assert off_edge.returncode != 0  # no gateway task on node3: nothing binds the port there


def test_secrets_and_configs_appear_in_the_tasks_at_their_paths_with_their_modes(swarm: Deployment) -> None:
    (prometheus,) = swarm.running("prometheus")
    for path, rendered in (
        ("/etc/prometheus/prometheus.yml", "prometheus/prometheus.yml"),
        ("/etc/prometheus/mesh.rules.yml", "prometheus/mesh.rules.yml"),
    ):
        assert swarm.exec(prometheus, "stat", "-c", "%a %u", path).split() == ["444", "0"]
        assert swarm.exec(prometheus, "cat", path) == swarm.capture.rendered_files[rendered]
    backend = swarm.running("backend")[0]
    env = dict(line.partition("=")[::2] for line in swarm.exec(backend, "env").splitlines())
    assert env["MESH_JWT_SECRET_FILE"] == "/run/secrets/mesh_jwt_secret" and "MESH_JWT_SECRET" not in env
    assert swarm.exec(backend, "stat", "-c", "%a %u", "/run/secrets/mesh_jwt_secret").split() == ["444", "0"]
    spec = swarm.capture.one("docker:index/service:Service", "backend").plain["taskSpec"]["containerSpec"]
    ref = next(r for r in spec["secrets"] if r["fileName"] == "/run/secrets/mesh_jwt_secret")
    captured = next(r for r in swarm.capture.all(SECRET) if f"{r.name}-id" == ref["secretId"]).plain
    assert swarm.exec(backend, "cat", "/run/secrets/mesh_jwt_secret") == base64.b64decode(captured["data"]).decode()


def test_a_task_failing_its_healthcheck_is_replaced(swarm: Deployment) -> None:
    task = next(t for t in swarm.running("kong") if swarm.node_of(t).hostname == "node1")
    swarm.exec(task, "touch", "/tmp/unhealthy")

    def replaced() -> bool:
        old = swarm.api.inspect_task(task["ID"])
        fresh = [t for t in swarm.running("kong") if t["Slot"] == task["Slot"] and t["ID"] != task["ID"]]
        return old["Status"]["State"] in ("failed", "shutdown", "complete") and bool(fresh)

    wait_for("the unhealthy gateway task to be replaced", replaced, UNHEALTHY_S, 3)
    assert "unhealthy" in swarm.api.inspect_task(task["ID"])["Status"].get("Err", "")
    assert swarm.hostnames("kong") == ["node1", "node2"]


def test_an_update_whose_new_task_fails_its_healthcheck_rolls_back_by_itself(swarm: Deployment) -> None:
    before = {t["ID"] for t in swarm.running("backend")}
    swarm.replay.update("backend", changes("backend", STANDIN_FAIL="1"))

    def rolled_back() -> str | None:
        status = swarm.api.inspect_service("backend").get("UpdateStatus") or {}
        return status.get("State") if status.get("State") in ("rollback_completed", "rollback_paused", "paused") else None

    assert wait_for("the backend update to roll back", rolled_back, UNHEALTHY_S + 120, 3) == "rollback_completed"
    service = swarm.api.inspect_service("backend")
    assert not any(e.startswith("STANDIN_FAIL=") for e in service["Spec"]["TaskTemplate"]["ContainerSpec"].get("Env") or [])
    running = swarm.running("backend")
    assert len(running) == 2
    # start-first: the old tasks were never stopped for the failed one, and still serve
    assert {t["ID"] for t in running} == before


def test_the_encrypted_overlay_the_program_declares_is_created_and_carries_traffic_on_one_node(swarm: Deployment) -> None:
    stack_file = load_stack_file(SWARM_STACK)
    raw, secret_keys = dict(stack_file.values), stack_file.secret_keys
    encrypted = synthesize({**raw, "swarm": {**raw["swarm"], "encryptedOverlay": True}}, stack="swarm", secret_keys=secret_keys)
    replay = Replay(encrypted, swarm.api)
    network_id = replay.network("mesh-overlay", name="sutazai-network-encrypted", subnet="10.202.0.0/24")
    assert swarm.api.inspect_network(network_id)["Options"]["encrypted"] == ""
    spec = swarm.replay.spec("backend", changes("backend"))
    spec["Name"] = "encrypted-probe"
    spec["Mode"] = {"Replicated": {"Replicas": 2}}
    spec["TaskTemplate"]["Networks"] = [{"Target": network_id}]
    # one node: between nodes the traffic would need IPsec, which this kernel lacks
    spec["TaskTemplate"]["Placement"] = {"Constraints": ["node.hostname==node1"]}
    swarm.api._result(swarm.api._post_json(swarm.api._url("/services/create"), data=spec), True)
    wait_for("two tasks on the encrypted overlay", partial(swarm.converged, "encrypted-probe", 2), CONVERGE_S, 2)
    tasks = swarm.running("encrypted-probe")
    other = next(a for a in tasks[1]["NetworksAttachments"] if a["Network"]["ID"] == network_id)["Addresses"][0].split("/")[0]
    fetch = f"import urllib.request; print(urllib.request.urlopen('http://{other}:8000/health', timeout=5).read().decode())"
    assert swarm.exec(tasks[0], "python3", "-c", fetch).startswith("ok ")
