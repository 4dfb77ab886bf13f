"""`MeshService`: one catalog service as containers on the mesh network.

Image, named data volumes (retained), healthcheck, `wait=True`, limits, restart policy,
`no-new-privileges`, labels and ports bound to the bind address, the same way for every service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from components.plan.services import DeployedService
from components.resources.container import CONTAINER_PREFIX, ContainerLabels, mesh_container


@dataclass(frozen=True)
class MeshServiceArgs:
    service: DeployedService
    """The catalog entry with this stack's overrides applied."""
    network_name: pulumi.Input[str]
    """The network every instance joins (the mesh network; the Docker API network for the socket proxy)."""
    bind_address: str
    """Host address every published port binds to."""
    port_bind_addresses: Mapping[int, str] = field(default_factory=dict)
    """Per internal port, a bind address other than `bind_address` (only the Kong proxy)."""
    envs: Sequence[pulumi.Input[str]] = ()
    """Environment beyond the catalog's static `env` (credentials arrive here, as secrets)."""
    uploads: Sequence[docker.ContainerUploadArgs] = ()
    """Rendered config files placed in the container before it starts."""
    image: pulumi.Input[str] | None = None
    """An image built by the stack; otherwise the catalog image is pulled."""
    depends_on: Sequence[pulumi.Resource] = ()
    """Resources the containers need besides their inputs (services they cannot start without)."""
    extra_hosts: Mapping[str, str] = field(default_factory=dict)
    """Extra /etc/hosts entries, name -> IP (or Docker's `host-gateway`)."""
    command: Sequence[str] | None = None
    """Replaces the catalog's command (flags that come from config)."""
    extra_network_names: Sequence[pulumi.Input[str]] = ()
    """Networks joined besides `network_name`, under the same aliases (the socket proxy's clients)."""


TYPE_TOKEN = "service-mesh:service:MeshService"
"""Part of the URN of every resource below it: changing it makes `pulumi up` replace them all."""


class MeshService(pulumi.ComponentResource):
    containers: list[docker.Container]
    volumes: list[docker.Volume]
    image_id: pulumi.Output[str]

    def __init__(self, name: str, args: MeshServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        service, spec = args.service, args.service.spec
        child = pulumi.ResourceOptions(parent=self)

        if args.image is None:
            pulled = docker.RemoteImage(f"{name}-image", name=spec.image, keep_locally=True, opts=child)
            self.image_id = pulled.image_id
        else:
            self.image_id = pulumi.Output.from_input(args.image)

        # data outlives the container: a replaced or deleted container never takes its volume along
        self.volumes = [
            docker.Volume(
                f"{name}-{volume.name}",
                name=f"{CONTAINER_PREFIX}-{spec.name}-{volume.name}",
                labels=[docker.VolumeLabelArgs(label="mesh.service", value=spec.name)],
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            for volume in spec.volumes
        ]
        volume_args = [
            docker.ContainerVolumeArgs(volume_name=volume.name, container_path=declared.container_path)
            for volume, declared in zip(self.volumes, spec.volumes, strict=True)
        ] + [
            docker.ContainerVolumeArgs(host_path=mount.host_path, container_path=mount.container_path, read_only=True)
            for mount in spec.host_mounts
        ]

        envs: list[pulumi.Input[str]] = [f"{key}={value}" for key, value in spec.env] + list(args.envs)

        self.containers = []
        for replica, instance in enumerate(service.instance_names(), start=1):
            # only the first replica publishes host ports; the others are reached through the mesh
            ports = (
                [
                    docker.ContainerPortArgs(
                        internal=port.internal,
                        external=port.host,
                        ip=args.port_bind_addresses.get(port.internal, args.bind_address),
                        protocol="tcp",
                    )
                    for port in spec.published_ports
                ]
                if replica == 1
                else []
            )
            self.containers.append(
                mesh_container(
                    instance,
                    instance=instance,
                    image=self.image_id,
                    probe=spec.probe,
                    labels=ContainerLabels(
                        service=spec.name,
                        instance=instance,
                        replica=replica,
                        category=spec.category,
                        kind=spec.kind,
                        probe_tool=spec.probe.tool,
                    ),
                    memory_mb=spec.memory_mb,
                    cpus=spec.cpus,
                    network_name=args.network_name,
                    extra_networks=args.extra_network_names,
                    aliases=[spec.name, f"{spec.name}-{replica}"],
                    privileged=spec.privileged,
                    hardening=spec.hardening,
                    hostname=spec.hostname,
                    stop_signal=spec.stop_signal,
                    stop_grace_s=spec.stop_grace_s,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
                    command=list(spec.command if args.command is None else args.command) or None,
                    envs=envs or None,
                    user=spec.user,
                    ports=ports or None,
                    hosts=[docker.ContainerHostArgs(host=host, ip=ip) for host, ip in args.extra_hosts.items()] or None,
                    volumes=volume_args or None,
                    uploads=list(args.uploads) or None,
                )
            )
        self.register_outputs({"image_id": self.image_id, "containers": [c.name for c in self.containers]})
