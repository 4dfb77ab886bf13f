"""The container rules of the policy pack (ports, health, privileges, loopback), message by message, on one resource."""

from __future__ import annotations

from typing import Any

import pytest

from components.offline.synth import Capture, Registration
from components.offline.types import CONTAINER, DOCKER_PROVIDER, SERVICE
from policies.offline import evaluate
from policies.rules import build_policies, duration_seconds
from tests.policy_fixtures import container_props, registration, swarm_service_props, urn_of


def verdicts(policy: str, *resources: Registration, config: dict[str, Any] | None = None) -> list[str]:
    """The messages one policy of the pack reports on these resources, as `make plan` shows them."""
    pack = [each for each in build_policies() if each.name == policy]
    return [violation.message for violation in evaluate(Capture(resources=list(resources)), {policy: config or {}}, pack)]


def container(resource: str = "db", service: str | None = "postgres", **changes: Any) -> Registration:
    """A container that keeps every rule, with no Docker name (messages then name the resource): each test breaks one
    thing. `service=None` leaves out the mesh.service label; a change to `None` removes the property."""
    props = container_props(service or resource, "core", [(5432, 10000)])
    del props["name"]
    if service is None:
        props["labels"] = [label for label in props["labels"] if label["label"] != "mesh.service"]
    for key, value in changes.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    return registration(CONTAINER, resource, props)


def with_label(label: str, value: str) -> list[dict[str, str]]:
    """The labels of `container()` with this one set."""
    return [*(each for each in container().props["labels"] if each["label"] != label), {"label": label, "value": value}]


def swarm(service: str, *, ports: list[dict[str, Any]] | None = None, named: bool = True, **container_spec: Any) -> Registration:
    """A swarm service that keeps every rule; `container_spec` changes its task's ContainerSpec (`None` removes a key)."""
    props = swarm_service_props(service)
    if not named:
        del props["name"]
    spec = props["taskSpec"]["containerSpec"]
    for key, value in container_spec.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    if ports is not None:
        props["endpointSpec"] = {"mode": "vip", "ports": ports}
    return registration(SERVICE, f"{service}-swarm", props)


def published(internal: int, external: int, ip: str | None = "0.0.0.0") -> list[dict[str, Any]]:
    port: dict[str, Any] = {"internal": internal, "external": external, "protocol": "tcp"}
    if ip is not None:
        port["ip"] = ip
    return [port]


SOCKET_ALLOW_LIST = "['docker-socket-proxy', 'cadvisor', 'node-exporter']"
SOCKET = [{"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock", "readOnly": True}]

