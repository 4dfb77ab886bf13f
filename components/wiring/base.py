"""What a service's wiring is, what it may ask for, and how the wiring tables are merged.

A wiring function turns the stack plan into what one `MeshService` needs beyond its catalog entry
(`Wiring`: environment, uploads, rendered files...). It declares what else it reads (`ServiceWiring.needs`,
`ServiceWiring.reads`); the composition root resolves those needs and hands each function a frozen
`WiringContext` holding exactly them. Reading something undeclared raises `UndeclaredNeedError`: a forgotten
declaration fails the synthesis instead of silently dropping a token.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
import pulumi_docker as docker

from components.catalog.endpoint import Endpoint
from components.model.mesh import MeshConfig
from components.plan.services import DeployedService
from components.plan.stack import StackPlan
from components.resources.credentials import MeshCredentials

if TYPE_CHECKING:
    from components.resources.discovery import ServiceDiscovery


class Need(enum.Enum):
    """Resources a wiring may draw on, besides the plan."""

    CREDENTIALS = "credentials"
    """The mesh's generated passwords and keys (`MeshCredentials`); they exist before any service."""
    DISCOVERY = "discovery"
    """Consul's ACL tokens (`ServiceDiscovery`): the service is deployed after discovery exists."""


class UndeclaredNeedError(RuntimeError):
    """A wiring read something it did not declare: fix its `ServiceWiring` entry."""


@dataclass(frozen=True)
class Wiring:
    """What a service gets beyond its catalog entry."""

    envs: list[pulumi.Input[str]] = field(default_factory=list)
    uploads: list[docker.ContainerUploadArgs] = field(default_factory=list)
    rendered: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Rendered files by their path under build/ (for `make plan` and the real-tool checks)."""
    port_bind_addresses: dict[int, str] = field(default_factory=dict)
    image: pulumi.Input[str] | None = None
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    extra_hosts: dict[str, str] = field(default_factory=dict)
    command: list[str] | None = None
    """Replaces the catalog's command when flags come from config (Prometheus' retention)."""


@dataclass(frozen=True)
class WiringContext:
    """One service's view of the stack while it is wired: the plan, plus exactly the needs it declared."""

    service: str
    plan: StackPlan
    network_name: pulumi.Output[str]
    parent: pulumi.Resource | None
    """The component that resources created during wiring (e.g. the backend image build) belong to."""
    needs: frozenset[Need]
    reads: frozenset[str]
    resolved_credentials: MeshCredentials | None = None
    resolved_discovery: ServiceDiscovery | None = None

    @property
    def config(self) -> MeshConfig:
        return self.plan.config

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return self.plan.endpoints

    @property
    def credentials(self) -> MeshCredentials:
        self._require(Need.CREDENTIALS)
        assert self.resolved_credentials is not None, "the composition root resolves every declared need"
        return self.resolved_credentials

    @property
    def discovery(self) -> ServiceDiscovery | None:
        """Consul's tokens; None only when this stack deploys no Consul."""
        self._require(Need.DISCOVERY)
        return self.resolved_discovery

    def peer(self, name: str) -> DeployedService | None:
        """Another service this wiring points at (declared in `reads`); None when the stack does not deploy it."""
        if name not in self.reads:
            raise UndeclaredNeedError(f"the wiring of {self.service} reads {name}, which its ServiceWiring does not list in reads")
        return self.plan.service(name)

    def _require(self, need: Need) -> None:
        if need not in self.needs:
            raise UndeclaredNeedError(f"the wiring of {self.service} uses {need.value}, which its ServiceWiring does not declare in needs")


@dataclass(frozen=True)
class ServiceWiring:
    """A service's wiring function and what it declares it reads."""

    wire: Callable[[WiringContext], Wiring]
    needs: frozenset[Need] = frozenset()
    reads: frozenset[str] = frozenset()
    """Other services whose address or facts the wiring writes into this one's config."""


def merge_wiring(*tables: Mapping[str, ServiceWiring]) -> dict[str, ServiceWiring]:
    """One table from several; a service wired twice is an error, never a silent overwrite."""
    merged: dict[str, ServiceWiring] = {}
    for table in tables:
        for service, wiring in table.items():
            if service in merged:
                raise ValueError(f"{service} is wired twice ({merged[service].wire.__module__} and {wiring.wire.__module__})")
            merged[service] = wiring
    return merged


def secret_env(name: str, value: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.secret(pulumi.Output.concat(name, "=", value))


def upload(path: str, content: pulumi.Input[str]) -> docker.ContainerUploadArgs:
    return docker.ContainerUploadArgs(file=path, content=content, permissions="0644")
