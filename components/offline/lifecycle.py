"""Day 2 offline: deploy a capture into provider-faithful state, then diff the next run against it like the engine.

`deploy` turns a synthesized run into the state the providers would hold (`provider_state.written_back`);
`diff` compares the next run's inputs with that state the way the providers decide (each type's `ReplaceRules`:
which inputs force a new resource, which are computed, defaults, sets, the StateFuncs), and says per resource:
create, update, replace or delete. `apply` gives the state after that update and `refresh` the state after
`pulumi refresh`. The lifecycle suite (tests/test_lifecycle.py) and the blast-radius table read this.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from components.offline import provider_state
from components.offline.provider_state import CONSUL_SRC, DOCKER_SRC, GRAFANA_SRC, RANDOM_SRC, TLS_SRC
from components.offline.synth import Capture, Registration, reveal
from components.offline.types import (
    ACL_POLICY,
    ACL_TOKEN,
    CONSUL_NODE,
    CONSUL_SERVICE,
    CONTAINER,
    GRAFANA_DASHBOARD,
    GRAFANA_DATASOURCE,
    GRAFANA_FOLDER,
    IMAGE,
    NETWORK,
    REMOTE_IMAGE,
    SECRET,
    SERVICE,
    SERVICE_CONFIG,
    VOLUME,
)

Op = Literal["create", "update", "replace", "delete"]

_EMPTY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ReplaceRules:
    """How one resource type's provider decides between no change, an in-place update and a replacement."""

    type_: str
    source: str
    """The provider source of these rules (its schema: ForceNew / RequiresReplace, Computed, Default)."""
    force_new: frozenset[str] = _EMPTY
    """Inputs whose change replaces the resource."""
    computed: frozenset[str] = _EMPTY
    """Optional+Computed properties (and outputs): left out of the inputs, the state keeps what the provider read."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Schema defaults of inputs the program may leave out."""
    nested_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    nested_computed: Mapping[str, frozenset[str]] = field(default_factory=dict)
    unordered: frozenset[str] = _EMPTY
    """TypeSet properties: compared without regard to order."""
    state_funcs: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    """StateFunc: the provider normalises the input before comparing it with the state."""
    every_input_replaces: bool = False
    """Plugin-framework resources whose every input carries RequiresReplace (except `updatable`)."""
    updatable: frozenset[str] = _EMPTY
    compares_inputs: bool = False
    """The provider diffs old inputs against new ones (pulumi-docker's native `Image`), not the state."""
    replace_when: Callable[[Mapping[str, Any], Mapping[str, Any]], bool] | None = None
    """A CustomizeDiff that forces a new resource: (old state, new inputs) -> replace?"""


def _fields(*names: str) -> frozenset[str]:
    return frozenset(names)


def _dashboard_uid_changed(state: Mapping[str, Any], inputs: Mapping[str, Any]) -> bool:
    def uid(text: Any) -> Any:
        try:
            return json.loads(text).get("uid") if isinstance(text, str) else None
        except json.JSONDecodeError:
            return None

    return bool(uid(state.get("configJson")) != uid(inputs.get("configJson")))


_CONTAINER_FORCE_NEW = _fields(
    "name",
    "readOnly",
    "image",
    "hostname",
    "domainname",
    "command",
    "entrypoints",
    "user",
    "dns",
    "dnsOpts",
    "dnsSearches",
    "publishAllPorts",
    "workingDir",
    "capabilities",
    "securityOpts",
    "runtime",
    "platform",
    "stopSignal",
    "stopTimeout",
    "mounts",
    "volumes",
    "ports",
    "hosts",
    "ulimits",
    "envs",
    "privileged",
    "devices",
    "deviceRequests",
    "labels",
    "shmSize",
    "logDriver",
    "logOpts",
    "networkMode",
    "networksAdvanced",
    "pidMode",
    "usernsMode",
    "uploads",
    "sysctls",
    "ipcMode",
    "groupAdds",
    "tty",
    "stdinOpen",
    "storageOpts",
    "gpus",
    "cpus",
    "cgroupnsMode",
    "cgroupParent",
)

POSTGRESQL_SRC = "cyrilgdn/terraform-provider-postgresql postgresql/"