# Each case: the policy, one resource, the policy's config, and every message it reports, word for word.
MESSAGES: list[tuple[str, Registration, dict[str, Any], list[str]]] = [
    (
        "host-port-in-category-range",
        container(labels=with_label("mesh.category", "storage")),
        {},
        [
            "db publishes host port 10000 but its mesh.category label is 'storage' (known: core, ai, monitoring, mcp, orchestration); "
            "label the container with its catalog category"
        ],
    ),
    (
        "host-port-in-category-range",
        container(ports=published(5432, 20000, "127.0.0.1")),
        {},
        [
            "db publishes host port 20000 (container port 5432), outside the core range 10000-10099; "
            "pick a host port in 10000-10099 (mesh:services.<name>.hostPorts)"
        ],
    ),
    (
        "no-privileged-host-ports",
        container(ports=published(5432, 80, "127.0.0.1")),
        {},
        ["db publishes privileged host port 80 (container port 5432); publish a host port of 1024 or above"],
    ),
    (
        "container-healthcheck",
        container(healthcheck=None),
        {},
        ["db has no healthcheck (healthcheck.tests is unset); give it a probe the image can run"],
    ),
    (
        "container-healthcheck",
        container(healthcheck={"tests": ["NONE"]}),
        {},
        ["db has no healthcheck (healthcheck.tests is ['NONE']); give it a probe the image can run"],
    ),
    (
        "container-healthcheck",
        container(healthcheck={"tests": ["CMD", "true"]}),
        {"maxIntervalSeconds": 10},
        ["db checks its health every 30s (default), above 10s; set healthcheck.interval <= 10s"],
    ),
    (
        "container-healthcheck",
        container(wait=False),
        {},
        ["db is not waited on (wait=False); set wait=True so a deployment fails on an unhealthy container"],
    ),
    (
        "privileged-allow-list",
        container(privileged=True),
        {},
        [
            "db runs privileged and 'postgres' is not in the allow-list ['mcp-orchestrator']; "
            "drop privileged (add only the capabilities it needs) or allow-list the service"
        ],
    ),
    (
        "docker-socket-mount",
        # the socket behind a harmless mount is still found
        container(volumes=[{"hostPath": "/srv/data", "containerPath": "/data"}, *SOCKET]),
        {},
        [
            "db mounts /var/run/docker.sock (it exposes the Docker socket, root on the host) and 'postgres' is not in the "
            f"allow-list {SOCKET_ALLOW_LIST}; remove the mount (read the Docker API through the socket proxy)"
        ],
    ),
    (
        "docker-socket-mount",
        container("cadvisor", None, volumes=[{"hostPath": "/", "containerPath": "/rootfs"}]),
        {},
        ["cadvisor mounts / (it exposes the Docker socket) read-write; mount it with read_only=True"],
    ),
    (
        "host-namespaces",
        container(networkMode="host"),
        {},
        ["db shares the host's network namespace (networkMode=host); remove networkMode"],
    ),
    (
        "capabilities-dropped",
        container(capabilities=None),
        {},
        ["db keeps Docker's default capabilities; drop ALL and add back only what its image needs (or record the reason in the catalog)"],
    ),
    (
        "capabilities-dropped",
        container(capabilities={"drops": ["ALL"], "adds": ["CHOWN", "SETUID"]}),
        {},
        ["db adds CHOWN, SETUID with no recorded reason; record it in the catalog"],
    ),
    (
        "read-only-root",
        container(readOnly=None),
        {},
        ["db has a writable root filesystem; set read_only=True with tmpfs or volumes where it writes"],
    ),
    (
        "non-root-user",
        container(user="root"),
        {},
        ["db runs as root (user 'root'); run it as its image's non-root user"],
    ),
    (
        "published-port-loopback",
        container(ports=published(5432, 10000)),
        {},
        [
            "db publishes host port 10000 (container port 5432) on 0.0.0.0; "
            "bind it to 127.0.0.1 (mesh:bindAddress) or allow-list postgres:5432"
        ],
    ),
    (
        "published-port-loopback",
        container(ports=published(5432, 10000, ip=None)),
        {},
        [
            "db publishes host port 10000 (container port 5432) on 0.0.0.0 (unset); "
            "bind it to 127.0.0.1 (mesh:bindAddress) or allow-list postgres:5432"
        ],
    ),
    (
        "published-port-loopback",
        # a host name cannot be shown to be loopback: only an address can
        container(ports=published(5432, 10000, ip="localhost")),
        {},
        [
            "db publishes host port 10000 (container port 5432) on localhost; "
            "bind it to 127.0.0.1 (mesh:bindAddress) or allow-list postgres:5432"
        ],
    ),
]


@pytest.mark.parametrize(("policy", "resource", "config", "messages"), MESSAGES, ids=[f"{case[0]}-{i}" for i, case in enumerate(MESSAGES)])
def test_each_container_rule_names_the_resource_the_value_and_the_fix_in_one_message(policy, resource, config, messages):
    assert verdicts(policy, resource, config=config) == messages


