"""`mesh:platform` and `mesh:swarm`: whether the mesh runs as containers on one Docker host or as services of a
Docker Swarm, and how the swarm places them.

Typed and range-checked here (pydantic); checks against the deployed services happen in
`components/plan/swarm.py`. Pure: no Pulumi.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.catalog.names import KONG
from components.model.base import Strict

Platform = Literal["docker", "swarm"]

_EDGE_PORT = re.compile(r"^[a-z0-9][a-z0-9-]*:[0-9]{1,5}$")


class SwarmConfig(Strict):
    """`mesh:swarm.*`: read only when `mesh:platform` is `swarm`."""

    replicas: int = Field(default=2, ge=1, le=16)
    """Tasks of each replicated (stateless) service unless `mesh:services.<name>.replicas` says otherwise."""
    consul_servers: int = Field(default=3, alias="consulServers", ge=1, le=7)
    """Consul servers (`bootstrap_expect`), one per node: odd, so a majority survives a lost node."""
    subnet: str = "10.201.0.0/16"
    """The mesh overlay's subnet; Consul binds to its address in this range (a task has several interfaces)."""
    encrypted_overlay: bool = Field(default=False, alias="encryptedOverlay")
    """IPsec between nodes on the mesh overlay (`encrypted` driver option); the nodes' kernels need the xfrm modules."""
    edge_ports: list[str] = Field(default_factory=lambda: ["kong:8000", "consul:8500", "grafana:3000"], alias="edgePorts")
    """`service:port` entries published in host mode on the node that runs the task (no routing mesh: no IPVS needed)."""
    edge_services: list[str] = Field(default_factory=lambda: [KONG], alias="edgeServices")
    """Services that run only on nodes labelled `mesh.edge=true` (the nodes the outside reaches)."""
    orchestrator_host: str | None = Field(default=None, alias="orchestratorHost")
    """The Docker daemon of the node that runs the DinD orchestrator (a plain container: services cannot be privileged):
    `ssh://user@node`, or `tcp://node:2376` with `orchestratorCertPath`. Unset: the daemon `pulumi up` talks to."""
    orchestrator_cert_path: str | None = Field(default=None, alias="orchestratorCertPath")
    """Directory with ca.pem, cert.pem and key.pem for a `tcp://` orchestrator host."""

    @field_validator("subnet")
    @classmethod
    def _is_private_network(cls, subnet: str) -> str:
        try:
            network = ipaddress.ip_network(subnet)
        except ValueError:
            raise ValueError(f"{subnet!r} is not a network (e.g. 10.201.0.0/16)") from None
        if network.version != 4 or not network.is_private or network.prefixlen > 24:
            raise ValueError(f"{subnet!r} must be a private IPv4 network of /24 or wider")
        return subnet

    @field_validator("consul_servers")
    @classmethod
    def _is_odd(cls, servers: int) -> int:
        if servers % 2 == 0:
            raise ValueError(f"{servers} Consul servers tolerate no more failures than {servers - 1}; use an odd number")
        return servers

    @field_validator("edge_ports")
    @classmethod
    def _are_service_ports(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            if not _EDGE_PORT.match(entry):
                raise ValueError(f"{entry!r} is not service:port (e.g. kong:8000)")
        return entries

    @field_validator("orchestrator_host")
    @classmethod
    def _is_remote_docker(cls, host: str | None) -> str | None:
        if host is not None and not host.startswith(("ssh://", "tcp://")):
            raise ValueError(f"{host!r} must be ssh://user@node or tcp://node:2376")
        if host is not None and host.rstrip("/").endswith(":2375"):
            raise ValueError(f"{host!r} is the plaintext Docker port; use ssh:// or TLS on 2376")
        return host

    @model_validator(mode="after")
    def _tcp_needs_certificates(self) -> SwarmConfig:
        if self.orchestrator_host is not None and self.orchestrator_host.startswith("tcp://") and self.orchestrator_cert_path is None:
            raise ValueError("orchestratorHost tcp:// needs orchestratorCertPath (the client certificates of that daemon)")
        return self