REPLACE_RULES: dict[str, ReplaceRules] = {
    rules.type_: rules
    for rules in (
        ReplaceRules(
            CONTAINER,
            DOCKER_SRC + "resource_docker_container.go (schema: ForceNew on everything but restart, memory*, cpu_shares/set/"
            "period/quota, healthcheck, destroy_grace_seconds, wait*, must_run, start, ...); resource_docker_container_funcs.go "
            "Update applies only restart, max_retry_count, cpu_shares, memory, memory_reservation, cpu_set, memory_swap",
            force_new=_CONTAINER_FORCE_NEW,
            computed=_fields(
                "exitCode",
                "containerLogs",
                "hostname",
                "command",
                "entrypoints",
                "securityOpts",
                "runtime",
                "platform",
                "stopSignal",
                "stopTimeout",
                "envs",
                "bridge",
                "networkDatas",
                "labels",
                "shmSize",
                "logDriver",
                "healthcheck",
                "ipcMode",
                "init",
            ),
            defaults={"networkMode": "bridge", "restart": "no", "start": True, "mustRun": True, "waitTimeout": 60, "removeVolumes": True},
            nested_defaults={
                "healthcheck": {"interval": "0s", "timeout": "0s", "startPeriod": "0s", "startInterval": "0s", "retries": 0},
                "ports": {"ip": "0.0.0.0", "protocol": "tcp"},
            },
            unordered=_fields("volumes", "uploads", "hosts", "labels", "networksAdvanced", "securityOpts", "envs", "mounts", "dns"),
        ),
        ReplaceRules(
            VOLUME,
            DOCKER_SRC + "resource_docker_volume.go (name, labels, driver, driver_opts: ForceNew)",
            force_new=_fields("name", "labels", "driver", "driverOpts"),
            computed=_fields("name", "driver", "mountpoint"),
            unordered=_fields("labels"),
        ),
        ReplaceRules(
            NETWORK,
            DOCKER_SRC + "resource_docker_network.go (every input ForceNew)",
            force_new=_fields(
                "name",
                "labels",
                "driver",
                "options",
                "internal",
                "attachable",
                "ingress",
                "ipv6",
                "ipamDriver",
                "ipamOptions",
                "ipamConfigs",
            ),
            computed=_fields("driver", "options", "internal", "scope", "ipamConfigs"),
            unordered=_fields("labels"),
        ),
        ReplaceRules(
            SERVICE,
            DOCKER_SRC + "resource_docker_service.go (name, auth, container_spec hosts/sysctl and networks_advanced.name: "
            "ForceNew; everything else updates the service in place, a rolling update)",
            force_new=_fields("name", "auth"),
            unordered=_fields("labels"),
        ),
        ReplaceRules(
            SECRET,
            DOCKER_SRC + "resource_docker_secret.go (name, data, labels: ForceNew; data is not read back)",
            force_new=_fields("name", "data", "labels"),
            unordered=_fields("labels"),
        ),
        ReplaceRules(
            SERVICE_CONFIG,
            DOCKER_SRC + "resource_docker_config.go (name, data, data_raw, labels: ForceNew)",
            force_new=_fields("name", "data", "dataRaw", "labels"),
            unordered=_fields("labels"),
        ),
        ReplaceRules(
            REMOTE_IMAGE,
            DOCKER_SRC + "resource_docker_image.go (name, pull_triggers, triggers, platform: ForceNew; keep_locally updates)",
            force_new=_fields("name", "pullTriggers", "triggers", "platform"),
            computed=_fields("imageId", "repoDigest"),
        ),
        ReplaceRules(
            IMAGE,
            "pulumi/pulumi-docker@v5.1.0 provider/provider.go (Diff: old inputs vs new, updates only: a rebuild)",
            computed=_fields("repoDigest", "baseImageName", "context", "dockerfile", "platform", "registryServer"),
            compares_inputs=True,
        ),
        ReplaceRules(
            CONSUL_SERVICE,
            CONSUL_SRC + "resource_consul_service.go (service_id, name, node, datacenter, namespace, partition: ForceNew; "
            "check.status Optional+Computed)",
            force_new=_fields("serviceId", "name", "node", "datacenter", "namespace", "partition"),
            computed=_fields("address", "serviceId", "datacenter"),
            nested_defaults={"checks": {"method": "GET", "tlsSkipVerify": False, "deregisterCriticalServiceAfter": "30s", "notes": ""}},
            nested_computed={"checks": _fields("status")},
            unordered=_fields("checks", "tags"),
        ),
        ReplaceRules(
            CONSUL_NODE,
            CONSUL_SRC + "resource_consul_node.go (address, datacenter, name, partition: ForceNew)",
            force_new=_fields("address", "datacenter", "name", "partition"),
            computed=_fields("datacenter"),
        ),
        ReplaceRules(
            ACL_POLICY,
            CONSUL_SRC + "resource_consul_acl_policy.go (namespace, partition: ForceNew; rules update in place)",
            force_new=_fields("namespace", "partition"),
            unordered=_fields("datacenters"),
        ),
        ReplaceRules(
            ACL_TOKEN,
            CONSUL_SRC + "resource_consul_acl_token.go (accessor_id, local, expiration_time, namespace, partition: ForceNew)",
            force_new=_fields("accessorId", "local", "expirationTime", "namespace", "partition"),
            computed=_fields("accessorId"),
            unordered=_fields("policies"),
        ),
        ReplaceRules(
            GRAFANA_DASHBOARD,
            GRAFANA_SRC + "resource_dashboard.go (config_json StateFunc NormalizeDashboardConfigJSON; CustomizeDiff: a new uid "
            "forces a new dashboard)",
            force_new=_fields("orgId"),
            computed=_fields("uid", "dashboardId", "version", "url"),
            state_funcs={"configJson": provider_state.grafana_dashboard_json},
            replace_when=_dashboard_uid_changed,
        ),
        ReplaceRules(
            GRAFANA_DATASOURCE,
            GRAFANA_SRC + "resource_data_source.go (uid ForceNew; json_data_encoded StateFunc NormalizeJsonString)",
            force_new=_fields("uid", "orgId"),
            computed=_fields("uid"),
            state_funcs={"jsonDataEncoded": provider_state.normalized_json},
        ),
        ReplaceRules(
            GRAFANA_FOLDER,
            GRAFANA_SRC + "resource_folder.go (uid ForceNew)",
            force_new=_fields("uid", "orgId"),
            computed=_fields("uid", "url", "folderId"),
        ),
        ReplaceRules(
            "postgresql:index/role:Role",
            POSTGRESQL_SRC + "resource_postgresql_role.go (no ForceNew: a changed name, password or membership is ALTER ROLE)",
            unordered=_fields("roles", "searchPaths"),
        ),
        ReplaceRules(
            "postgresql:index/grant:Grant",
            POSTGRESQL_SRC + "resource_postgresql_grant.go (role, database, schema, object_type, objects, columns,"
            " with_grant_option ForceNew; privileges a TypeSet, updated by revoke + grant)",
            force_new=_fields("role", "database", "schema", "objectType", "objects", "columns", "withGrantOption"),
            unordered=_fields("privileges", "objects", "columns"),
            defaults={"withGrantOption": False},
        ),
        *(
            ReplaceRules(
                f"random:index/{kind}:{kind[0].upper()}{kind[1:]}",
                RANDOM_SRC + f"resource_{source}.go (every attribute RequiresReplace)",
                computed=_fields("result", "bcryptHash", "hex", "base64", "upper", "lower", "numeric", "special"),
                every_input_replaces=True,
            )
            for kind, source in (
                ("randomPassword", "password"),
                ("randomBytes", "bytes"),
                ("randomString", "string"),
                ("randomUuid", "uuid"),
            )
        ),
        *(
            ReplaceRules(
                f"tls:index/{kind}:{kind[0].upper()}{kind[1:]}",
                TLS_SRC + f"resource_{source}.go (RequiresReplace on every input but early_renewal_hours)",
                computed=_fields("privateKeyPem", "privateKeyPemPkcs8", "publicKeyPem", "certPem", "certRequestPem", "earlyRenewalHours"),
                every_input_replaces=True,
                updatable=_fields("earlyRenewalHours"),
            )
            for kind, source in (
                ("privateKey", "private_key"),
                ("selfSignedCert", "self_signed_cert"),
                ("locallySignedCert", "locally_signed_cert"),
                ("certRequest", "cert_request"),
            )
        ),
    )
}


