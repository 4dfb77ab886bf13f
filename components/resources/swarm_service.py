"""`SwarmService`: one catalog service as a Docker Swarm service, from its `SwarmServicePlan` and its wiring.

The wiring is the docker platform's (environment, uploaded files, command); here credentials become
`docker.Secret` files, the other uploaded files `docker.ServiceConfig`s named after a hash of their content
(a changed file is a new config, so a rolling update), volumes stay on the node that runs the task, and the
healthcheck, limits, reservations, restart, update and rollback policies come from the plan.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import pulumi
import pulumi_docker as docker

from components.catalog.services import Probe
from components.plan.swarm import (
    CONVERGE_DELAY_S,
    CONVERGE_TIMEOUT_S,
    FILE_MODE,
    RESTART_DELAY_S,
    RESTART_WINDOW_S,
    SecretEnv,
    SwarmServicePlan,
    UpdatePolicy,
    go_duration,
)
from components.resources.container import CONTAINER_PREFIX, EXCEPTION_LABEL, TMPFS_SIZE_MB, ContainerLabels, hardening_exceptions

GWBRIDGE_GATEWAY = "172.18.0.1"
"""`host-gateway` does not exist for swarm tasks: the default address of docker_gwbridge, the node's bridge on every node."""
_NAME_LIMIT = 64
"""Docker refuses longer secret and config names."""


