"""Wiring of the log and trace pipeline: Loki, Alloy and Jaeger get their rendered configs uploaded; the Docker
socket proxy gets its haproxy.cfg in its environment (its root filesystem is read-only, so nothing is uploaded).

Each function returns the `Wiring` a `MeshService` needs beyond its catalog entry (see `base`).
"""

from __future__ import annotations

from collections.abc import Mapping

from components.catalog.names import ALLOY, DOCKER_SOCKET_PROXY, JAEGER, LOKI
from components.catalog.services import DOCKER_API_URL, DOCKER_SOCKET
from components.render.telemetry import (
    ALLOY_CONFIG_PATH,
    JAEGER_CONFIG_PATH,
    LOKI_CONFIG_PATH,
    render_alloy_config,
    render_docker_socket_proxy_cfg,
    render_jaeger_config,
    render_loki_config,
)
from components.wiring.base import ServiceWiring, Wiring, WiringContext, upload


def loki(context: WiringContext) -> Wiring:
    conf = render_loki_config(context.config.telemetry.log_retention_hours())
    return Wiring(uploads=[upload(LOKI_CONFIG_PATH, conf)], rendered={"loki/local-config.yaml": conf})


def alloy(context: WiringContext) -> Wiring:
    # a swarm deploys no socket proxy: each task reads its own node's socket (components.plan.services)
    docker_host = f"unix://{DOCKER_SOCKET}" if context.config.platform == "swarm" else DOCKER_API_URL
    conf = render_alloy_config(docker_host)
    return Wiring(uploads=[upload(ALLOY_CONFIG_PATH, conf)], rendered={"alloy/config.alloy": conf})


def docker_socket_proxy(context: WiringContext) -> Wiring:
    conf = render_docker_socket_proxy_cfg()
    # the catalog's command writes $HAPROXY_CFG to its tmpfs and starts haproxy on it
    return Wiring(envs=[f"HAPROXY_CFG={conf}"], rendered={"docker-socket-proxy/haproxy.cfg": conf})


def jaeger(context: WiringContext) -> Wiring:
    conf = render_jaeger_config(context.config.telemetry.max_traces)
    return Wiring(uploads=[upload(JAEGER_CONFIG_PATH, conf)], rendered={"jaeger/config.yaml": conf})


TELEMETRY_WIRING: Mapping[str, ServiceWiring] = {
    LOKI: ServiceWiring(loki),
    ALLOY: ServiceWiring(alloy),
    DOCKER_SOCKET_PROXY: ServiceWiring(docker_socket_proxy),
    JAEGER: ServiceWiring(jaeger),
}
