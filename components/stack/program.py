"""The program: stack config -> validated plan -> `ServiceMesh` -> stack outputs.

`__main__.py` (under `pulumi up`) and `components.offline.synth` (offline, under mocks) both call `build_stack`.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pulumi

from components.catalog.names import RABBITMQ
from components.model.mesh import CONFIG_NAMESPACE, parse_mesh_config, strip_namespace
from components.plan.services import floating_image_warnings
from components.plan.stack import plan_stack
from components.render.datastores import RABBITMQ_ADMIN_USER
from components.stack.mesh import ServiceMesh, ServiceMeshArgs
from components.stack.swarm import SwarmMesh, SwarmMeshArgs


def read_stack_config() -> dict[str, Any]:
    """Every `mesh:*` key the engine passes to the program (set explicitly, or through PULUMI_CONFIG)."""
    from pulumi.runtime import config as runtime_config

    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return strip_namespace(merged)


def read_secret_keys() -> tuple[str, ...]:
    """The `mesh:*` keys the engine marks secret (namespace stripped).

    The engine marks a whole top-level key secret when any value inside it is encrypted (pulumi
    sdk/go/common/resource/config: object.Secure, Map.SecureKeys), and the language host hands the list to
    `set_all_config` (pulumi-language-python-exec, from PULUMI_CONFIG_SECRET_KEYS).
    """
    from pulumi.runtime import config as runtime_config

    prefix = CONFIG_NAMESPACE + ":"
    keys = {*runtime_config.get_config_env(), *runtime_config.CONFIG.get()}
    return tuple(sorted(key[len(prefix) :] for key in keys if key.startswith(prefix) and runtime_config.is_config_secret(key)))


@dataclass(frozen=True)
class StackResult:
    outputs: dict[str, Any]
    """The stack outputs, as `__main__.py` exports them."""
    rendered_files: dict[str, pulumi.Input[str]]
    """Every config file the stack renders, by its path under build/."""


def local_docker_cpus() -> int | None:
    """The CPUs Docker can hand a container when the Docker host is this machine (a local socket); None otherwise.

    The provider talks to `docker:host`, else `DOCKER_HOST`, else the local socket. Docker counts the CPUs this
    process may run on (Go's runtime.NumCPU), which is what `sched_getaffinity` says.
    """
    host = pulumi.Config("docker").get("host") or os.environ.get("DOCKER_HOST") or ""
    if host and not host.startswith(("unix://", "npipe://")):
        return None
    if os.environ.get("DOCKER_CONTEXT", "default") != "default":
        return None
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def build_stack(raw_config: Mapping[str, Any], secret_keys: Collection[str] = (), host_cpus: int | None = None) -> StackResult:
    """Validate everything first (raises `ConfigError`, nothing registered), then register the mesh.

    `secret_keys`: the top-level keys the engine marks secret (no error shows a value under one).
    `host_cpus`: the Docker host's CPU count when it is known (`local_docker_cpus()` under `pulumi up`); offline
    synthesis leaves it unknown, so the result does not depend on the machine it runs on.
    """
    plan = plan_stack(parse_mesh_config(raw_config, [(key,) for key in secret_keys]), host_cpus)
    for warning in floating_image_warnings(plan.config, plan.mcp.servers):
        pulumi.log.warn(warning)
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
    if RABBITMQ in plan.service_names:
        # the management UI's administrator (the application user in connectionStrings has no management rights)
        outputs["rabbitmqAdmin"] = pulumi.Output.secret({"user": RABBITMQ_ADMIN_USER, "password": mesh.credentials.rabbitmq_admin_password})
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
