"""The rules of the pack, as pulumi_policy policies over the inputs the program registers.

Each rule is a small function over a resource's properties (as the engine hands them: plain values,
numbers as floats, wrapped in pulumi_policy's unknown-checking proxy) that yields one message per
problem: the resource, the offending value and the fix. Names follow the CIS Docker Benchmark (section numbers of v1.2.0)
and KICS's Docker Compose queries where a rule matches one of theirs.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyProviderResource,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)

from .settings import PORT_RANGES, policy_config, schema_properties

CONTAINER = "docker:index/container:Container"
SERVICE = "docker:index/service:Service"
"""A swarm service: the container rules read it through `service_view`."""
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
BUILT_IMAGE = "docker:index/image:Image"
CONSUL_SERVICE = "consul:index/service:Service"
DOCKER_PROVIDER = "pulumi:providers:docker"
DOCKER_SOCKET = "/var/run/docker.sock"
PLAINTEXT_DOCKER_PORT = 2375

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY


# --- reading a resource ---------------------------------------------------------------------------


def labels(props: Mapping[str, Any]) -> dict[str, str]:
    return {str(item["label"]): str(item["value"]) for item in props.get("labels") or []}


def service_name(props: Mapping[str, Any], fallback: str) -> str:
    """The catalog service a container belongs to (its mesh.service label), else its own name."""
    return labels(props).get("mesh.service") or str(props.get("name") or fallback)


def who(props: Mapping[str, Any], fallback: str) -> str:
    """How messages name a container: its Docker name (`sutazai-postgres`), else its resource name."""
    return str(props.get("name") or fallback)


def duration_seconds(text: str) -> float:
    """A Go duration (`10s`, `1m30s`, `500ms`) in seconds; Docker and Consul both use them."""
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"{text!r} is not a duration (e.g. 10s)")
    return sum(float(number) * units[unit] for number, unit in parts)


def is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _plain(value: Any) -> Any:
    """A proxied property as plain dicts and lists (pulumi_policy's proxy still raises on unknown values)."""
    if isinstance(value, Mapping):
        return {key: _plain(value[key]) for key in value}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def service_view(props: Mapping[str, Any]) -> dict[str, Any]:
    """A `docker.Service` in the shape of a container's properties, so every container rule reads it the same way.

    `__service` marks it: where swarm and containers differ (waiting, restart, no-new-privileges) the rules branch.
    Host-mode ports bind every interface of the node: they carry no `ip`.
    """
    task = _plain(props.get("taskSpec")) or {}
    container = task.get("containerSpec") or {}
    limits = (task.get("resources") or {}).get("limits") or {}
    mode = _plain(props.get("mode")) or {}
    memory_bytes = limits.get("memoryBytes")
    return {
        "__service": True,
        "name": props.get("name"),
        "image": container.get("image"),
        "labels": _plain(props.get("labels")) or [],
        "healthcheck": container.get("healthcheck"),
        # converge_config holds `up` until the tasks run healthy; a global service cannot converge, its tasks are per node
        "wait": props.get("convergeConfig") is not None or bool(mode.get("global")),
        "ports": [
            {"internal": port.get("targetPort"), "external": port.get("publishedPort"), "ip": None, "mode": port.get("publishMode")}
            for port in (_plain(props.get("endpointSpec")) or {}).get("ports") or []
        ],
        "volumes": [
            {"hostPath": mount.get("source"), "readOnly": mount.get("readOnly")}
            for mount in container.get("mounts") or []
            if mount.get("type") == "bind"
        ],
        "mounts": container.get("mounts") or [],
        "envs": [f"{key}={value}" for key, value in (container.get("env") or {}).items()],
        "memory": memory_bytes / (1024 * 1024) if memory_bytes else None,
        "restart": (task.get("restartPolicy") or {}).get("condition"),
        "replicas": None if mode.get("global") else ((mode.get("replicated") or {}).get("replicas", 1)),
        # the least-privilege fields of the swarm ContainerSpec (API 1.41: CapabilityAdd/Drop, ReadOnly, User)
        "capabilities": (
            {"drops": container.get("capDrops") or [], "adds": container.get("capAdds") or []}
            if container.get("capDrops") or container.get("capAdds")
            else None
        ),
        "readOnly": container.get("readOnly"),
        "user": container.get("user"),
        "placement": task.get("placement") or {},
    }


def view(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any]:
    return service_view(props) if resource_type == SERVICE else props


@dataclass(frozen=True)
class PublishedPort:
    internal: int
    external: int
    ip: str | None


def published_ports(props: Mapping[str, Any]) -> list[PublishedPort]:
    found = []
    for port in props.get("ports") or []:
        external = port.get("external")
        if external is not None:
            found.append(PublishedPort(int(port["internal"]), int(external), port.get("ip")))
    return found


def port_matches(entry: str, service: str, internal: int) -> bool:
    """`kong:8001` or `*:2376` against a container's service and internal port."""
    wanted_service, _, wanted_port = entry.rpartition(":")
    return wanted_port == str(internal) and wanted_service in ("*", service)


# --- resource rules: each yields messages for one resource ----------------------------------------

ResourceCheck = Callable[[str, Mapping[str, Any], Mapping[str, Any], str | None], Iterable[str]]
"""(resource name, props, effective config, the Docker daemon it runs on if not the host's) -> messages."""


def nested_daemon(provider: PolicyProviderResource | None) -> str | None:
    """The endpoint of the Docker daemon a container runs on, when its provider points at one over the network
    (the DinD orchestrator's); None for the host's own daemon (the default provider, a unix socket)."""
    if provider is None or provider.resource_type != DOCKER_PROVIDER:
        return None
    host = str(provider.props.get("host") or "")
    return host if host.startswith(("tcp://", "ssh://")) else None


def check_port_ranges(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    ports = published_ports(props)
    if not ports or daemon is not None:
        return  # the ranges are the host's; a nested daemon's ports reach the host only through its container's
    category = labels(props).get("mesh.category")
    # like mesh:portRanges, a partial map overrides only the categories it names
    ranges = {**PORT_RANGES, **config["portRanges"]}
    if category not in ranges:
        yield (
            f"{who(props, name)} publishes host port {ports[0].external} but its mesh.category label is {category!r} "
            f"(known: {', '.join(ranges)}); label the container with its catalog category"
        )
        return
    usable = [category, *config["sharedRanges"].get(category, [])]
    bounds = [(int(ranges[each][0]), int(ranges[each][1])) for each in usable if each in ranges]
    allowed = " or ".join(f"{low}-{high}" for low, high in bounds)
    for port in ports:
        if not any(low <= port.external <= high for low, high in bounds):
            yield (
                f"{who(props, name)} publishes host port {port.external} (container port {port.internal}), outside the "
                f"{'/'.join(usable)} range {allowed}; pick a host port in {allowed} (mesh:services.<name>.hostPorts)"
            )


def check_privileged_host_ports(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    if daemon is not None:
        return  # bound inside the nested daemon, not on the host
    for port in published_ports(props):
        if port.external < 1024:
            yield (
                f"{who(props, name)} publishes privileged host port {port.external} (container port {port.internal}); "
                "publish a host port of 1024 or above"
            )


def check_healthcheck(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    container = who(props, name)
    healthcheck = props.get("healthcheck") or {}
    tests = list(healthcheck.get("tests") or [])
    if not tests or tests[0] == "NONE":
        yield f"{container} has no healthcheck (healthcheck.tests is {tests or 'unset'}); give it a probe the image can run"
    else:
        limit = float(config["maxIntervalSeconds"])
        interval = healthcheck.get("interval")
        # Docker's default interval is 30s when none is set
        seconds = duration_seconds(str(interval)) if interval else 30.0
        if seconds > limit:
            shown = interval or "30s (default)"
            yield f"{container} checks its health every {shown}, above {limit:g}s; set healthcheck.interval <= {limit:g}s"
    if props.get("wait") is not True:
        if props.get("__service"):
            yield f"service {container} has no converge_config; set one so a deployment fails on tasks that never become healthy"
        else:
            wait = props.get("wait")
            yield f"{container} is not waited on (wait={wait!r}); set wait=True so a deployment fails on an unhealthy container"


def check_privileged(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    service = service_name(props, name)
    if props.get("privileged") is True and service not in config["allowedServices"]:
        yield (
            f"{who(props, name)} runs privileged and {service!r} is not in the allow-list {config['allowedServices']}; "
            "drop privileged (add only the capabilities it needs) or allow-list the service"
        )


def _exposes_socket(host_path: str) -> bool:
    path = host_path.rstrip("/") or "/"
    socket_paths = (DOCKER_SOCKET, "/run/docker.sock")
    return any(path == socket or socket.startswith(path if path == "/" else path + "/") for socket in socket_paths)


def check_docker_socket(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    service = service_name(props, name)
    allowed = list(config["allowedServices"]) + (list(config["swarmNodeAgents"]) if props.get("__service") else [])
    for volume in props.get("volumes") or []:
        host_path = volume.get("hostPath")
        if not host_path or not _exposes_socket(str(host_path)):
            continue
        if service not in allowed:
            yield (
                f"{who(props, name)} mounts {host_path} (it exposes the Docker socket, root on the host) and {service!r} "
                f"is not in the allow-list {allowed}; remove the mount (read the Docker API through the socket proxy)"
            )
        elif volume.get("readOnly") is not True:
            yield f"{who(props, name)} mounts {host_path} (it exposes the Docker socket) read-write; mount it with read_only=True"


EXCEPTION_LABEL = "mesh.exception."
"""The program labels each least-privilege exception with the catalog's reason (components/resources/container.py)."""


def _exception(props: Mapping[str, Any], kind: str) -> str | None:
    return labels(props).get(EXCEPTION_LABEL + kind)


def _is_root(user: Any) -> bool:
    return not user or str(user).split(":", 1)[0] in ("root", "0")


def check_capabilities_dropped(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    if props.get("privileged") is True or _exception(props, "capabilities"):
        return  # privileged: privileged-allow-list judges it; an exception: least-privilege-exceptions reports it
    drops = [str(cap).upper() for cap in (props.get("capabilities") or {}).get("drops") or []]
    if "ALL" not in drops:
        yield (
            f"{who(props, name)} keeps Docker's default capabilities; drop ALL and add back only what its image needs "
            "(or record the reason in the catalog)"
        )
    adds = [str(cap) for cap in (props.get("capabilities") or {}).get("adds") or []]
    if adds:
        yield f"{who(props, name)} adds {', '.join(adds)} with no recorded reason; record it in the catalog"


def check_read_only_root(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    if props.get("privileged") is True or _exception(props, "writable-root"):
        return
    if props.get("readOnly") is not True:
        yield f"{who(props, name)} has a writable root filesystem; set read_only=True with tmpfs or volumes where it writes"


def check_non_root_user(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    if props.get("privileged") is True or _exception(props, "root"):
        return
    if _is_root(props.get("user")):
        yield f"{who(props, name)} runs as root (user {props.get('user')!r}); run it as its image's non-root user"


def check_least_privilege_exceptions(
    name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None
) -> Iterator[str]:
    for kind in ("capabilities", "writable-root", "root"):
        reason = _exception(props, kind)
        if reason:
            yield f"{who(props, name)}: {kind} exception: {reason}"


def check_host_namespaces(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    for key, namespace in (("networkMode", "network"), ("pidMode", "PID"), ("ipcMode", "IPC")):
        if props.get(key) == "host":
            yield f"{who(props, name)} shares the host's {namespace} namespace ({key}=host); remove {key}"


def check_loopback(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    if daemon is not None:
        return  # bound inside the nested daemon (the DinD container); what reaches the host is the DinD's own ports
    service = service_name(props, name)
    # a swarm service's host-mode port binds every interface of its node: only the edge ports may be published
    entries = config["allowedPorts"] + (config["edgePorts"] if props.get("__service") else [])
    for port in published_ports(props):
        if props.get("__service") and props.get("ports") and any(p.get("mode") != "host" for p in props["ports"]):
            yield f"service {who(props, name)} publishes through the routing mesh (ingress); publish in host mode on edge nodes"
            return
        allowed = any(port_matches(entry, service, port.internal) for entry in entries)
        if not allowed and not is_loopback(port.ip):
            yield (
                f"{who(props, name)} publishes host port {port.external} (container port {port.internal}) on "
                f"{port.ip or '0.0.0.0 (unset)'}; bind it to 127.0.0.1 (mesh:bindAddress) or allow-list {service}:{port.internal}"
            )


def check_sensitive_ports(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    service = service_name(props, name)
    for port in published_ports(props):
        if any(port_matches(entry, service, port.internal) for entry in config["ports"]) and not is_loopback(port.ip):
            yield (
                f"{who(props, name)} publishes its sensitive port {port.internal} (host {port.external}) on "
                f"{port.ip or '0.0.0.0 (unset)'}; it must bind to loopback only (no allow-list can open it)"
            )


def _env_pairs(props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for entry in props.get("envs") or []:
        key, _, value = str(entry).partition("=")
        yield key, value


def _plaintext_docker_host(url: str) -> bool:
    match = re.match(r"^tcp://\[?([^\]/]+?)\]?(?::(\d+))?/?$", url)
    if match is None:
        return False
    return match.group(2) is None or int(match.group(2)) == PLAINTEXT_DOCKER_PORT


def check_plaintext_docker(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    for key, value in _env_pairs(props):
        if key == "DOCKER_HOST" and _plaintext_docker_host(value):
            yield f"{who(props, name)} points DOCKER_HOST at {value}, a plaintext Docker API; use tcp://<host>:2376 with TLS"
    for port in published_ports(props):
        if PLAINTEXT_DOCKER_PORT in (port.internal, port.external):
            yield f"{who(props, name)} publishes port {port.internal}->{port.external}, the plaintext Docker API; serve TLS on 2376 only"


def check_docker_provider(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    host = props.get("host")
    if not host or not str(host).startswith("tcp://"):
        return
    has_tls = any(props.get(key) for key in ("caMaterial", "certMaterial", "keyMaterial", "certPath"))
    if _plaintext_docker_host(str(host)) or not has_tls:
        yield (
            f"Docker provider {name} connects to {host} without TLS; point it at port 2376 with ca_material, cert_material and key_material"
        )


def check_image_pinned(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    own_name = props.get("name") if "name" in props else props.get("imageName")
    image = props.get("image") if props.get("__service") else own_name
    if image is None:
        return
    image = str(image)
    if "@sha256:" in image:
        return
    last_segment = image.rsplit("/", 1)[-1]
    tag = last_segment.partition(":")[2]
    if not tag:
        yield f"image {image} ({name}) has no tag, so it floats; pin a version tag (e.g. {image}:1.2) or a digest"
    elif tag == "latest":
        yield f"image {image} ({name}) uses 'latest', so it floats; pin a version tag or a digest"


def check_memory_limit(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    memory = props.get("memory")
    if not memory or float(memory) <= 0:
        yield f"{who(props, name)} has no memory limit (memory={memory!r}); set memory (MB) so one service cannot exhaust the host"


def check_restart_policy(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    restart = props.get("restart")
    if props.get("__service"):
        if restart != config["requiredCondition"]:
            required = config["requiredCondition"]
            yield f"service {who(props, name)} restarts on {restart or 'unset'}; set restart_policy.condition={required!r}"
    elif restart != config["required"]:
        yield f"{who(props, name)} has restart policy {restart or 'unset (no)'}; set restart={config['required']!r}"


def check_no_new_privileges(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    if props.get("privileged") is True:
        return  # a privileged container is judged by privileged-allow-list; the flag means nothing there
    if props.get("__service"):
        return  # swarm services cannot set it through pulumi-docker 5.2 (no such field in its ContainerSpec privileges)
    options = [str(option) for option in props.get("securityOpts") or []]
    if not any(option in ("no-new-privileges", "no-new-privileges:true", "no-new-privileges=true") for option in options):
        yield f"{who(props, name)} may gain privileges (security_opts={options}); add security_opts=['no-new-privileges:true']"


def check_consul_checks(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    service = props.get("name") or name
    checks = list(props.get("checks") or [])
    limit = float(config["maxIntervalSeconds"])
    if not checks:
        yield f"Consul service {service} has no check, so Consul reports it healthy whatever it does; add an HTTP or TCP check"
        return
    intervals = [str(check["interval"]) for check in checks if check.get("interval") is not None]
    if not intervals:
        yield f"Consul service {service} has no check that runs on an interval; set a check interval <= {limit:g}s"
    elif not any(duration_seconds(interval) <= limit for interval in intervals):
        yield f"Consul service {service} checks every {', '.join(intervals)}, none within {limit:g}s; set a check interval <= {limit:g}s"


def check_stateful_placement(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    """A volume of a swarm service lives on one node: its tasks must never share or lose it."""
    volumes = [mount for mount in props.get("mounts") or [] if mount.get("type") == "volume"]
    if not volumes or props.get("replicas") is None:
        return  # a global service runs one task per node, each with that node's volume
    placement = props.get("placement") or {}
    pinned = any(str(constraint).startswith("node.labels.") for constraint in placement.get("constraints") or [])
    one_per_node = placement.get("maxReplicas") == 1
    replicas = int(props["replicas"])
    limit = int(placement.get("maxReplicas") or 0) or "unlimited"
    if replicas == 1 and pinned:
        return
    if one_per_node and replicas > 1:
        return  # a cluster (Consul): one task per node, each owns its node's volume
    yield (
        f"service {who(props, name)} keeps data in volume {volumes[0].get('source')} but runs {replicas} task(s) "
        f"with constraints {list(placement.get('constraints') or [])} and max_replicas {limit}; "
        "pin one task to a labelled node (node.labels.mesh.data.<service>==true) or run one task per node"
    )


def check_secrets_as_files(name: str, props: Mapping[str, Any], config: Mapping[str, Any], daemon: str | None = None) -> Iterator[str]:
    """On a swarm, credentials are docker.Secret files; an environment variable would sit in the service spec in clear."""
    pattern = credential_pattern(config)
    for key, value in _env_pairs(props):
        if (key.endswith("_FILE") and value.startswith("/run/secrets/")) or key in config["notCredentials"]:
            continue
        if pattern.search(key):
            yield f"service {who(props, name)} sets {key} in its environment; deliver it as a docker.Secret file ({key}_FILE)"


# --- the credential rule: a remediation, because only remediations see secretness -----------------


def credential_pattern(config: Mapping[str, Any]) -> re.Pattern[str]:
    return re.compile(str(config["namePattern"]), re.IGNORECASE)


def plaintext_credentials(raw_props: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """Names of credential-looking env vars that are not inside a `pulumi_policy.Secret`."""
    envs = raw_props.get("envs")
    if envs is None or isinstance(envs, Secret):
        return []
    pattern = credential_pattern(config)
    names = []
    for entry in envs:
        if isinstance(entry, Secret):
            continue
        key = str(entry).partition("=")[0]
        if pattern.search(key):
            names.append(key)
    return names


class CredentialEnvPolicy(ResourceValidationPolicy):
    """Remediation: credential env vars of a container are made secret.

    Validations get plain values from the engine, with no trace of secretness (pulumi-policy#241);
    remediations get them with their secret markers, so the rule lives here: it wraps every
    plaintext credential in `Secret`, and the engine encrypts it in state and masks it in output.
    """

    def __init__(self) -> None:
        super().__init__(
            "credential-env-secret",
            "Environment variables whose names look like credentials carry secret values.",  # pragma: no mutate
            enforcement_level=EnforcementLevel.REMEDIATE,
            config_schema=PolicyConfigSchema(schema_properties("credential-env-secret")),
            remediation_steps="Pass the value through pulumi.Output.secret (components.wiring.datastores.secret_env).",  # pragma: no mutate
        )

    # the analyzer server takes a plain mapping as well as an awaitable (pulumi_policy.policy Remediate)
    def remediate(self, args: ResourceValidationArgs) -> Mapping[str, Any] | None:  # type: ignore[override]
        if args.resource_type != CONTAINER:
            return None
        config = policy_config(self.name, args.get_config())
        raw = args.props["__target"]
        if service_name(args.props, args.name) in config["exemptServices"]:
            return None
        names = plaintext_credentials(raw, config)
        if not names:
            return None
        pattern = credential_pattern(config)
        envs = [
            entry if isinstance(entry, Secret) or not pattern.search(str(entry).partition("=")[0]) else Secret(entry)
            for entry in raw["envs"]
        ]
        return {**raw, "envs": envs}

    def explain(self, raw_props: Mapping[str, Any], config: Mapping[str, Any], name: str) -> list[str]:
        """What the remediation fixes, for the offline verdicts."""
        return [
            f"{who(raw_props, name)} sets {key} in plaintext; the pack marks it secret, but pass it through pulumi.Output.secret"
            for key in plaintext_credentials(raw_props, config)
        ]


# --- stack rules ------------------------------------------------------------------------------------

StackCheck = Callable[[Sequence[PolicyResource], Mapping[str, Any]], Iterable[tuple[str, str]]]
"""(resources, effective config) -> (message, urn) pairs."""


def _containers(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterator[tuple[PolicyResource, Mapping[str, Any]]]:
    """Containers and swarm services (in the container shape), with the exempt ones left out."""
    for resource in resources:
        if resource.resource_type not in (CONTAINER, SERVICE):
            continue
        props = view(resource.resource_type, resource.props)
        if service_name(props, resource.name) not in config["exemptServices"]:
            yield resource, props


def check_unique_host_ports(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    # one Docker daemon per provider: the DinD's nested containers publish on its daemon, not on the host's
    owners: dict[tuple[str, int], tuple[PolicyResource, Mapping[str, Any]]] = {}
    for resource, props in _containers(resources, config):
        daemon = resource.provider.urn if resource.provider else ""
        for port in published_ports(props):
            first, first_props = owners.setdefault((daemon, port.external), (resource, props))
            if first is not resource:
                yield (
                    f"host port {port.external} is published by both {who(first_props, first.name)} and "
                    f"{who(props, resource.name)}; give one of them another host port",
                    resource.urn,
                )


def check_registered_in_consul(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    registered = {str(resource.props.get("name")) for resource in resources if resource.resource_type == CONSUL_SERVICE}
    for resource, props in _containers(resources, config):
        service = service_name(props, resource.name)
        if service not in registered:
            yield (
                f"{who(props, resource.name)} (service {service}) has no consul.Service named {service!r}; "
                "register it with a check, or exempt it",
                resource.urn,
            )


# --- building the policies ------------------------------------------------------------------------


def resource_policy(
    name: str,
    description: str,
    level: EnforcementLevel,
    types: tuple[str, ...],
    check: ResourceCheck,
    remediation_steps: str,
) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in types:
            return
        config = policy_config(name, args.get_config())
        props = view(args.resource_type, args.props)
        if args.resource_type in (CONTAINER, SERVICE) and service_name(props, args.name) in config["exemptServices"]:
            return
        for message in check(args.name, props, config, nested_daemon(args.provider)):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name,
        description,
        validate,
        enforcement_level=level,
        config_schema=PolicyConfigSchema(schema_properties(name)),
        remediation_steps=remediation_steps,
    )


def stack_policy(name: str, description: str, level: EnforcementLevel, check: StackCheck, remediation_steps: str) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        config = policy_config(name, args.get_config())
        for message, urn in check(args.resources, config):
            report_violation(message, urn)

    return StackValidationPolicy(
        name,
        description,
        validate,
        enforcement_level=level,
        config_schema=PolicyConfigSchema(schema_properties(name)),
        remediation_steps=remediation_steps,
    )


def build_policies() -> list[Policy]:
    """Every policy of the pack, in the order the README's table lists them."""
    c = (CONTAINER, SERVICE)
    return [
        resource_policy(
            "host-port-in-category-range",
            "Host ports fall in their category's range (docs/services.md).",  # pragma: no mutate
            MANDATORY,
            c,
            check_port_ranges,
            "Move the host port into the range of the container's mesh.category, or change portRanges.",  # pragma: no mutate
        ),
        resource_policy(
            "no-privileged-host-ports",
            "No host port below 1024 is published (CIS 5.7).",  # pragma: no mutate
            MANDATORY,
            c,
            check_privileged_host_ports,
            "Publish a host port of 1024 or above.",  # pragma: no mutate
        ),
        stack_policy(
            "unique-host-ports",
            "No host port is published twice on one Docker daemon.",  # pragma: no mutate
            MANDATORY,
            check_unique_host_ports,
            "Give one of the containers another host port.",  # pragma: no mutate
        ),
        resource_policy(
            "container-healthcheck",
            "Every container has a healthcheck within the maximum interval and is waited on (CIS 4.6, 5.26; KICS Healthcheck Not Set).",  # pragma: no mutate  # noqa: E501
            MANDATORY,
            c,
            check_healthcheck,
            "Set healthcheck (tests, interval) and wait=True.",  # pragma: no mutate
        ),
        resource_policy(
            "consul-service-check-interval",
            "Every consul.Service has a check whose interval is within the maximum.",  # pragma: no mutate
            MANDATORY,
            (CONSUL_SERVICE,),
            check_consul_checks,
            "Add an HTTP or TCP check with interval <= maxIntervalSeconds.",  # pragma: no mutate
        ),
        stack_policy(
            "registered-in-consul",
            "Every container is registered in Consul as a consul.Service named after its mesh.service label.",  # pragma: no mutate
            MANDATORY,
            check_registered_in_consul,
            "Register the service in Consul, or add it to exemptServices.",  # pragma: no mutate
        ),
        resource_policy(
            "privileged-allow-list",
            "Only allow-listed containers run privileged (CIS 5.4; KICS Privileged Mode Is Enabled).",  # pragma: no mutate
            MANDATORY,
            c,
            check_privileged,
            "Drop privileged, or add the service to allowedServices.",  # pragma: no mutate
        ),
        resource_policy(
            "docker-socket-mount",
            "The Docker socket is mounted only into allow-listed containers, read-only (CIS 5.31; KICS Docker Socket Mounted).",  # pragma: no mutate  # noqa: E501
            MANDATORY,
            c,
            check_docker_socket,
            "Remove the mount, or allow-list the service and mount it read-only.",  # pragma: no mutate
        ),
        resource_policy(
            "host-namespaces",
            "No container shares the host's network, PID or IPC namespace (CIS 5.9, 5.15, 5.16; KICS Host Namespace is Shared).",  # pragma: no mutate  # noqa: E501
            MANDATORY,
            c,
            check_host_namespaces,
            "Remove network_mode/pid_mode/ipc_mode=host.",  # pragma: no mutate
        ),
        resource_policy(
            "published-port-loopback",
            "Ports published on the host's Docker daemon bind to loopback unless allow-listed (CIS 5.13).",  # pragma: no mutate
            MANDATORY,
            c,
            check_loopback,
            "Bind to 127.0.0.1 (mesh:bindAddress) or allow-list service:port.",  # pragma: no mutate
        ),
        resource_policy(
            "sensitive-port-loopback",
            "The Kong admin port and the Docker API ports never bind wider than loopback.",  # pragma: no mutate
            MANDATORY,
            c,
            check_sensitive_ports,
            "Bind the port to 127.0.0.1.",  # pragma: no mutate
        ),
        resource_policy(
            "no-plaintext-docker-port",
            "Nothing points at or publishes the plaintext Docker API on 2375 (CIS 2.6).",  # pragma: no mutate
            MANDATORY,
            (CONTAINER, DOCKER_PROVIDER),
            lambda name, props, config, daemon: (
                check_docker_provider(name, props, config) if "host" in props else check_plaintext_docker(name, props, config)
            ),
            "Use tcp://<host>:2376 with TLS client certificates.",  # pragma: no mutate
        ),
        resource_policy(
            "image-pinned",
            "Images carry an explicit tag that is not latest, or a digest (KICS Image Version Not Explicit / Using 'latest').",  # pragma: no mutate  # noqa: E501
            MANDATORY,
            (REMOTE_IMAGE, BUILT_IMAGE, SERVICE),
            check_image_pinned,
            "Pin a version tag or a digest.",  # pragma: no mutate
        ),
        resource_policy(
            "memory-limit",
            "Every container has a memory limit (CIS 5.10; KICS Memory Not Limited).",  # pragma: no mutate
            MANDATORY,
            c,
            check_memory_limit,
            "Set memory (MB).",  # pragma: no mutate
        ),
        resource_policy(
            "restart-policy",
            "Every container has the required restart policy (cf. CIS 5.14, which prefers on-failure:5).",  # pragma: no mutate
            MANDATORY,
            c,
            check_restart_policy,
            "Set restart to the required policy.",  # pragma: no mutate
        ),
        resource_policy(
            "no-new-privileges",
            "Unprivileged containers set no-new-privileges (CIS 5.25; KICS Security Opt Not Set).",  # pragma: no mutate
            MANDATORY,
            c,
            check_no_new_privileges,
            "Add security_opts=['no-new-privileges:true'].",  # pragma: no mutate
        ),
        resource_policy(
            "capabilities-dropped",
            "Unprivileged containers drop every capability and add back only recorded ones (CIS 5.3; KICS Capabilities Not Dropped).",  # pragma: no mutate  # noqa: E501
            MANDATORY,
            c,
            check_capabilities_dropped,
            "Set capabilities.drops=['ALL'] (adds: what the image needs, with its reason in the catalog).",  # pragma: no mutate
        ),
        resource_policy(
            "read-only-root",
            "Unprivileged containers run on a read-only root filesystem unless the catalog records why not (CIS 5.12).",  # pragma: no mutate  # noqa: E501
            MANDATORY,
            c,
            check_read_only_root,
            "Set read_only=True with tmpfs or volumes where the service writes, or record the reason in the catalog.",  # pragma: no mutate
        ),
        resource_policy(
            "non-root-user",
            "Unprivileged containers run as a non-root user unless the catalog records why not (CIS 4.1).",  # pragma: no mutate
            MANDATORY,
            c,
            check_non_root_user,
            "Set user to the image's non-root user, or record the reason in the catalog.",  # pragma: no mutate
        ),
        resource_policy(
            "least-privilege-exceptions",
            "Reports every least-privilege exception the catalog records, with its reason.",  # pragma: no mutate
            ADVISORY,
            c,
            check_least_privilege_exceptions,
            "Remove the exception once the image allows it.",  # pragma: no mutate
        ),
        resource_policy(
            "stateful-service-placement",
            "A swarm service with a volume runs one task pinned to a labelled node, or one task per node.",  # pragma: no mutate
            MANDATORY,
            (SERVICE,),
            check_stateful_placement,
            "Constrain it to node.labels.mesh.data.<service>==true with one replica, or set max_replicas=1.",  # pragma: no mutate
        ),
        resource_policy(
            "swarm-secrets-as-files",
            "Swarm services get credentials as docker.Secret files, never in their environment.",  # pragma: no mutate
            MANDATORY,
            (SERVICE,),
            check_secrets_as_files,
            "Create a docker.Secret, mount it under /run/secrets and point the image's <NAME>_FILE variable at it.",  # pragma: no mutate
        ),
        CredentialEnvPolicy(),
    ]
