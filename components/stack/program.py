"""The program: stack config -> validated plan -> `ServiceMesh` -> stack outputs.

`__main__.py` (under `pulumi up`) and `components.offline.synth` (offline, under mocks) both call `build_stack`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pulumi

from components.model.mesh import parse_mesh_config, strip_namespace
from components.plan.stack import plan_stack
from components.stack.mesh import ServiceMesh, ServiceMeshArgs
from components.stack.swarm import SwarmMesh, SwarmMeshArgs


def read_stack_config() -> dict[str, Any]:
    """Every `mesh:*` key the engine passes to the program (set explicitly, or through PULUMI_CONFIG)."""
    from pulumi.runtime import config as runtime_config

    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return strip_namespace(merged)


@dataclass(frozen=True)
class StackResult:
    outputs: dict[str, Any]
    """The stack outputs, as `__main__.py` exports them."""
    rendered_files: dict[str, pulumi.Input[str]]
    """Every config file the stack renders, by its path under build/."""


def build_stack(raw_config: Mapping[str, Any]) -> StackResult:
    """Validate everything first (raises `ConfigError`, nothing registered), then register the mesh."""
    plan = plan_stack(parse_mesh_config(raw_config))
    # the one branch point between the platforms: containers on one host, or services of a swarm
    mesh: ServiceMesh | SwarmMesh = (
        SwarmMesh("mesh", SwarmMeshArgs(plan=plan)) if plan.swarm else ServiceMesh("mesh", ServiceMeshArgs(plan=plan))
    )
    outputs = {
        "accessPoints": mesh.access_points,
        "services": list(plan.service_names),
        "connectionStrings": pulumi.Output.secret(mesh.connection_strings),
        "mcpServers": mesh.mcp_urls,
        "mcpDockerHost": plan.mcp.orchestrator.docker_host,
    }
    if mesh.grafana is not None:
        outputs["grafana"] = {"url": mesh.grafana.url, "user": "admin", "dashboards": mesh.grafana.dashboard_urls}
        outputs["grafanaAdminPassword"] = mesh.credentials.grafana_admin_password
    if mesh.gateway is not None:
        outputs["gateway"] = pulumi.Output.secret(mesh.gateway)
    if mesh.discovery is not None:
        outputs["registeredServices"] = [asdict(registration) for registration in mesh.discovery.registrations]
        outputs["consulManagementToken"] = mesh.discovery.management_token
        outputs["consulPrometheusToken"] = mesh.discovery.prometheus_token
        outputs["consulBackendToken"] = mesh.discovery.backend_token
    return StackResult(outputs=outputs, rendered_files=mesh.rendered_files)
