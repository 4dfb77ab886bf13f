"""Small synthetic stacks for the policy tests: Registrations shaped like the ones the program makes.

`healthy_stack()` passes every policy; each test changes one thing and expects one rule to fire.
"""

from __future__ import annotations

import copy
from typing import Any

from components.offline.synth import Capture, Registration, Secret
from components.offline.types import CONSUL_SERVICE, CONTAINER, DOCKER_PROVIDER, REMOTE_IMAGE


def urn_of(type_: str, name: str) -> str:
    return f"urn:pulumi:test::service-mesh::{type_}::{name}"


def registration(type_: str, name: str, props: dict[str, Any], *, provider: str = "") -> Registration:
    return Registration(
        type=type_,
        name=name,
        urn=urn_of(type_, name),
        custom=True,
        props=props,
        parent="",
        dependencies=(),
        property_dependencies={},
        provider=provider,
        delete_before_replace=False,
        retain_on_delete=False,
    )


def container_props(service: str, category: str, ports: list[tuple[int, int]], **changes: Any) -> dict[str, Any]:
    """What `MeshService` registers for one container: healthcheck, wait, limits, hardening, loopback ports."""
    props: dict[str, Any] = {
        "name": f"sutazai-{service}",
        "image": "sha256:" + "0" * 64,
        "envs": Secret([f"{service.upper()}_PASSWORD=s3cret", "MODE=production"]),
        "healthcheck": {"tests": ["CMD", "true"], "interval": "10s", "timeout": "5s", "retries": 6, "startPeriod": "30s"},
        "wait": True,
        "waitTimeout": 300,
        "memory": 256,
        "restart": "unless-stopped",
        "securityOpts": ["no-new-privileges:true"],
        "capabilities": {"drops": ["ALL"]},
        "readOnly": True,
        "tmpfs": {"/tmp": "rw,noexec,nosuid,size=64m"},
        "user": "65534:65534",
        "labels": [
            {"label": "mesh.service", "value": service},
            {"label": "mesh.instance", "value": service},
            {"label": "mesh.replica", "value": "1"},
            {"label": "mesh.category", "value": category},
            {"label": "mesh.kind", "value": category},
            {"label": "mesh.probe-tool", "value": "curl"},
        ],
        "ports": [{"internal": internal, "external": external, "ip": "127.0.0.1", "protocol": "tcp"} for internal, external in ports],
    }
    props.update(changes)
    return props


def consul_service(service: str, interval: str = "10s") -> Registration:
    check = {"checkId": f"{service}-health", "name": f"{service} health", "interval": interval, "timeout": "5s", "tcp": f"{service}:1"}
    return registration(CONSUL_SERVICE, f"{service}-registration", {"name": service, "node": "mesh", "checks": [check]})


def healthy_stack() -> Capture:
    """Three services that satisfy every rule: a database, the Kong gateway and the privileged DinD orchestrator."""
    kong = container_props(
        "kong",
        "core",
        [(8000, 10005), (8001, 10015)],
        envs=["KONG_DATABASE=off", "KONG_ADMIN_LISTEN=0.0.0.0:8001"],
    )
    kong["ports"][0]["ip"] = "0.0.0.0"  # the proxy is the one allow-listed public port
    # the orchestrator publishes its TLS port and, for the MCP servers inside it, their ports (the mcp range)
    dind = container_props("mcp-orchestrator", "orchestration", [(2376, 12376), (3003, 3003)], privileged=True, securityOpts=None)
    dind["envs"] = ["DOCKER_TLS_CERTDIR=/certs"]
    resources = [
        registration(REMOTE_IMAGE, "postgres-image", {"name": "postgres:17.6-alpine", "keepLocally": True}),
        registration(CONTAINER, "postgres", container_props("postgres", "core", [(5432, 10000)])),
        registration(REMOTE_IMAGE, "kong-image", {"name": "kong:3.9.1", "keepLocally": True}),
        registration(CONTAINER, "kong", kong),
        registration(REMOTE_IMAGE, "dind-image", {"name": "docker@sha256:" + "a" * 64, "keepLocally": True}),
        registration(CONTAINER, "mcp-orchestrator", dind),
        registration(
            DOCKER_PROVIDER,
            "dind",
            {"host": "tcp://127.0.0.1:12376", "caMaterial": "CA", "certMaterial": "CERT", "keyMaterial": "KEY"},
        ),
        consul_service("postgres"),
        consul_service("kong"),
        consul_service("mcp-orchestrator"),
    ]
    return Capture(resources=resources)


def changed(capture: Capture, resource_name: str, /, **changes: Any) -> Capture:
    """The capture with one resource's properties changed (a value of `None` removes the key)."""
    resources = []
    for resource in capture.resources:
        if resource.name == resource_name:
            props = copy.deepcopy(resource.props)
            for key, value in changes.items():
                if value is None:
                    props.pop(key, None)
                else:
                    props[key] = value
            resource = registration(resource.type, resource.name, props, provider=resource.provider)
        resources.append(resource)
    return Capture(resources=resources)


def with_resources(capture: Capture, *extra: Registration, without: tuple[str, ...] = ()) -> Capture:
    return Capture(resources=[r for r in capture.resources if r.name not in without] + list(extra))


def swarm_service_props(service: str, *, env: dict[str, str] | None = None, replicas: int = 1) -> dict[str, Any]:
    """A swarm service that satisfies every rule: one task pinned to its data node, secrets as files, converged,
    every capability dropped, a read-only root and a non-root user."""
    labels = [{"label": "mesh.service", "value": service}, {"label": "mesh.category", "value": "core"}]
    return {
        "name": service,
        "labels": labels,
        "taskSpec": {
            "containerSpec": {
                "image": "postgres:17.6-alpine",
                "env": env if env is not None else {"POSTGRES_PASSWORD_FILE": "/run/secrets/postgres_password"},
                "healthcheck": {
                    "tests": ["CMD-SHELL", "pg_isready"],
                    "interval": "10s",
                    "timeout": "5s",
                    "retries": 6,
                    "startPeriod": "30s",
                },
                "mounts": [{"type": "volume", "source": f"sutazai-{service}-data", "target": "/var/lib/postgresql/data"}],
                "capDrops": ["ALL"],
                "readOnly": True,
                "user": "70:70",
            },
            "placement": {"constraints": [f"node.labels.mesh.data.{service}==true"]},
            "resources": {"limits": {"memoryBytes": 1073741824, "nanoCpus": 1000000000}},
            "restartPolicy": {"condition": "any", "delay": "5s", "window": "2m"},
        },
        "mode": {"replicated": {"replicas": replicas}},
        "endpointSpec": {"mode": "dnsrr"},
        "convergeConfig": {"delay": "7s", "timeout": "10m"},
    }
