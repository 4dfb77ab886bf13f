"""Wiring of the reference backend: its image (built from `backend/` unless
`mesh:services.backend.image` names an external one) and its environment: where the parts of the
mesh answer on the mesh network, the connection strings, the Consul token and the JWT secret
(all secret), and the OTLP endpoint."""

from __future__ import annotations

import pulumi

from components.catalog.services import ServiceSpec
from components.plan.gateway import JWT_ISSUER
from components.resources.backend_image import BackendImage, BackendImageArgs
from components.wiring.datastores import Wiring, WiringContext, connection_strings, secret_env

SERVICE = "backend"


def _port(spec: ServiceSpec, name: str | None = None) -> int:
    return next(port.internal for port in spec.ports if name is None or port.name == name)


def mesh_urls(context: WiringContext) -> dict[str, str]:
    """The backend's view of the mesh: each part it reads, by its alias on the mesh network."""
    specs = {service.name: service.spec for service in context.services}
    wanted = {
        "MESH_CONSUL_URL": ("consul", None),
        "MESH_KONG_STATUS_URL": ("kong", "status"),
        "MESH_PROMETHEUS_URL": ("prometheus", None),
        "MESH_GRAFANA_URL": ("grafana", None),
        "MESH_JAEGER_URL": ("jaeger", "ui"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": ("jaeger", "otlp-http"),
    }
    return {env: f"http://{service}:{_port(specs[service], port)}" for env, (service, port) in wanted.items() if service in specs}


def external_image(context: WiringContext) -> str | None:
    """`mesh:services.backend.image`: run that image instead of building backend/."""
    override = context.config.services.get(SERVICE)
    return override.image if override is not None else None


def backend(context: WiringContext) -> Wiring:
    spec = next(service.spec for service in context.services if service.name == SERVICE)
    child = pulumi.ResourceOptions(parent=context.parent)
    envs: list[pulumi.Input[str]] = [f"{key}={url}" for key, url in mesh_urls(context).items()]
    envs += [
        f"OTEL_SERVICE_NAME={SERVICE}",
        "MESH_EXPECTED_SERVICES=" + ",".join(service.name for service in context.services),
        # the same secret and key (`iss`) as Kong's jwt consumer: a token Kong accepts, the backend accepts
        secret_env("MESH_JWT_SECRET", context.credentials.gateway_jwt_secret),
        f"MESH_JWT_KEY={JWT_ISSUER}",
    ]
    if context.discovery is not None:
        envs.append(secret_env("MESH_CONSUL_TOKEN", context.discovery.backend_token))
    deployed = [service.name for service in context.services]
    for name, url in connection_strings(context.credentials, deployed).items():
        envs.append(secret_env(f"MESH_DB_{name.upper().replace('-', '_')}", url))
    mcp = [f"{e.service}=http://{e.address}:{e.port}/mcp" for e in context.endpoints if e.kind == "mcp"]
    if mcp:
        envs.append("MESH_MCP_SERVERS=" + ",".join(mcp))

    if external_image(context) is not None:
        return Wiring(envs=envs)
    built = BackendImage(f"{SERVICE}-image", BackendImageArgs(image_name=spec.image), child)
    return Wiring(envs=envs, image=built.image_ref)
