"""Replay the program's own swarm registrations on a real swarm, through the Engine API.

The capture holds what the program registers (`docker.Network`, `docker.Secret`, `docker.ServiceConfig`,
`docker.Service`, in the provider's input form); this module builds from it the Engine API requests that
terraform-provider-docker's `createServiceSpec` builds (resource_docker_service_structures.go): durations
parsed with Go's rules, file modes, placement, update and rollback configs, `dnsrr`, host-mode ports. What the
replay changes, and why, is explicit in `ReplayChanges`: images (no registry here), the command (a stand-in
answers on the service's ports) and, for Consul only, the probe (no Consul binary can be had here). The hardening
(`CapabilityDrop`/`CapabilityAdd`, `ReadOnly`, tmpfs mounts) is replayed as captured; the captured `User` is not:
the stand-in image has none of the images' users (postgres, kong, 10001...), and its server runs as root.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

import docker

from components.catalog.services import CATALOG
from components.offline.synth import Capture, Registration
from components.offline.types import NETWORK, SECRET, SERVICE, SERVICE_CONFIG

_UNITS = {"h": 3600 * 10**9, "m": 60 * 10**9, "s": 10**9, "ms": 10**6}


def nanoseconds(duration: str) -> int:
    """A Go duration string (`1m30s`) in nanoseconds, as `time.ParseDuration` reads it."""
    parts = re.findall(r"(\d+)(ms|h|m|s)", duration)
    if "".join(number + unit for number, unit in parts) != duration:
        raise ValueError(f"{duration!r} is not a duration")
    return sum(int(number) * _UNITS[unit] for number, unit in parts)


@dataclass(frozen=True)
class ReplayChanges:
    """What the replay sets instead of the capture, per service, and nothing else."""

    image: str
    """The stand-in image (tagged with the service's own image name on every node)."""
    command: tuple[str, ...]
    """The stand-in server on the service's catalog ports."""
    probe: tuple[str, ...] | None = None
    """Only where the image's real server is needed for the probe (Consul's leader check)."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment (how a test makes a new task fail: STANDIN_FAIL=1)."""


def standin_command(service: str) -> tuple[str, ...]:
    return ("python3", "/usr/local/bin/standin_server.py", *(str(port.internal) for port in CATALOG[service].ports))


def _mount(captured: dict[str, Any]) -> dict[str, Any]:
    """createServiceSpec's mount: a tmpfs has no source, and its size (and mode, when set) in TmpfsOptions."""
    mount: dict[str, Any] = {"Type": captured["type"], "Target": captured["target"], "ReadOnly": bool(captured.get("readOnly"))}
    if captured["type"] == "tmpfs":
        options = captured.get("tmpfsOptions") or {}
        mount["TmpfsOptions"] = {key: options[field] for key, field in (("SizeBytes", "sizeBytes"), ("Mode", "mode")) if field in options}
    else:
        mount["Source"] = captured.get("source")
    return mount


@dataclass
class Replay:
    """The capture's swarm objects created on a swarm manager; captured IDs mapped to the real ones."""

    capture: Capture
    api: docker.APIClient
    ids: dict[str, str] = field(default_factory=dict)

    def registration(self, type_: str, captured_id: str) -> Registration:
        return next(r for r in self.capture.all(type_) if f"{r.name}-id" == captured_id)

    def network(self, registration_name: str, *, name: str | None = None, subnet: str | None = None) -> str:
        """The captured network; `name` and `subnet` set another name and subnet beside the mesh's own overlay."""
        plain = self.capture.one(NETWORK, registration_name).plain
        if name is not None:
            plain = {**plain, "name": name, "ipamConfigs": [{"subnet": subnet}]}
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=c["subnet"]) for c in plain.get("ipamConfigs") or []])
        created = self.api.create_network(
            plain["name"],
            driver=plain["driver"],
            attachable=plain.get("attachable", False),
            options=plain.get("options"),
            ipam=ipam,
            labels={label["label"]: label["value"] for label in plain.get("labels") or []},
        )
        network_id: str = created["Id"]
        self.ids[f"{registration_name}-id"] = network_id
        return network_id

    def _secret(self, captured_id: str) -> str:
        if captured_id not in self.ids:
            plain = self.registration(SECRET, captured_id).plain
            data = base64.b64decode(plain["data"])
            labels = {label["label"]: label["value"] for label in plain.get("labels") or []}
            self.ids[captured_id] = self.api.create_secret(plain["name"], data, labels=labels)["ID"]
        return self.ids[captured_id]

    def _config(self, captured_id: str) -> str:
        if captured_id not in self.ids:
            plain = self.registration(SERVICE_CONFIG, captured_id).plain
            data = base64.b64decode(plain["data"])
            labels = {label["label"]: label["value"] for label in plain.get("labels") or []}
            self.ids[captured_id] = self.api.create_config(plain["name"], data, labels=labels)["ID"]
        return self.ids[captured_id]

    def spec(self, service: str, changes: ReplayChanges) -> dict[str, Any]:
        """The Engine API ServiceSpec of the captured service, with only `changes` replaced."""
        plain = self.capture.one(SERVICE, service).plain
        task = plain["taskSpec"]
        container = task["containerSpec"]
        health = container["healthcheck"]
        env = {**(container.get("env") or {}), **changes.env}
        container_spec: dict[str, Any] = {
            "Image": changes.image,
            "Args": list(changes.command),
            "Env": [f"{key}={value}" for key, value in env.items()],
            "Labels": {label["label"]: label["value"] for label in container.get("labels") or []},
            "Healthcheck": {
                "Test": list(changes.probe or health["tests"]),
                "Interval": nanoseconds(health["interval"]),
                "Timeout": nanoseconds(health["timeout"]),
                "Retries": health["retries"],
                "StartPeriod": nanoseconds(health["startPeriod"]),
            },
            "Mounts": [_mount(m) for m in container.get("mounts") or []],
            "CapabilityDrop": container.get("capDrops") or [],
            "CapabilityAdd": container.get("capAdds") or [],
            "ReadOnly": bool(container.get("readOnly")),
            "Secrets": [
                {
                    "File": {"Name": ref["fileName"], "UID": "0", "GID": "0", "Mode": ref["fileMode"]},
                    "SecretID": self._secret(ref["secretId"]),
                    "SecretName": ref["secretName"],
                }
                for ref in container.get("secrets") or []
            ],
            "Configs": [
                {
                    "File": {"Name": ref["fileName"], "UID": "0", "GID": "0", "Mode": ref["fileMode"]},
                    "ConfigID": self._config(ref["configId"]),
                    "ConfigName": ref["configName"],
                }
                for ref in container.get("configs") or []
            ],
        }
        if container.get("hostname"):
            container_spec["Hostname"] = container["hostname"]
        placement = task.get("placement") or {}
        resources = task["resources"]
        restart = task["restartPolicy"]
        mode = plain["mode"]
        spec: dict[str, Any] = {
            "Name": plain["name"],
            "Labels": {label["label"]: label["value"] for label in plain.get("labels") or []},
            "TaskTemplate": {
                "ContainerSpec": container_spec,
                "Networks": [{"Target": self.ids[n["id"]]} for n in task["networksAdvanceds"]],
                "Placement": {
                    "Constraints": placement.get("constraints") or [],
                    "Preferences": [{"Spread": {"SpreadDescriptor": pref}} for pref in placement.get("prefs") or []],
                    "MaxReplicas": placement.get("maxReplicas", 0),
                },
                "Resources": {
                    "Limits": {"MemoryBytes": resources["limits"]["memoryBytes"], "NanoCPUs": resources["limits"]["nanoCpus"]},
                    "Reservations": {
                        "MemoryBytes": resources["reservation"]["memoryBytes"],
                        "NanoCPUs": resources["reservation"]["nanoCpus"],
                    },
                },
                "RestartPolicy": {
                    "Condition": restart["condition"],
                    "Delay": nanoseconds(restart["delay"]),
                    "Window": nanoseconds(restart["window"]),
                },
            },
            "Mode": {"Global": {}} if mode.get("global") else {"Replicated": {"Replicas": mode["replicated"]["replicas"]}},
            "UpdateConfig": _update(plain["updateConfig"]),
            "RollbackConfig": _update(plain["rollbackConfig"]),
            "EndpointSpec": {
                "Mode": plain["endpointSpec"]["mode"],
                "Ports": [
                    {
                        "Name": port.get("name", ""),
                        "Protocol": port["protocol"],
                        "TargetPort": port["targetPort"],
                        "PublishedPort": port["publishedPort"],
                        "PublishMode": port["publishMode"],
                    }
                    for port in plain["endpointSpec"].get("ports") or []
                ],
            },
        }
        converted: dict[str, Any] = _integers(spec)
        return converted

    def create(self, service: str, changes: ReplayChanges) -> str:
        response = self.api._post_json(self.api._url("/services/create"), data=self.spec(service, changes))
        created: dict[str, Any] = self.api._result(response, True)
        return str(created["ID"])

    def update(self, service: str, changes: ReplayChanges, *, force: bool = False) -> None:
        """A new version of the service spec (what `pulumi up` sends after a change); `force` replaces the tasks anyway."""
        current = self.api.inspect_service(service)
        spec = self.spec(service, changes)
        if force:
            spec["TaskTemplate"]["ForceUpdate"] = current["Spec"]["TaskTemplate"].get("ForceUpdate", 0) + 1
        url = self.api._url("/services/{0}/update", current["ID"])
        response = self.api._post_json(url, data=spec, params={"version": current["Version"]["Index"]})
        self.api._result(response, True)


def _update(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "Parallelism": config["parallelism"],
        "Delay": nanoseconds(config["delay"]),
        "FailureAction": config["failureAction"],
        "Monitor": nanoseconds(config["monitor"]),
        "MaxFailureRatio": float(config["maxFailureRatio"]),
        "Order": config["order"],
    }


def _integers(value: Any) -> Any:
    """Captured numbers arrive as floats (the RPC's Struct); the Engine API wants integers, except ratios."""
    if isinstance(value, dict):
        return {key: item if key == "MaxFailureRatio" else _integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integers(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
