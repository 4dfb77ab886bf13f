"""Wiring of the log and trace pipeline: Loki, Alloy and Jaeger get their rendered configs uploaded.

Each function returns the `Wiring` a `MeshService` needs beyond its catalog entry (see `base`).
"""

from __future__ import annotations

from collections.abc import Mapping

from components.catalog.names import ALLOY, JAEGER, LOKI
from components.render.telemetry import (
    ALLOY_CONFIG_PATH,
    JAEGER_CONFIG_PATH,
    LOKI_CONFIG_PATH,
    render_alloy_config,
    render_jaeger_config,
    render_loki_config,
)
from components.wiring.base import ServiceWiring, Wiring, WiringContext, upload


def loki(context: WiringContext) -> Wiring:
    conf = render_loki_config(context.config.telemetry.log_retention_hours())
    return Wiring(uploads=[upload(LOKI_CONFIG_PATH, conf)], rendered={"loki/local-config.yaml": conf})


def alloy(context: WiringContext) -> Wiring:
    conf = render_alloy_config()
    return Wiring(uploads=[upload(ALLOY_CONFIG_PATH, conf)], rendered={"alloy/config.alloy": conf})


def jaeger(context: WiringContext) -> Wiring:
    conf = render_jaeger_config(context.config.telemetry.max_traces)
    return Wiring(uploads=[upload(JAEGER_CONFIG_PATH, conf)], rendered={"jaeger/config.yaml": conf})


TELEMETRY_WIRING: Mapping[str, ServiceWiring] = {
    LOKI: ServiceWiring(loki),
    ALLOY: ServiceWiring(alloy),
    JAEGER: ServiceWiring(jaeger),
}
