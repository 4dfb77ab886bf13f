"""The networks on the host daemon: the mesh network every host-level container joins under its service name, and
the internal Docker API network that only the socket proxy and its clients join."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

MESH_NETWORK = "sutazai-network"
DOCKER_API_NETWORK = "sutazai-docker-api"


@dataclass(frozen=True)
class MeshNetworksArgs:
    network_name: str = MESH_NETWORK
    """Name of the bridge network the host daemon creates."""
    docker_api: bool = False
    """Create the Docker API network (the stack deploys the socket proxy)."""


TYPE_TOKEN = "service-mesh:network:MeshNetworks"
"""Part of the URN of every resource below it: changing it makes `pulumi up` replace them all."""


class MeshNetworks(pulumi.ComponentResource):
    mesh: docker.Network
    mesh_name: pulumi.Output[str]
    docker_api_name: pulumi.Output[str] | None

    def __init__(self, name: str, args: MeshNetworksArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.mesh = docker.Network(
            f"{name}-mesh",
            name=args.network_name,
            driver="bridge",
            attachable=True,
            labels=[docker.NetworkLabelArgs(label="mesh.network", value="mesh")],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.mesh_name = self.mesh.name
        self.docker_api_name = None
        if args.docker_api:
            # internal: no route out and no published port; only containers attached to it reach the proxy
            self.docker_api_name = docker.Network(
                f"{name}-docker-api",
                name=DOCKER_API_NETWORK,
                driver="bridge",
                internal=True,
                labels=[docker.NetworkLabelArgs(label="mesh.network", value="docker-api")],
                opts=pulumi.ResourceOptions(parent=self),
            ).name
        self.register_outputs({"mesh_name": self.mesh_name, "docker_api_name": self.docker_api_name})
