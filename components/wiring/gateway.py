"""Wiring of the Kong gateway: the rendered kong.yml (a secret: it holds the consumer's credentials),
tracing environment for the opentelemetry plugin, and port binds (admin on loopback only).

Kong runs DB-less: it reads the uploaded file when it starts, and an upload is fixed when the container
is created, so any route or balancing change replaces the Kong container.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.catalog.names import KONG
from components.catalog.services import CATALOG
from components.model.mesh import MeshConfig
from components.plan.addresses import client_url
from components.plan.gateway import JWT_ISSUER, GatewayCredentials, GatewayPlan, kong_config
from components.plan.services import DeployedService
from components.render.kong import render_kong_yml
from components.resources.credentials import MeshCredentials
from components.wiring.base import Need, ServiceWiring, Wiring, WiringContext, upload

KONG_YML_PATH = dict(CATALOG[KONG].env)["KONG_DECLARATIVE_CONFIG"]
PROXY_PORT = CATALOG[KONG].port("proxy").internal
ADMIN_PORT = CATALOG[KONG].port("admin").internal
ADMIN_BIND_ADDRESS = "127.0.0.1"


def rendered_kong_yml(plan: GatewayPlan, credentials: MeshCredentials) -> pulumi.Output[str]:
    """kong.yml for this plan, with the generated consumer credentials: a secret Output."""
    text = pulumi.Output.all(credentials.gateway_jwt_secret, credentials.gateway_api_key).apply(
        lambda secrets: render_kong_yml(kong_config(plan, GatewayCredentials(jwt_secret=secrets[0], api_key=secrets[1])))
    )
    return pulumi.Output.secret(text)


def kong(context: WiringContext) -> Wiring:
    plan = context.plan.gateway
    kong_yml = rendered_kong_yml(plan, context.credentials)
    # a replaced target's new address is picked up within one breaker probe interval (Docker DNS says 600 s)
    envs: list[pulumi.Input[str]] = [f"KONG_DNS_VALID_TTL={plan.dns_valid_ttl_s}"]
    if plan.traces_endpoint is not None:
        # the opentelemetry plugin only exports spans that these settings make Kong record
        envs += ["KONG_TRACING_INSTRUMENTATIONS=all", f"KONG_TRACING_SAMPLING_RATE={plan.sampling_rate:g}"]
    return Wiring(
        envs=envs,
        uploads=[upload(KONG_YML_PATH, kong_yml)],
        rendered={"kong/kong.yml": kong_yml},
        # the admin API can replace the whole configuration (POST /config): never beyond loopback
        port_bind_addresses={ADMIN_PORT: ADMIN_BIND_ADDRESS, PROXY_PORT: context.config.proxy_bind_address or context.config.bind_address},
    )


def proxy_url(config: MeshConfig, kong_service: DeployedService) -> str:
    """Where a client on this host reaches the proxy."""
    host_port = kong_service.spec.port("proxy").host
    assert host_port is not None, "the catalog publishes Kong's proxy"
    return client_url("http", config.proxy_bind_address or config.bind_address, host_port)


def gateway_access(credentials: MeshCredentials, config: MeshConfig, kong_service: DeployedService) -> dict[str, pulumi.Input[str]]:
    """What a client needs to call through the gateway; the secrets stay secret Outputs."""
    return {
        "proxyUrl": proxy_url(config, kong_service),
        "jwtIssuer": JWT_ISSUER,
        "jwtSecret": credentials.gateway_jwt_secret,
        "apiKey": credentials.gateway_api_key,
    }


GATEWAY_WIRING: Mapping[str, ServiceWiring] = {KONG: ServiceWiring(kong, frozenset({Need.CREDENTIALS}))}
