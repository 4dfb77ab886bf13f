"""Provider-faithful state: what each provider writes back after a create (and after a refresh), by resource type.

Mocks that echo the inputs make every second `pulumi up` look empty. Here the mock answers with the
provider's own forms instead: pulumi-docker reads `cpus` back through `nanoInt64ToDecimalString`, Go's
`Duration.String()` rewrites "60s" as "1m0s", Docker fills `memory_swap` and the hostname in, Consul reports
a check's status, Grafana's provider normalises dashboard JSON. Every row names the source that decides it
(the pinned provider: pulumi-docker 5.2.0 = terraform-provider-docker v4.5.0, pulumi-consul 3.15.2 =
terraform-provider-consul v2.x, pulumiverse-grafana 2.44.0 = terraform-provider-grafana v4.x, pulumi-tls 5.6.2,
pulumi-random 4.21.4). `components.offline.lifecycle` diffs the next run's inputs against this state.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from components.catalog.canonical import docker_cpus_text, nano_cpus
from components.offline.types import (
    ACL_TOKEN,
    CONSUL_SERVICE,
    CONTAINER,
    GRAFANA_DASHBOARD,
    GRAFANA_DATASOURCE,
    IMAGE,
    NETWORK,
    RANDOM_BYTES,
    RANDOM_PASSWORD,
    RANDOM_STRING,
    RANDOM_UUID,
    REMOTE_IMAGE,
    SERVICE,
    TLS_CERT_REQUEST,
    TLS_LOCALLY_SIGNED_CERT,
    TLS_PRIVATE_KEY,
    TLS_SELF_SIGNED_CERT,
    VOLUME,
)

DOCKER_SRC = "kreuzwerker/terraform-provider-docker@v4.5.0 internal/provider/"
CONSUL_SRC = "hashicorp/terraform-provider-consul@v2.23.0 consul/"
GRAFANA_SRC = "grafana/terraform-provider-grafana internal/resources/grafana/"
RANDOM_SRC = "hashicorp/terraform-provider-random internal/provider/"
TLS_SRC = "hashicorp/terraform-provider-tls internal/provider/"

State = dict[str, Any]


def digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def uuid_of(name: str) -> str:
    hexed = digest("uuid", name)
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:32]}"


def _fake_pem(kind: str, name: str) -> str:
    return f"-----BEGIN {kind}-----\n{digest(kind, name)}\n-----END {kind}-----\n"


# --- Go's time package, as the providers format durations -----------------------------------------------

_DURATION_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> int:
    """Go's `time.ParseDuration`, in nanoseconds ("1m30s", "1.5s", "500ms"; "0" alone is allowed)."""
    if text in ("0", "+0", "-0"):
        return 0
    sign, body = (-1, text[1:]) if text.startswith("-") else (1, text.removeprefix("+"))
    position, total = 0, Fraction(0)
    for match in _DURATION_PART.finditer(body):
        if match.start() != position:
            break
        total += Fraction(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if not body or position != len(body):
        raise ValueError(f"time: invalid duration {text!r}")
    return sign * int(total)


def _fraction_text(value: int, precision: int) -> str:
    whole, rest = divmod(value, 10**precision)
    fraction = str(rest).rjust(precision, "0").rstrip("0")
    return f"{whole}.{fraction}" if fraction else str(whole)


def go_duration_string(nanos: int) -> str:
    """Go's `time.Duration.String()`: "1m0s", "3m0s", "1h0m0s", "1.5s", "500ms", "0s"."""
    if nanos == 0:
        return "0s"
    sign, nanos = ("-", -nanos) if nanos < 0 else ("", nanos)
    if nanos < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if nanos >= size:
                return f"{sign}{_fraction_text(nanos, len(str(size)) - 1)}{unit}"
    hours, rest = divmod(nanos, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = _fraction_text(rest, 9) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return f"{sign}{seconds}"


def go_duration(text: str) -> str:
    """A duration input as a provider reading it back writes it: `Duration.String()` of `ParseDuration`."""
    return go_duration_string(parse_go_duration(text))


# --- normalisers the providers apply (StateFunc) ----------------------------------------------------------


def go_json(value: Any) -> str:
    """Go's `json.Marshal` of a decoded document: keys sorted, compact, `<`, `>`, `&` escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def grafana_dashboard_json(config_json: Any) -> Any:
    """`NormalizeDashboardConfigJSON` (resource_dashboard.go, the `config_json` StateFunc): drops `id`,
    `version` and `panels[].id`, re-marshals."""
    if not isinstance(config_json, str):
        return config_json
    try:
        document = json.loads(config_json)
    except json.JSONDecodeError:
        return config_json
    document.pop("id", None)
    document.pop("version", None)
    for panel in document.get("panels") or []:
        if isinstance(panel, dict):
            panel.pop("id", None)
    return go_json(document)


def normalized_json(text: Any) -> Any:
    """terraform-plugin-sdk `structure.NormalizeJsonString` (the data source's `json_data_encoded` StateFunc)."""
    if not isinstance(text, str):
        return text
    try:
        return go_json(json.loads(text))
    except json.JSONDecodeError:
        return text


# --- the table -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceContext:
    """What a row may use besides the inputs: the resource's name and the id the provider gave it."""

    name: str
    resource_id: str


Rule = Callable[[State, ResourceContext], None]


@dataclass(frozen=True)
class StateRow:
    type_: str
    attribute: str
    """The Pulumi property the row writes (`healthcheck.startPeriod`, `checks[].status`)."""
    writes_back: str
    """What the provider stores, in words."""
    source: str
    """The provider (or service) source that decides it, at the pinned version."""
    rule: Rule


def _cpus(state: State, _: ResourceContext) -> None:
    if state.get("cpus") not in (None, ""):
        state["cpus"] = docker_cpus_text(nano_cpus(state["cpus"]))


_HEALTHCHECK_DURATIONS = ("interval", "timeout", "startPeriod", "startInterval")


def _healthcheck(state: State, _: ResourceContext) -> None:
    check = state.get("healthcheck")
    if isinstance(check, dict):
        state["healthcheck"] = {
            **check,
            **{key: go_duration(str(check.get(key) or "0s")) for key in _HEALTHCHECK_DURATIONS},
            "retries": check.get("retries", 0),
        }


def _memory_swap(state: State, _: ResourceContext) -> None:
    if state.get("memory") and not state.get("memorySwap"):
        state["memorySwap"] = 2 * int(state["memory"])


def _hostname(state: State, context: ResourceContext) -> None:
    if not state.get("hostname"):
        state["hostname"] = context.resource_id[:12]


def _network_mode(state: State, _: ResourceContext) -> None:
    state.setdefault("networkMode", "bridge")


def _restart(state: State, _: ResourceContext) -> None:
    state.setdefault("restart", "no")


def _stop_settings(state: State, _: ResourceContext) -> None:
    # the image's STOPSIGNAL (or none) when the input leaves it out; computed, so it never diffs
    state.setdefault("stopSignal", "")
    state.setdefault("stopTimeout", 0)


def _container_outputs(state: State, context: ResourceContext) -> None:
    state.setdefault("exitCode", None)
    state["networkDatas"] = [
        {"networkName": network.get("name"), "ipAddress": f"172.18.0.{int(context.resource_id[:2], 16) % 250 + 2}"}
        for network in state.get("networksAdvanced") or []
    ]


def _volume_outputs(state: State, _: ResourceContext) -> None:
    state.setdefault("driver", "local")
    state["mountpoint"] = f"/var/lib/docker/volumes/{state.get('name')}/_data"


def _network_outputs(state: State, _: ResourceContext) -> None:
    state.setdefault("internal", False)
    state.setdefault("options", {})
    state["scope"] = "local"


def _remote_image(state: State, _: ResourceContext) -> None:
    state["imageId"] = "sha256:" + digest("image", str(state.get("name")))
    state["repoDigest"] = ""


def _built_image(state: State, _: ResourceContext) -> None:
    # a local build (skip_push): the provider reports the image ID as repoDigest
    state["repoDigest"] = "sha256:" + digest("build", str(state.get("imageName")))
    state["baseImageName"] = state.get("imageName")


def _consul_checks(state: State, _: ResourceContext) -> None:
    checks = []
    for check in state.get("checks") or []:
        written = {key: go_duration(str(check[key])) for key in ("interval", "timeout") if key in check}
        written["deregisterCriticalServiceAfter"] = go_duration(str(check.get("deregisterCriticalServiceAfter") or "30s"))
        # Consul registers a check critical unless told otherwise; Read stores whatever Consul reports
        checks.append({"method": "GET", "tlsSkipVerify": False, "notes": "", "status": "critical", **check, **written})
    if checks:
        state["checks"] = checks


def _consul_service_outputs(state: State, _: ResourceContext) -> None:
    state.setdefault("datacenter", "dc1")
    state.setdefault("serviceId", state.get("name"))


def _acl_token(state: State, context: ResourceContext) -> None:
    state["accessorId"] = uuid_of("accessor/" + context.name)
    state.setdefault("local", False)


def _dashboard(state: State, context: ResourceContext) -> None:
    state["configJson"] = grafana_dashboard_json(state.get("configJson"))
    document = json.loads(state["configJson"]) if isinstance(state.get("configJson"), str) else {}
    state["uid"] = document.get("uid", context.resource_id)
    state["dashboardId"] = int(digest("dashboard", context.name)[:4], 16)
    state["version"] = 1


def _datasource(state: State, _: ResourceContext) -> None:
    if "jsonDataEncoded" in state:
        state["jsonDataEncoded"] = normalized_json(state["jsonDataEncoded"])


def _random_password(state: State, context: ResourceContext) -> None:
    state["result"] = digest("password", context.name)[: int(state.get("length", 32))]
    state["bcryptHash"] = "$2a$10$" + digest("bcrypt", context.name)[:53]
    for flag in ("upper", "lower", "numeric", "special"):
        state.setdefault(flag, True)


def _random_bytes(state: State, context: ResourceContext) -> None:
    state["hex"] = digest("bytes", context.name)[: 2 * int(state.get("length", 4))]
    state["base64"] = digest("bytes64", context.name)[:8]


def _random_string(state: State, context: ResourceContext) -> None:
    state["result"] = digest("string", context.name)[: int(state.get("length", 16))]


def _random_uuid(state: State, context: ResourceContext) -> None:
    state["result"] = uuid_of(context.name)


def _private_key(state: State, context: ResourceContext) -> None:
    state["privateKeyPem"] = _fake_pem("PRIVATE KEY", context.name)
    state["privateKeyPemPkcs8"] = _fake_pem("PRIVATE KEY", context.name)
    state["publicKeyPem"] = _fake_pem("PUBLIC KEY", context.name)


def _cert(kind: str, key: str) -> Rule:
    def rule(state: State, context: ResourceContext) -> None:
        state[key] = _fake_pem(kind, context.name)
        state.setdefault("earlyRenewalHours", 0)

    return rule


def short_duration(text: str) -> str:
    """terraform-provider-docker's `shortDur`: Go's `Duration.String()` without a trailing "0s" / "0m" ("1m0s" -> "1m")."""
    written = go_duration(text)
    if written.endswith("m0s"):
        written = written[:-2]
    if written.endswith("h0m"):
        written = written[:-2]
    return written


_SERVICE_DURATIONS = {
    ("taskSpec", "containerSpec", "healthcheck"): ("interval", "timeout", "startPeriod"),
    ("taskSpec", "restartPolicy"): ("delay", "window"),
    ("updateConfig",): ("delay", "monitor"),
    ("rollbackConfig",): ("delay", "monitor"),
}


def _swarm_service(state: State, _: ResourceContext) -> None:
    for path, keys in _SERVICE_DURATIONS.items():
        block: Any = state
        for part in path:
            block = block.get(part) if isinstance(block, dict) else None
        if isinstance(block, dict):
            for key in keys:
                if key in block:
                    block[key] = short_duration(str(block[key]))
    for key in ("updateConfig", "rollbackConfig"):
        block = state.get(key)
        if isinstance(block, dict) and "maxFailureRatio" in block:
            block["maxFailureRatio"] = f"{float(block['maxFailureRatio']):.1f}"
    task = state.get("taskSpec")
    if isinstance(task, dict):
        # the network is read back by its id (Target) only: a `name` input would differ from the state
        task["networksAdvanceds"] = [{"id": network.get("id"), "driverOpts": []} for network in task.get("networksAdvanceds") or []]
        placement = task.setdefault("placement", {})
        placement.setdefault("maxReplicas", 0)


STATE_TABLE: tuple[StateRow, ...] = (
    StateRow(
        CONTAINER,
        "cpus",
        'NanoCPUs as nanoInt64ToDecimalString: "1" -> "1.0", "4" -> "4.0", "0.5" -> "0.5", "10" -> "10."',
        DOCKER_SRC + 'resource_docker_container_funcs.go (Read: d.Set("cpus", ...)) + helpers.go nanoInt64ToDecimalString '
        '(its test expects 1e9 -> "1.0")',
        _cpus,
    ),
    StateRow(
        CONTAINER,
        "healthcheck.interval/timeout/startPeriod/startInterval",
        'Go Duration.String(): "60s" -> "1m0s", "180s" -> "3m0s"; an unset duration is "0s"',
        DOCKER_SRC + "resource_docker_container_funcs.go (Read: Healthcheck.Interval.String() ...); "
        'resource_docker_container.go (healthcheck durations Default "0s")',
        _healthcheck,
    ),
    StateRow(
        CONTAINER,
        "memorySwap",
        "Docker sets MemorySwap to twice Memory when it is 0; Read stores it (MB)",
        "moby/moby daemon/daemon_unix.go adaptContainerSettings; " + DOCKER_SRC + "resource_docker_container_funcs.go (Read: memory_swap)",
        _memory_swap,
    ),
    StateRow(
        CONTAINER,
        "hostname",
        "Config.Hostname: Docker's default is the container id's first 12 characters",
        DOCKER_SRC + 'resource_docker_container_funcs.go (Read: d.Set("hostname", container.Config.Hostname)); '
        "resource_docker_container.go (hostname Optional+Computed+ForceNew)",
        _hostname,
    ),
    StateRow(
        CONTAINER,
        "networkMode",
        'HostConfig.NetworkMode, "bridge" unless set',
        DOCKER_SRC + 'resource_docker_container.go (network_mode Default "bridge")',
        _network_mode,
    ),
    StateRow(
        CONTAINER,
        "restart",
        'RestartPolicy.Name as given ("unless-stopped"); "no" unless set',
        DOCKER_SRC + "resource_docker_container_funcs.go (Read: restart) ",
        _restart,
    ),
    StateRow(
        CONTAINER,
        "stopSignal/stopTimeout",
        "Config.StopSignal / StopTimeout: as given, else the image's (computed)",
        DOCKER_SRC + "resource_docker_container_funcs.go (Read: stop_signal, stop_timeout)",
        _stop_settings,
    ),
    StateRow(
        CONTAINER,
        "envs/labels/uploads/destroyGraceSeconds/wait",
        'not read back: the state keeps the inputs ("We decided not to set the environment variables and labels")',
        DOCKER_SRC + "resource_docker_container_funcs.go (Read comments: env, labels, upload, destroy_grace_seconds)",
        lambda state, context: None,
    ),
    StateRow(CONTAINER, "networkDatas", "computed addresses", DOCKER_SRC + "resource_docker_container_funcs.go", _container_outputs),
    StateRow(
        VOLUME,
        "driver/mountpoint",
        'driver "local", mountpoint under /var/lib/docker/volumes',
        DOCKER_SRC + "resource_docker_volume.go (Read)",
        _volume_outputs,
    ),
    StateRow(NETWORK, "internal/options/scope", "computed", DOCKER_SRC + "resource_docker_network_funcs.go (Read)", _network_outputs),
    StateRow(
        SERVICE,
        "durations/maxFailureRatio/networksAdvanceds/placement.maxReplicas",
        'every duration through shortDur ("60s" -> "1m", "90s" -> "1m30s"); max_failure_ratio FormatFloat(.., \'f\', 1) ("0.0"); '
        "networks by id (Target) only; max_replicas always set (0 when unset)",
        DOCKER_SRC + "resource_docker_service_structures.go (flattenServiceHealthcheck, flattenTaskRestartPolicy, "
        "flattenServiceUpdateOrRollbackConfig, flattenTaskNetworksAdvanced, flattenTaskPlacement, shortDur)",
        _swarm_service,
    ),
    StateRow(
        REMOTE_IMAGE, "imageId/repoDigest", "the pulled image's id", DOCKER_SRC + "resource_docker_image_funcs.go (Read)", _remote_image
    ),
    StateRow(IMAGE, "repoDigest/baseImageName", "a local build's image id", "pulumi/pulumi-docker provider/image.go", _built_image),
    StateRow(
        CONSUL_SERVICE,
        "checks[].interval/timeout/deregisterCriticalServiceAfter/status/method",
        'Duration.String() of each duration (default deregister "30s"); status as Consul reports it ("critical" '
        'until the first run); method "GET"',
        CONSUL_SRC + 'resource_consul_service.go (Read: m["status"] = check.Status, Definition.Interval.String() ...)',
        _consul_checks,
    ),
    StateRow(CONSUL_SERVICE, "datacenter/serviceId", "computed", CONSUL_SRC + "resource_consul_service.go", _consul_service_outputs),
    StateRow(ACL_TOKEN, "accessorId", "a generated UUID", CONSUL_SRC + "resource_consul_acl_token.go", _acl_token),
    StateRow(
        GRAFANA_DASHBOARD,
        "configJson",
        "NormalizeDashboardConfigJSON: id, version and panels[].id dropped, re-marshalled (keys sorted)",
        GRAFANA_SRC + "resource_dashboard.go (config_json StateFunc)",
        _dashboard,
    ),
    StateRow(
        GRAFANA_DATASOURCE,
        "jsonDataEncoded",
        "structure.NormalizeJsonString",
        GRAFANA_SRC + "resource_data_source.go (datasourceJSONDataAttribute StateFunc)",
        _datasource,
    ),
    StateRow(
        RANDOM_PASSWORD,
        "result/bcryptHash",
        "generated",
        RANDOM_SRC + "resource_password.go",
        _random_password,
    ),
    StateRow(RANDOM_BYTES, "hex/base64", "generated", RANDOM_SRC + "resource_bytes.go", _random_bytes),
    StateRow(RANDOM_STRING, "result", "generated", RANDOM_SRC + "resource_string.go", _random_string),
    StateRow(RANDOM_UUID, "result", "generated", RANDOM_SRC + "resource_uuid.go", _random_uuid),
    StateRow(TLS_PRIVATE_KEY, "privateKeyPem/publicKeyPem", "generated", TLS_SRC + "resource_private_key.go", _private_key),
    StateRow(
        TLS_SELF_SIGNED_CERT,
        "certPem",
        "generated",
        TLS_SRC + "resource_self_signed_cert.go",
        _cert("CERTIFICATE", "certPem"),
    ),
    StateRow(
        TLS_LOCALLY_SIGNED_CERT,
        "certPem",
        "generated",
        TLS_SRC + "resource_locally_signed_cert.go",
        _cert("CERTIFICATE", "certPem"),
    ),
    StateRow(
        TLS_CERT_REQUEST,
        "certRequestPem",
        "generated",
        TLS_SRC + "resource_cert_request.go",
        _cert("CERTIFICATE REQUEST", "certRequestPem"),
    ),
)


def _passing(state: State, _: ResourceContext) -> None:
    if state.get("checks"):
        state["checks"] = [{**check, "status": "passing"} for check in state["checks"]]


REFRESH_TABLE: tuple[StateRow, ...] = (
    StateRow(
        CONSUL_SERVICE,
        "checks[].status",
        '"passing" once consul-esm has run the check; a refresh stores it',
        CONSUL_SRC + 'resource_consul_service.go (Read: m["status"] = check.Status)',
        _passing,
    ),
)


def resource_id(type_: str, name: str, inputs: Mapping[str, Any]) -> str:
    """The id the provider assigns; a container's is new whenever it is created again (here: from its inputs)."""
    if type_ == CONTAINER:
        return digest("container", name, json.dumps(inputs, sort_keys=True, default=str))
    return f"{name}-id"


def written_back(type_: str, name: str, inputs: Mapping[str, Any], id_: str | None = None) -> State:
    """The state the provider stores after creating this resource from these inputs."""
    state: State = json.loads(json.dumps(dict(inputs), default=str))
    context = ResourceContext(name=name, resource_id=id_ or resource_id(type_, name, inputs))
    for row in STATE_TABLE:
        if row.type_ == type_:
            row.rule(state, context)
    return state


def refreshed(type_: str, name: str, state: Mapping[str, Any], id_: str) -> State:
    """The state after `pulumi refresh` reads the resource again, once the mesh has run for a while."""
    updated: State = json.loads(json.dumps(dict(state), default=str))
    for row in REFRESH_TABLE:
        if row.type_ == type_:
            row.rule(updated, ResourceContext(name=name, resource_id=id_))
    return updated