# Each case: the Docker name, the mesh.service label, the resource name, and whether the service is allow-listed.
@pytest.mark.parametrize(
    ("docker_name", "label", "resource", "allowed"),
    [
        (None, "mcp-orchestrator", "dind", True),
        ("mcp-orchestrator", None, "dind", True),
        (None, None, "mcp-orchestrator", True),
        ("sutazai-dind", None, "mcp-orchestrator", False),
        (None, None, "dind", False),
    ],
)
def test_a_containers_service_is_its_label_else_its_docker_name_else_its_resource_name(docker_name, label, resource, allowed):
    props = container(resource, label, privileged=True).props
    if docker_name is not None:
        props["name"] = docker_name
    service = label or docker_name or resource
    refusal = (
        f"{docker_name or resource} runs privileged and {service!r} is not in the allow-list ['mcp-orchestrator']; "
        "drop privileged (add only the capabilities it needs) or allow-list the service"
    )
    assert verdicts("privileged-allow-list", registration(CONTAINER, resource, props)) == ([] if allowed else [refusal])


def test_a_published_port_is_allow_listed_by_its_service_or_by_a_wildcard_entry_for_any_service():
    def refused(resource: Registration, *entries: str) -> bool:
        return verdicts("published-port-loopback", resource, config={"allowedPorts": list(entries)}) != []

    web = container(ports=published(8080, 10080))
    assert not refused(web, "*:8080") and not refused(web, "postgres:8080")
    assert refused(web, "*:8081") and refused(web, "kong:8080") and refused(web)
    # the port is what follows the last colon, so a service label may itself hold one
    assert not refused(container(service="team:web", ports=published(8080, 10080)), "team:web:8080")
    # with no label nor Docker name the service is the resource's name
    assert not refused(container("kong", None, ports=published(8000, 10005)), "kong:8000")


def test_a_swarm_service_may_publish_its_edge_ports_in_host_mode_and_a_container_may_not():
    # consul:8500 is an edge port and not an allowed port (kong:8000 is both)
    consul_edge = [{"targetPort": 8500, "publishedPort": 10006, "publishMode": "host"}]
    assert verdicts("published-port-loopback", swarm("consul", ports=consul_edge)) == []
    assert verdicts("published-port-loopback", container("consul", "consul", ports=published(8500, 10006))) == [
        "consul publishes host port 10006 (container port 8500) on 0.0.0.0; "
        "bind it to 127.0.0.1 (mesh:bindAddress) or allow-list consul:8500"
    ]
    postgres_edge = [{"targetPort": 5432, "publishedPort": 10000, "publishMode": "host"}]
    assert verdicts("published-port-loopback", swarm("postgres", ports=postgres_edge)) == [
        "postgres publishes host port 10000 (container port 5432) on 0.0.0.0 (unset); "
        "bind it to 127.0.0.1 (mesh:bindAddress) or allow-list postgres:5432"
    ]


@pytest.mark.parametrize("mode", [{"publishMode": "ingress"}, {}], ids=["ingress", "docker-default"])
def test_a_swarm_service_publishing_through_the_routing_mesh_is_refused_once_even_on_an_edge_port(mode):
    ports = [{"targetPort": 8000, "publishedPort": 10005, **mode}, {"targetPort": 8001, "publishedPort": 10015, **mode}]
    assert verdicts("published-port-loopback", swarm("kong", ports=ports, named=False)) == [
        "service kong-swarm publishes through the routing mesh (ingress); publish in host mode on edge nodes"
    ]


def test_a_swarm_service_is_judged_on_converging_where_a_container_is_judged_on_wait():
    assert verdicts("container-healthcheck", swarm("postgres")) == []
    unconverged = swarm("postgres")
    del unconverged.props["convergeConfig"]
    assert verdicts("container-healthcheck", unconverged) == [
        "service postgres has no converge_config; set one so a deployment fails on tasks that never become healthy"
    ]


def test_a_swarm_service_added_capabilities_are_judged_like_a_containers():
    assert verdicts("capabilities-dropped", swarm("postgres", capDrops=["ALL"], capAdds=["CHOWN"])) == [
        "postgres adds CHOWN with no recorded reason; record it in the catalog"
    ]
    assert verdicts("capabilities-dropped", swarm("postgres", capDrops=None, capAdds=["CHOWN"])) == [
        "postgres keeps Docker's default capabilities; drop ALL and add back only what its image needs "
        "(or record the reason in the catalog)",
        "postgres adds CHOWN with no recorded reason; record it in the catalog",
    ]


