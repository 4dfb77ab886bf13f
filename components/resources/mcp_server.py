"""`McpServer`: one MCP server of the catalog as a container in the orchestrator's inner daemon.

Everything here goes through the nested provider: the inner daemon builds the server's image from its
committed lockfile (`mcp/servers/<name>/`), state lives on an inner volume, the container joins `mcp-network`
and the inner daemon publishes the server's port (and its probe's HTTP face) on the orchestrator, where the
mesh reaches them by the orchestrator's alias.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.catalog.mcp_servers import MCP_HARDENING, McpServerSpec, container_command, health_test
from components.catalog.services import Probe
from components.plan.mcp_images import McpImageBuild
from components.resources.container import CONTAINER_PREFIX, ContainerLabels, mesh_container

_DOCKER_ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def docker_platform(machine: str) -> str:
    """Docker's name for this machine's platform; the provider would default to it, so stating it keeps state = inputs."""
    return f"linux/{_DOCKER_ARCHITECTURES.get(machine.lower(), machine.lower())}"


@dataclass(frozen=True)
class McpServerArgs:
    server: McpServerSpec
    build: McpImageBuild
    """Its image: context, Dockerfile, build arguments and the content-hash tag."""
    provider: pulumi.ProviderResource
    """The nested provider of the orchestrator's inner daemon."""
    network_name: pulumi.Input[str]
    """The inner `mcp-network`."""


TYPE_TOKEN = "service-mesh:mcp_server:McpServer"
"""Part of the URN of every resource below it: changing it makes `pulumi up` replace them all."""


class McpServer(pulumi.ComponentResource):
    image: docker.Image
    container: docker.Container
    volumes: list[docker.Volume]

    def __init__(self, name: str, args: McpServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        server = args.server
        inner = pulumi.ResourceOptions(parent=self, provider=args.provider)

        build = args.build
        # built by the inner daemon, never pushed; every input as the provider's Check writes it back to state
        self.image = docker.Image(
            f"{name}-image",
            image_name=build.image_name,
            build=docker.DockerBuildArgs(
                context=build.context,
                dockerfile=build.dockerfile,
                args=dict(build.args),
                platform=docker_platform(platform.machine()),
                builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
            ),
            skip_push=True,
            opts=inner,
        )
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
            # the image ID (what the provider reads back): a rebuild with other content replaces the container
            image=self.image.repo_digest,
            probe=Probe(test=tuple(health_test(server)), tool="node", interval_s=30, timeout_s=20, retries=5, start_period_s=60),
            labels=ContainerLabels(
                service=server.service,
                instance=server.service,
                category="mcp",
                kind="mcp",
                probe_tool="node",
                extra={"mesh.mcp.package": server.package, "mesh.mcp.transport": server.transport, "mesh.mcp.image": build.image_name},
            ),
            memory_mb=server.memory_mb,
            cpus=server.cpus,
            network_name=args.network_name,
            aliases=[server.service],
            hardening=MCP_HARDENING,
            user="node",  # mcp/Dockerfile's USER: the node image's unprivileged user
            hostname=server.service,
            # supergateway and node exit at once on SIGTERM; the memory server writes its file on every change
            stop_signal="SIGTERM",
            stop_grace_s=10,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
            command=list(container_command(server)),
            # mesh:mcpServers.<name>.env is where API tokens go: every entry is a secret
            envs=[pulumi.Output.secret(f"{key}={value}") for key, value in server.env] or None,
            # published on every interface of the orchestrator: its host ports and its mesh alias lead here
            ports=[
                docker.ContainerPortArgs(internal=server.port, external=server.port, protocol="tcp"),
                docker.ContainerPortArgs(internal=server.health_port, external=server.health_port, protocol="tcp"),
            ],
            volumes=volume_args or None,
        )
        self.register_outputs({"container": self.container.name, "package": server.package, "image": build.image_name})
