"""`McpServer`: one MCP server of the catalog as a container in the orchestrator's inner daemon.

Everything here goes through the nested provider: the image is pulled by the inner daemon, state lives
on an inner volume, the container joins `mcp-network` and the inner daemon publishes the server's port
(and its probe's HTTP face) on the orchestrator, where the mesh reaches them by the orchestrator's alias.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.catalog.mcp_servers import PROBE_PATH, McpServerSpec, container_command, health_test
from components.catalog.services import Probe
from components.render.mcp_probe import PROBE_SCRIPT
from components.resources.container import CONTAINER_PREFIX, ContainerLabels, mesh_container

# npm installs the pinned packages when the container starts: give it time before failures count
INNER_WAIT_TIMEOUT_S = 600


@dataclass(frozen=True)
class McpServerArgs:
    server: McpServerSpec
    provider: pulumi.ProviderResource
    """The nested provider of the orchestrator's inner daemon."""
    network_name: pulumi.Input[str]
    """The inner `mcp-network`."""


TYPE_TOKEN = "service-mesh:mcp_server:McpServer"
"""Part of the URN of every resource below it: changing it makes `pulumi up` replace them all."""


class McpServer(pulumi.ComponentResource):
    container: docker.Container
    volumes: list[docker.Volume]

    def __init__(self, name: str, args: McpServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        server = args.server
        inner = pulumi.ResourceOptions(parent=self, provider=args.provider)

        image = docker.RemoteImage(f"{name}-image", name=server.image, keep_locally=True, opts=inner)
        self.volumes = []
        volume_args = []
        if server.data_path is not None:
            volume = docker.Volume(
                f"{name}-data",
                name=f"{CONTAINER_PREFIX}-{server.service}-data",
                labels=[docker.VolumeLabelArgs(label="mesh.service", value=server.service)],
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider, retain_on_delete=True),
            )
            self.volumes.append(volume)
            volume_args.append(docker.ContainerVolumeArgs(volume_name=volume.name, container_path=server.data_path))

        self.container = mesh_container(
            server.service,
            instance=server.service,
            image=image.image_id,
            probe=Probe(test=tuple(health_test(server)), tool="node", interval_s=30, timeout_s=20, retries=5, start_period_s=180),
            labels=ContainerLabels(
                service=server.service,
                instance=server.service,
                category="mcp",
                kind="mcp",
                probe_tool="node",
                extra={"mesh.mcp.package": server.package, "mesh.mcp.transport": server.transport},
            ),
            memory_mb=server.memory_mb,
            cpus=server.cpus,
            network_name=args.network_name,
            aliases=[server.service],
            wait_timeout_s=INNER_WAIT_TIMEOUT_S,
            hostname=server.service,
            # supergateway and node exit at once on SIGTERM; the memory server writes its file on every change
            stop_signal="SIGTERM",
            stop_grace_s=10,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
            command=list(container_command(server)),
            envs=[f"{key}={value}" for key, value in server.env] or None,
            # published on every interface of the orchestrator: its host ports and its mesh alias lead here
            ports=[
                docker.ContainerPortArgs(internal=server.port, external=server.port, protocol="tcp"),
                docker.ContainerPortArgs(internal=server.health_port, external=server.health_port, protocol="tcp"),
            ],
            volumes=volume_args or None,
            uploads=[docker.ContainerUploadArgs(file=PROBE_PATH, content=PROBE_SCRIPT, permissions="0644")],
        )
        self.register_outputs({"container": self.container.name, "package": server.package})
