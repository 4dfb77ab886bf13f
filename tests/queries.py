"""Questions several test modules ask of a capture: which daemon a container runs on, which ports it listens on."""

from __future__ import annotations

import re

from components.catalog.services import CATALOG
from components.offline.synth import Capture, Registration
from components.offline.types import CONTAINER


def on_host_daemon(container: Registration) -> bool:
    """True for containers of the host daemon; the MCP servers run on the DinD orchestrator's nested provider."""
    return not container.provider or "providers:docker::default" in container.provider


def host_containers(plan: Capture) -> list[Registration]:
    return [container for container in plan.all(CONTAINER) if on_host_daemon(container)]


def listening_ports(plan: Capture, container: Registration) -> set[int]:
    """Ports a host-daemon container answers on, on the mesh network."""
    service = str(container.label("mesh.service"))
    if service in CATALOG:
        return {port.internal for port in CATALOG[service].ports}
    ports = {int(port["internal"]) for port in container.plain.get("ports") or []}
    # the nested daemon publishes its containers' ports on the orchestrator's own interfaces
    inner = [c for c in plan.all(CONTAINER) if not on_host_daemon(c) and service in c.provider]
    return ports | {int(port["external"]) for c in inner for port in c.plain.get("ports") or []}


# `make plan`'s verdict line when the pack passes: nothing at all, or only advisories (the catalog's recorded exceptions)
PACK_PASSED = re.compile(r"^policy pack: (no violations|\d+ advisory)$", re.MULTILINE)