@dataclass(frozen=True)
class Deployed:
    """One resource as the engine's state holds it after an update."""

    type_: str
    name: str
    urn: str
    id_: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    provider: str
    retain_on_delete: bool


@dataclass(frozen=True)
class Deployment:
    """The stack's state: every custom resource by URN."""

    resources: dict[str, Deployed]

    def one(self, type_: str, name: str) -> Deployed:
        found = [deployed for deployed in self.resources.values() if deployed.type_ == type_ and deployed.name == name]
        if len(found) != 1:
            raise LookupError(f"expected one {type_} named {name!r}, found {len(found)}")
        return found[0]


@dataclass(frozen=True)
class Change:
    op: Op
    type_: str
    name: str
    urn: str
    keys: tuple[str, ...] = ()
    """The properties that differ (for update and replace)."""
    retained: bool = False
    """A delete that only forgets the resource (`retain_on_delete`): the volume and its data stay."""


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]

    @property
    def empty(self) -> bool:
        return not self.changes

    def names(self, op: Op, type_: str | None = None) -> set[str]:
        return {change.name for change in self.changes if change.op == op and (type_ is None or change.type_ == type_)}

    def summary(self) -> str:
        return "; ".join(f"{change.op} {change.name} ({', '.join(change.keys)})" for change in self.changes) or "no changes"