@dataclass(frozen=True)
class SwarmServiceArgs:
    plan: SwarmServicePlan
    network_id: pulumi.Input[str]
    """The mesh overlay (by ID, the form the provider reads back)."""
    envs: Sequence[pulumi.Input[str]] = ()
    """The wiring's environment: plain `NAME=value` strings, and credentials as secret Outputs (they become files)."""
    uploads: Sequence[docker.ContainerUploadArgs] = ()
    image: pulumi.Input[str] | None = None
    command: Sequence[str] | None = None
    extra_hosts: Mapping[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def object_name(service: str, purpose: str, digest: str) -> str:
    """`sutazai-<service>-<purpose>-<hash>`: a new name whenever the content changes."""
    slug = re.sub(r"[^a-z0-9]+", "-", purpose.lower()).strip("-")
    head = f"{CONTAINER_PREFIX}-{service}-{slug}"
    return f"{head[: _NAME_LIMIT - len(digest) - 1]}-{digest}"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def healthcheck(probe: Probe) -> docker.ServiceTaskSpecContainerSpecHealthcheckArgs:
    return docker.ServiceTaskSpecContainerSpecHealthcheckArgs(
        tests=list(probe.test),
        interval=go_duration(probe.interval_s),
        timeout=go_duration(probe.timeout_s),
        retries=probe.retries,
        start_period=go_duration(probe.start_period_s),
    )


def _update(policy: UpdatePolicy) -> dict[str, object]:
    return {
        "parallelism": policy.parallelism,
        "delay": policy.delay,
        "failure_action": policy.failure_action,
        "monitor": policy.monitor,
        "max_failure_ratio": policy.max_failure_ratio,
        "order": policy.order,
    }


def _split_envs(envs: Sequence[pulumi.Input[str]]) -> tuple[dict[str, str], list[pulumi.Output[str]]]:
    plain: dict[str, str] = {}
    secret: list[pulumi.Output[str]] = []
    for entry in envs:
        if isinstance(entry, str):
            key, _, value = entry.partition("=")
            plain[key] = value
        else:
            secret.append(pulumi.Output.from_input(entry))
    return plain, secret


def credentials_by_name(service: str, entries: Sequence[str], declared: Sequence[SecretEnv]) -> dict[str, str]:
    """The credential variables (`NAME=value`) by name; one with no secret file would be lost, so it stops the program."""
    values = dict(entry.partition("=")[::2] for entry in entries)
    expected = {secret.env for secret in declared}
    if set(values) != expected:
        raise ValueError(
            f"{service}: credential variables {sorted(values)} but swarm secret files for {sorted(expected)} "
            "(components.plan.swarm.SECRET_ENVS)"
        )
    return values


def _secret_values(service: str, secrets: list[pulumi.Output[str]], declared: Sequence[SecretEnv]) -> pulumi.Output[dict[str, str]]:
    return pulumi.Output.all(*secrets).apply(lambda entries: credentials_by_name(service, entries, declared))


def declared_content(declared: SecretEnv) -> Callable[[dict[str, str]], str]:
    """The secret file's content, picked from the credential variables by name."""

    def pick(values: dict[str, str]) -> str:
        return declared.render(values[declared.env])

    return pick


TYPE_TOKEN = "service-mesh:swarm_service:SwarmService"
"""Part of the URN of every resource below it: changing it makes `pulumi up` replace them all."""


class SwarmService(pulumi.ComponentResource):
    service: docker.Service
    secrets: list[docker.Secret]
    configs: list[docker.ServiceConfig]

    def __init__(self, name: str, args: SwarmServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        plan, spec = args.plan, args.plan.service.spec
        child = pulumi.ResourceOptions(parent=self)
        labels = [docker.SecretLabelArgs(label="mesh.service", value=spec.name)]

        plain, secret_envs = _split_envs([f"{key}={value}" for key, value in spec.env] + list(args.envs))
        env = dict(plain)
        self.secrets = []
        self.configs = []
        secret_refs: list[docker.ServiceTaskSpecContainerSpecSecretArgs] = []
        config_refs: list[docker.ServiceTaskSpecContainerSpecConfigArgs] = []

        if plan.secret_envs or secret_envs:
            values = _secret_values(spec.name, secret_envs, plan.secret_envs)
            for declared in plan.secret_envs:
                content = values.apply(declared_content(declared))
                secret_refs.append(self._secret(f"{name}-{declared.env.lower()}", spec.name, declared.env, content, declared.path, labels))
                if declared.file_env is not None:
                    env[declared.file_env] = declared.path

        for upload in args.uploads:
            path, text = upload.file, upload.content
            if not isinstance(path, str):
                raise TypeError(f"{spec.name}: an uploaded file's path must be known when the program runs")
            if isinstance(text, str):
                config = docker.ServiceConfig(
                    f"{name}-config-{content_hash(path)[:6]}",
                    name=object_name(spec.name, path, content_hash(text)),
                    data=_b64(text),
                    labels=[docker.ServiceConfigLabelArgs(label="mesh.service", value=spec.name)],
                    opts=child,
                )
                self.configs.append(config)
                config_refs.append(
                    docker.ServiceTaskSpecContainerSpecConfigArgs(
                        config_id=config.id, config_name=config.name, file_name=path, file_mode=FILE_MODE
                    )
                )
            elif text is not None:
                # an Output here carries credentials (kong.yml, Consul's config, redis.conf...): a secret, never a config
                secret_refs.append(
                    self._secret(
                        f"{name}-file-{content_hash(path)[:6]}",
                        spec.name,
                        path,
                        pulumi.Output.from_input(cast("pulumi.Input[str]", text)),
                        path,
                        labels,
                    )
                )

        volume_mounts = [
            docker.ServiceTaskSpecContainerSpecMountArgs(
                type="volume", source=f"{CONTAINER_PREFIX}-{spec.name}-{volume.name}", target=volume.container_path
            )
            for volume in spec.volumes
        ]
        host_mounts = [
            docker.ServiceTaskSpecContainerSpecMountArgs(type="bind", source=mount.host_path, target=mount.container_path, read_only=True)
            for mount in spec.host_mounts
        ]
        # the catalog's hardening, as the swarm API 1.41 ContainerSpec takes it: CapabilityAdd/Drop, ReadOnly, User
        # (no Privileges.NoNewPrivileges in 1.41: moby v20.10.27 api/swagger.yaml). terraform-provider-docker v4.5.0
        # resource_docker_service_structures.go reads cap_add/cap_drop back only when set, read_only only when true,
        # a tmpfs mode as Mode.Perm() (left unset: the kernel's 1777 for /tmp)
        hardening = spec.hardening
        exceptions = hardening_exceptions(hardening, spec.user)
        keeps_default_capabilities = hardening.default_capabilities_reason is not None
        read_only = hardening.writable_root_reason is None
        tmpfs_mounts = [
            docker.ServiceTaskSpecContainerSpecMountArgs(
                type="tmpfs",
                target=path,
                tmpfs_options=docker.ServiceTaskSpecContainerSpecMountTmpfsOptionsArgs(size_bytes=TMPFS_SIZE_MB * 1024 * 1024),
            )
            for path in (hardening.writable_paths if read_only else ())
        ]
        container_labels = (
            ContainerLabels(
                service=spec.name, instance=spec.name, category=spec.category, kind=spec.kind, probe_tool=plan.probe.tool
            ).as_dict()
            | {"mesh.scheduling": plan.scheduling}
            | {EXCEPTION_LABEL + kind: reason for kind, reason in exceptions.items()}
        )
        command = list(spec.command if args.command is None else args.command)
        image = args.image if args.image is not None else spec.image
        replicated = plan.replicas is not None

        self.service = docker.Service(
            name,
            # the service name is the DNS name every other part of the mesh uses (`dnsrr`: it resolves to each task)
            name=spec.name,
            labels=[docker.ServiceLabelArgs(label=key, value=value) for key, value in container_labels.items()],
            task_spec=docker.ServiceTaskSpecArgs(
                container_spec=docker.ServiceTaskSpecContainerSpecArgs(
                    image=image,
                    args=command or None,
                    env=env or None,
                    user=spec.user,
                    cap_drops=None if keeps_default_capabilities else ["ALL"],
                    cap_adds=None if keeps_default_capabilities else (sorted(hardening.capabilities) or None),
                    read_only=True if read_only else None,
                    hostname=plan.hostname,
                    healthcheck=healthcheck(plan.probe),
                    labels=[
                        docker.ServiceTaskSpecContainerSpecLabelArgs(label=key, value=value) for key, value in container_labels.items()
                    ],
                    mounts=(volume_mounts + host_mounts + tmpfs_mounts) or None,
                    secrets=secret_refs or None,
                    configs=config_refs or None,
                    hosts=[
                        docker.ServiceTaskSpecContainerSpecHostArgs(host=host, ip=GWBRIDGE_GATEWAY if ip == "host-gateway" else ip)
                        for host, ip in args.extra_hosts.items()
                    ]
                    or None,
                ),
                networks_advanceds=[docker.ServiceTaskSpecNetworksAdvancedArgs(id=args.network_id)],
                placement=docker.ServiceTaskSpecPlacementArgs(
                    constraints=list(plan.placement.constraints) or None,
                    prefs=list(plan.placement.prefs) or None,
                    max_replicas=plan.placement.max_replicas or None,
                ),
                resources=docker.ServiceTaskSpecResourcesArgs(
                    # no CPU limit in the catalog (Ollama): the task takes what its node has, and reserves none
                    limits=docker.ServiceTaskSpecResourcesLimitsArgs(
                        memory_bytes=spec.memory_mb * 1024 * 1024, nano_cpus=None if spec.cpus is None else round(spec.cpus * 1_000_000_000)
                    ),
                    # what the scheduler sets aside on a node: a quarter of the memory limit, a tenth of the CPUs
                    reservation=docker.ServiceTaskSpecResourcesReservationArgs(
                        memory_bytes=spec.memory_mb * 1024 * 1024 // 4,
                        nano_cpus=None if spec.cpus is None else round(spec.cpus * 100_000_000),
                    ),
                ),
                restart_policy=docker.ServiceTaskSpecRestartPolicyArgs(
                    condition="any", delay=go_duration(RESTART_DELAY_S), window=go_duration(RESTART_WINDOW_S)
                ),
            ),
            mode=(
                docker.ServiceModeArgs(replicated=docker.ServiceModeReplicatedArgs(replicas=plan.replicas))
                if replicated
                else docker.ServiceModeArgs(global_=True)
            ),
            endpoint_spec=docker.ServiceEndpointSpecArgs(
                # no virtual IP: the swarm's VIPs need IPVS; clients and Kong balance over the tasks' addresses
                mode="dnsrr",
                ports=[
                    docker.ServiceEndpointSpecPortArgs(
                        name=port.name, protocol="tcp", target_port=port.internal, published_port=port.published, publish_mode="host"
                    )
                    for port in plan.ports
                ]
                or None,
            ),
            update_config=docker.ServiceUpdateConfigArgs(**_update(plan.update)),  # type: ignore[arg-type]
            rollback_config=docker.ServiceRollbackConfigArgs(**_update(plan.rollback)),  # type: ignore[arg-type]
            # like `wait=True` for containers: `up` returns once every task runs healthy (global services cannot converge)
            converge_config=(
                docker.ServiceConvergeConfigArgs(delay=go_duration(CONVERGE_DELAY_S), timeout=go_duration(CONVERGE_TIMEOUT_S))
                if replicated
                else None
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.register_outputs({"service": self.service.name})

    def _secret(
        self,
        resource_name: str,
        service: str,
        purpose: str,
        content: pulumi.Output[str],
        path: pulumi.Input[str],
        labels: list[docker.SecretLabelArgs],
    ) -> docker.ServiceTaskSpecContainerSpecSecretArgs:
        # the hash of the content names the secret (a rotated credential rolls the tasks); it reveals nothing of it
        digest = pulumi.Output.unsecret(content.apply(content_hash))
        encoded: pulumi.Output[str] = pulumi.Output.secret(content.apply(_b64))
        secret = docker.Secret(
            resource_name,
            name=digest.apply(lambda found: object_name(service, purpose, found)),
            data=encoded,
            labels=labels,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.secrets.append(secret)
        return docker.ServiceTaskSpecContainerSpecSecretArgs(
            secret_id=secret.id, secret_name=secret.name, file_name=path, file_mode=FILE_MODE
        )