def test_only_a_swarm_node_agent_service_may_mount_its_nodes_socket_and_only_read_only():
    socket_mount = [{"type": "bind", "source": "/var/run/docker.sock", "target": "/var/run/docker.sock", "readOnly": True}]
    assert verdicts("docker-socket-mount", swarm("alloy", mounts=socket_mount)) == []
    agents = "['docker-socket-proxy', 'cadvisor', 'node-exporter', 'alloy']"
    assert verdicts("docker-socket-mount", swarm("postgres", mounts=socket_mount)) == [
        "postgres mounts /var/run/docker.sock (it exposes the Docker socket, root on the host) and 'postgres' is not in the "
        f"allow-list {agents}; remove the mount (read the Docker API through the socket proxy)"
    ]
    assert verdicts("docker-socket-mount", container("alloy", "alloy", volumes=SOCKET)) == [
        "alloy mounts /var/run/docker.sock (it exposes the Docker socket, root on the host) and 'alloy' is not in the "
        f"allow-list {SOCKET_ALLOW_LIST}; remove the mount (read the Docker API through the socket proxy)"
    ]


def test_a_directory_whose_name_only_extends_a_parent_of_the_socket_is_not_the_socket():
    assert verdicts("docker-socket-mount", container(volumes=[{"hostPath": "/var/runX", "containerPath": "/x"}])) == []


@pytest.mark.parametrize(
    ("kind", "policy", "changes"),
    [
        ("capabilities", "capabilities-dropped", {"capabilities": {"drops": ["ALL"], "adds": ["CHOWN"]}}),
        ("writable-root", "read-only-root", {"readOnly": False}),
        ("root", "non-root-user", {"user": "root"}),
    ],
)
def test_a_recorded_least_privilege_exception_silences_its_rule_and_is_reported_with_its_reason(kind, policy, changes):
    excepted = container(labels=with_label(f"mesh.exception.{kind}", "its entrypoint needs it"), **changes)
    assert verdicts(policy, container(**changes)) != []
    assert verdicts(policy, excepted) == []
    assert verdicts("least-privilege-exceptions", excepted) == [f"db: {kind} exception: its entrypoint needs it"]


@pytest.mark.parametrize(
    ("user", "root"),
    [
        ("root", True),
        ("root:root", True),
        ("0", True),
        ("0:0", True),
        ("", True),
        # runc reads user:group and ignores what follows a second colon
        ("root:root:staff", True),
        ("1000:0", False),
        ("65534:65534", False),
        ("postgres", False),
    ],
)
def test_a_container_runs_as_root_when_the_user_before_the_first_colon_is_root_or_0_or_unset(user, root):
    assert (verdicts("non-root-user", container(user=user)) != []) is root


@pytest.mark.parametrize(
    ("host", "nested"),
    [
        ("tcp://10.0.0.5:2376", True),
        ("ssh://docker@10.0.0.5", True),
        ("unix:///var/run/docker.sock", False),
        (None, False),
    ],
)
def test_a_container_on_a_provider_reaching_a_daemon_over_the_network_binds_inside_that_daemon(host, nested):
    provider = registration(DOCKER_PROVIDER, "remote", {} if host is None else {"host": host})
    wide = container(ports=published(5432, 10000)).props
    on_provider = registration(CONTAINER, "db", wide, provider=f"{urn_of(DOCKER_PROVIDER, 'remote')}::remote-id")
    assert (verdicts("published-port-loopback", provider, on_provider) == []) is nested


@pytest.mark.parametrize(("text", "seconds"), [("1500ns", 1.5e-6), ("250us", 2.5e-4), ("250µs", 2.5e-4), ("2m", 120.0)])
def test_go_durations_below_a_millisecond_are_read_in_their_own_units(text, seconds):
    assert duration_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["10sx", "x10s", "10s 5s", ""])
def test_a_duration_with_anything_around_its_units_is_refused_naming_it(text):
    with pytest.raises(ValueError) as refusal:
        duration_seconds(text)
    assert str(refusal.value) == f"{text!r} is not a duration (e.g. 10s)"