def _custom(registrations: Iterable[Registration]) -> Iterable[Registration]:
    return (registration for registration in registrations if registration.custom)


def _is_provider(type_: str) -> bool:
    return type_.startswith("pulumi:providers:")


def _rules(type_: str) -> ReplaceRules:
    rules = REPLACE_RULES.get(type_)
    if rules is None:
        raise KeyError(f"no replace/update rules for {type_}: add them, with their provider source, to REPLACE_RULES")
    return rules


def _zero(value: Any) -> bool:
    return value is None or value == "" or value == 0 or value is False or value == [] or value == {}


def _same(new: Any, old: Any, defaults: Mapping[str, Any] = {}, computed: frozenset[str] = _EMPTY, unordered: bool = False) -> bool:
    """SDK-style equality of an input and the state: absent nested values take their default (or are computed)."""
    if isinstance(new, dict) and isinstance(old, dict):
        for key in set(new) | set(old):
            if key not in new:
                if key in computed or _zero(old[key]) or (key in defaults and old[key] == defaults[key]):
                    continue
                return False
            if key not in old:
                if _zero(new[key]) or (key in defaults and new[key] == defaults[key]):
                    continue
                return False
            if not _same(new[key], old[key]):
                return False
        return True
    if isinstance(new, list) and isinstance(old, list):
        if len(new) != len(old):
            return False
        if not unordered:
            return all(_same(a, b, defaults, computed) for a, b in zip(new, old, strict=True))
        remaining = list(old)
        for item in new:
            match = next((index for index, candidate in enumerate(remaining) if _same(item, candidate, defaults, computed)), None)
            if match is None:
                return False
            remaining.pop(match)
        return True
    if isinstance(new, bool) or isinstance(old, bool):
        return new is old or (_zero(new) and _zero(old))
    if isinstance(new, int | float) and isinstance(old, int | float):
        return float(new) == float(old)
    return bool(new == old)


def changed_keys(type_: str, inputs: Mapping[str, Any], state: Mapping[str, Any], old_inputs: Mapping[str, Any]) -> list[str]:
    """The properties whose new input differs from what the provider holds."""
    if _is_provider(type_):
        return sorted(key for key in set(inputs) | set(old_inputs) if not _same(inputs.get(key), old_inputs.get(key)))
    rules = _rules(type_)
    base = old_inputs if rules.compares_inputs else state
    changed = []
    for key in sorted(set(inputs) | set(base)):
        if key in inputs:
            new = rules.state_funcs[key](inputs[key]) if key in rules.state_funcs else inputs[key]
            old = base.get(key, rules.defaults.get(key))
            same = _same(new, old, rules.nested_defaults.get(key, {}), rules.nested_computed.get(key, _EMPTY), key in rules.unordered)
            if not same:
                changed.append(key)
        elif not (key in rules.computed or _zero(base[key]) or rules.defaults.get(key, object()) == base[key]):
            changed.append(key)
    return changed


