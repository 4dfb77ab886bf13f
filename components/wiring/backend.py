"""Wiring of the reference backend: its image (built from `backend/` unless
`mesh:services.backend.image` names an external one) and its environment: where the parts of the
mesh answer on the mesh network, the connection strings, the Consul token and the JWT secret
(all secret), and the OTLP endpoint."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.catalog.names import BACKEND, CONSUL, GRAFANA, JAEGER, KONG, NEO4J, POSTGRES, PROMETHEUS, RABBITMQ, REDIS
from components.plan.gateway import JWT_ISSUER
from components.resources.backend_image import BackendImage, BackendImageArgs
from components.wiring.base import Need, ServiceWiring, Wiring, WiringContext, secret_env
from components.wiring.datastores import connection_strings

# env -> (service, port name; None: its main port): the parts of the mesh the backend reads, on the mesh network
_MESH_URLS: dict[str, tuple[str, str | None]] = {
    "MESH_CONSUL_URL": (CONSUL, None),
    "MESH_KONG_ADMIN_URL": (KONG, "admin"),
    "MESH_PROMETHEUS_URL": (PROMETHEUS, None),
    "MESH_GRAFANA_URL": (GRAFANA, None),
    "MESH_JAEGER_URL": (JAEGER, "ui"),
    "OTEL_EXPORTER_OTLP_ENDPOINT": (JAEGER, "otlp-http"),
}
DATA_STORES = (POSTGRES, REDIS, NEO4J, RABBITMQ)


def mesh_urls(context: WiringContext) -> dict[str, str]:
    """The backend's view of the mesh: each part it reads, by its alias on the mesh network."""
    urls = {}
    for env, (name, port_name) in _MESH_URLS.items():
        peer = context.peer(name)
        if peer is not None:
            urls[env] = f"http://{peer.spec.mesh_address(port_name)}"
    return urls


def external_image(context: WiringContext) -> str | None:
    """`mesh:services.backend.image`: run that image instead of building backend/."""
    override = context.config.services.get(BACKEND)
    return override.image if override is not None else None


def backend(context: WiringContext) -> Wiring:
    deployed = context.plan.service(BACKEND)
    assert deployed is not None, "the backend is wired only when it is deployed"
    child = pulumi.ResourceOptions(parent=context.parent)
    envs: list[pulumi.Input[str]] = [f"{key}={url}" for key, url in mesh_urls(context).items()]
    envs += [
        f"OTEL_SERVICE_NAME={BACKEND}",
        "MESH_EXPECTED_SERVICES=" + ",".join(context.plan.service_names),
        # the same secret and key (`iss`) as Kong's jwt consumer: a token Kong accepts, the backend accepts
        secret_env("MESH_JWT_SECRET", context.credentials.gateway_jwt_secret),
        f"MESH_JWT_KEY={JWT_ISSUER}",
    ]
    discovery = context.discovery
    if discovery is not None:  # None only when the stack deploys no Consul
        envs.append(secret_env("MESH_CONSUL_TOKEN", discovery.backend_token))
    stores = [name for name in DATA_STORES if context.peer(name) is not None]
    for name, url in connection_strings(context.credentials, stores).items():
        envs.append(secret_env(f"MESH_DB_{name.upper().replace('-', '_')}", url))
    mcp = [f"{e.service}=http://{e.address}:{e.port}{e.service_path}" for e in context.endpoints if e.kind == "mcp"]
    if mcp:
        envs.append("MESH_MCP_SERVERS=" + ",".join(mcp))

    if external_image(context) is not None:
        return Wiring(envs=envs)
    built = BackendImage(f"{BACKEND}-image", BackendImageArgs(image_name=deployed.spec.image), child)
    return Wiring(envs=envs, image=built.image_ref)


BACKEND_WIRING: Mapping[str, ServiceWiring] = {
    BACKEND: ServiceWiring(
        backend,
        # the Consul token lets it read the catalog; the credentials give it every connection string and Kong's JWT secret
        frozenset({Need.CREDENTIALS, Need.DISCOVERY}),
        frozenset({name for name, _ in _MESH_URLS.values()} | set(DATA_STORES)),
    )
}
