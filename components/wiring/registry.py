"""Every service's wiring in one table, keyed by catalog name; a service wired twice fails at import."""

from __future__ import annotations

from collections.abc import Mapping

from components.wiring.backend import BACKEND_WIRING
from components.wiring.base import ServiceWiring, merge_wiring
from components.wiring.datastores import DATASTORE_WIRING
from components.wiring.discovery import DISCOVERY_WIRING
from components.wiring.gateway import GATEWAY_WIRING
from components.wiring.monitoring import MONITORING_WIRING
from components.wiring.telemetry import TELEMETRY_WIRING

WIRING: Mapping[str, ServiceWiring] = merge_wiring(
    DATASTORE_WIRING, DISCOVERY_WIRING, GATEWAY_WIRING, TELEMETRY_WIRING, MONITORING_WIRING, BACKEND_WIRING
)
"""Services absent here need nothing beyond their catalog entry."""