def _replaces(type_: str, keys: list[str], state: Mapping[str, Any], inputs: Mapping[str, Any]) -> bool:
    if _is_provider(type_):
        return False
    rules = _rules(type_)
    if rules.replace_when is not None and rules.replace_when(state, inputs):
        return True
    if rules.every_input_replaces:
        return any(key not in rules.updatable for key in keys)
    return any(key in rules.force_new for key in keys)


def _deployed(registration: Registration, id_: str | None = None) -> Deployed:
    inputs = reveal(registration.props)
    if _is_provider(registration.type):
        id_, state = id_ or f"{registration.name}-id", dict(inputs)
    else:
        id_ = id_ or provider_state.resource_id(registration.type, registration.name, inputs)
        state = provider_state.written_back(registration.type, registration.name, inputs, id_)
    return Deployed(
        type_=registration.type,
        name=registration.name,
        urn=registration.urn,
        id_=id_,
        inputs=inputs,
        state=state,
        provider=registration.provider,
        retain_on_delete=registration.retain_on_delete,
    )


def deploy(capture: Capture) -> Deployment:
    """The state after a first `pulumi up` of this run: every resource created, as its provider wrote it back."""
    return Deployment({registration.urn: _deployed(registration) for registration in _custom(capture.resources)})


def diff(previous: Deployment, capture: Capture) -> Plan:
    """What `pulumi up` of this run would do to the stack in `previous`, resource by resource."""
    changes: list[Change] = []
    current = {registration.urn: registration for registration in _custom(capture.resources)}
    replaced_providers: set[str] = set()
    for urn, registration in current.items():
        old = previous.resources.get(urn)
        if old is None:
            changes.append(Change("create", registration.type, registration.name, urn))
            continue
        inputs = reveal(registration.props)
        keys = changed_keys(registration.type, inputs, old.state, old.inputs)
        provider_moved = old.provider.split("::")[0] != registration.provider.split("::")[0] or any(
            registration.provider.startswith(provider + "::") for provider in replaced_providers
        )
        if provider_moved:
            keys.append("provider")
        if not keys:
            continue
        op: Op = "replace" if provider_moved or _replaces(registration.type, keys, old.state, inputs) else "update"
        if op == "replace" and _is_provider(registration.type):
            replaced_providers.add(urn)
        changes.append(Change(op, registration.type, registration.name, urn, tuple(keys)))
    for urn, old in previous.resources.items():
        if urn not in current:
            changes.append(Change("delete", old.type_, old.name, urn, retained=old.retain_on_delete))
    return Plan(tuple(changes))


def apply(previous: Deployment, capture: Capture, plan: Plan) -> Deployment:
    """The state after `pulumi up` carried the plan out (an update keeps the resource's id; a replacement gets a new one)."""
    by_urn = {change.urn: change for change in plan.changes}
    resources: dict[str, Deployed] = {}
    for registration in _custom(capture.resources):
        change = by_urn.get(registration.urn)
        old = previous.resources.get(registration.urn)
        if change is None and old is not None:
            resources[registration.urn] = old
        elif change is not None and change.op == "update" and old is not None:
            resources[registration.urn] = _deployed(registration, old.id_)
        elif change is not None and change.op == "replace" and old is not None:
            resources[registration.urn] = _deployed(registration, provider_state.digest("replacement of", old.id_))
        else:
            resources[registration.urn] = _deployed(registration)
    return Deployment(resources)


def refresh(deployment: Deployment) -> Deployment:
    """The state after `pulumi refresh` once the mesh has run: each provider's Read of the live resource."""
    return Deployment(
        {
            urn: Deployed(
                type_=deployed.type_,
                name=deployed.name,
                urn=deployed.urn,
                id_=deployed.id_,
                inputs=deployed.inputs,
                state=provider_state.refreshed(deployed.type_, deployed.name, deployed.state, deployed.id_),
                provider=deployed.provider,
                retain_on_delete=deployed.retain_on_delete,
            )
            for urn, deployed in deployment.resources.items()
        }
    )
