"""The mesh network on the host daemon: every host-level container joins it under its service name."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

MESH_NETWORK = "sutazai-network"


@dataclass(frozen=True)
class MeshNetworksArgs:
    network_name: str = MESH_NETWORK
    """Name of the bridge network the host daemon creates."""


TYPE_TOKEN = "service-mesh:network:MeshNetworks"
"""Part of the URN of every resource below it: changing it makes `pulumi up` replace them all."""


class MeshNetworks(pulumi.ComponentResource):
    mesh: docker.Network
    mesh_name: pulumi.Output[str]

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
        self.register_outputs({"mesh_name": self.mesh_name})
