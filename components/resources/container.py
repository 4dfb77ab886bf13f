"""The one way this stack creates a container: hardened, health-checked, limited, labelled, replaced in place.

`MeshService`, `McpOrchestrator` and `McpServer` all call `mesh_container`, so the restart policy, limits,
`no-new-privileges`, healthcheck, `wait`, network aliases, label schema and replacement order are written
once. What differs per caller (command, env, ports, volumes, uploads, privileges) is passed through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_docker as docker

from components.catalog.canonical import docker_cpus, go_duration
from components.catalog.services import Hardening, Probe

CONTAINER_PREFIX = "sutazai"
"""Legacy prefix of every container, volume and the mesh network; renaming it would orphan retained volumes."""
HEALTH_WAIT_TIMEOUT_S = 300
TMPFS_SIZE_MB = 64
TMPFS_OPTIONS = f"rw,noexec,nosuid,size={TMPFS_SIZE_MB}m"
"""Each writable path on a read-only root: small, and nothing written there can be executed."""
MASK_OPTIONS = "ro,noexec,nosuid,nodev,size=4k"
"""A masked path: an empty tmpfs nothing can write to, over what a host mount would show there."""
EXCEPTION_LABEL = "mesh.exception."
"""`mesh.exception.<capabilities|writable-root|root>` = the catalog's reason; the policy pack reads it."""


def hardening_exceptions(hardening: Hardening, user: str | None) -> dict[str, str]:
    """`capabilities` / `writable-root` / `root` -> the catalog's reason, for each exception this service has
    (the `mesh.exception.*` labels of its containers or swarm service; the policy pack reads them)."""
    exceptions: dict[str, str] = {}
    if hardening.default_capabilities_reason is not None:
        exceptions["capabilities"] = hardening.default_capabilities_reason
    elif hardening.capabilities:
        exceptions["capabilities"] = f"{', '.join(sorted(hardening.capabilities))}: {hardening.capabilities_reason}"
    if hardening.writable_root_reason is not None:
        exceptions["writable-root"] = hardening.writable_root_reason
    if user is None or user.split(":", 1)[0] in ("root", "0"):
        exceptions["root"] = hardening.root_reason or "no reason recorded"
    return exceptions


def hardening_inputs(hardening: Hardening, user: str | None) -> dict[str, Any]:
    """Capabilities, read-only root, tmpfs and exception labels in pulumi-docker's (and the daemon's read-back) form."""
    inputs: dict[str, Any] = {}
    if hardening.default_capabilities_reason is None:
        # the daemon reads capabilities back as CAP_ names, "ALL" as is (moby client/container_create.go normalizeCap)
        adds = sorted(hardening.capabilities)
        inputs["capabilities"] = docker.ContainerCapabilitiesArgs(drops=["ALL"], adds=adds or None)
    tmpfs = {path: MASK_OPTIONS for path in hardening.masked_paths}
    if hardening.writable_root_reason is None:
        inputs["read_only"] = True
        tmpfs |= {path: TMPFS_OPTIONS for path in hardening.writable_paths}
    inputs["tmpfs"] = tmpfs or None
    inputs["exception_labels"] = [
        docker.ContainerLabelArgs(label=EXCEPTION_LABEL + key, value=why) for key, why in hardening_exceptions(hardening, user).items()
    ]
    return inputs


def container_name(instance: str) -> str:
    return f"{CONTAINER_PREFIX}-{instance}"


@dataclass(frozen=True)
class ContainerLabels:
    """The label schema every container carries; telemetry, the policy pack and the tests read it."""

    service: str
    instance: str
    category: str
    kind: str
    probe_tool: str
    replica: int | None = None
    extra: Mapping[str, str] | None = None

    def as_dict(self) -> dict[str, str]:
        labels = {"mesh.service": self.service, "mesh.instance": self.instance}
        if self.replica is not None:
            labels["mesh.replica"] = str(self.replica)
        labels |= {"mesh.category": self.category, "mesh.kind": self.kind, "mesh.probe-tool": self.probe_tool}
        return labels | dict(self.extra or {})

    def args(self) -> list[docker.ContainerLabelArgs]:
        return [docker.ContainerLabelArgs(label=key, value=value) for key, value in self.as_dict().items()]


def healthcheck(probe: Probe) -> docker.ContainerHealthcheckArgs:
    # durations as the provider reads them back (Go's Duration.String(): 60 -> "1m0s"), or every refresh shows an update
    return docker.ContainerHealthcheckArgs(
        tests=list(probe.test),
        interval=go_duration(probe.interval_s),
        timeout=go_duration(probe.timeout_s),
        retries=probe.retries,
        start_period=go_duration(probe.start_period_s),
    )


def mesh_container(
    resource_name: str,
    *,
    instance: str,
    image: pulumi.Input[str],
    probe: Probe,
    labels: ContainerLabels,
    memory_mb: int,
    cpus: float | None,
    network_name: pulumi.Input[str],
    aliases: Sequence[str],
    opts: pulumi.ResourceOptions,
    extra_networks: Sequence[pulumi.Input[str]] = (),
    wait_timeout_s: int = HEALTH_WAIT_TIMEOUT_S,
    privileged: bool = False,
    hardening: Hardening | None = None,
    user: str | None = None,
    hostname: str | None = None,
    stop_signal: str | None = None,
    stop_grace_s: int = 0,
    **passed: Any,
) -> docker.Container:
    """A container named `sutazai-<instance>`; `passed` holds the caller's own inputs (command, envs, ports...).

    Unless privileged (judged by the policy pack's allow-list), it drops every capability but the catalog's,
    runs on a read-only root and as its user, or carries the catalog's reason for each exception as a label.
    `hostname` fixes what Docker would otherwise set to the container id (so a replacement keeps the identity data is
    stored under); `stop_signal` and `stop_grace_s` let a replacement or `destroy` stop it cleanly: without
    `destroy_grace_seconds` pulumi-docker stops with a zero timeout, i.e. kills it (terraform-provider-docker v4.5.0
    internal/provider/resource_docker_container_funcs.go, resourceDockerContainerDelete).
    """
    hardened = {} if privileged else hardening_inputs(hardening or Hardening(), user)
    exception_labels = hardened.pop("exception_labels", [])
    return docker.Container(
        resource_name,
        name=container_name(instance),
        hostname=hostname,
        image=image,
        restart="unless-stopped",
        memory=memory_mb,
        # Docker's own default (twice the memory), stated: the provider reads it back and would otherwise remove it
        memory_swap=2 * memory_mb,
        # in the form the provider reads back ("1.0", not "1"): cpus forces a replacement when the text differs
        cpus=None if cpus is None else docker_cpus(cpus),
        privileged=privileged or None,
        # a privileged container can regain anything: the option would only pretend
        security_opts=None if privileged else ["no-new-privileges:true"],
        healthcheck=healthcheck(probe),
        wait=True,
        wait_timeout=wait_timeout_s,
        networks_advanced=[
            docker.ContainerNetworksAdvancedArgs(name=network, aliases=list(aliases)) for network in (network_name, *extra_networks)
        ],
        labels=labels.args() + exception_labels,
        user=user,
        stop_signal=stop_signal,
        # a daemon restart (`docker stop`) grants the same time as a replacement
        stop_timeout=stop_grace_s or None,
        destroy_grace_seconds=stop_grace_s or None,
        # fixed names and host ports: the old container must go before the new one starts
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(delete_before_replace=True)),
        **hardened,
        **passed,
    )
