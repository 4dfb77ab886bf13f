"""When and where each image pin of the catalog was checked, and which tags are known to be dead.

The images themselves are pinned in `services.py` (host services) and `mcp_servers.py` (the orchestrator
and the MCP servers' base image); Renovate keeps them current (`renovate.json`). This table records, per
image repository, the line the pin follows, how many version parts make its tag exact, and the check
behind it. Keyed by repository, not tag, so a Renovate patch bump does not orphan the record.
This module imports no Pulumi.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CHECKED_ON = "2026-11-30"
"""The day the pins below were checked (they were moved to the newest patch the source lists)."""
OFFICIAL_IMAGES = "docker-library/official-images library/{repository} at 37079fb (2026-08-21), the newest snapshot readable here"
"""Official images: the library file lists every tag still built and rebuilt; a tag missing from it gets no fixes."""
NOT_RECHECKED = "exact release tag, unchanged by the 2026-11-30 check: not re-checked against upstream releases"


@dataclass(frozen=True)
class PinCheck:
    line: str
    """The release line the pin follows (Renovate moves it within that line; a new major is a reviewed PR)."""
    source: str
    checked: str = CHECKED_ON
    version_parts: int = 3
    """Numeric parts of an exact version (PostgreSQL's own versions have two: 17.11)."""


def _official(repository: str, line: str, version_parts: int = 3) -> PinCheck:
    return PinCheck(line=line, source=OFFICIAL_IMAGES.format(repository=repository), version_parts=version_parts)


PIN_CHECKS: dict[str, PinCheck] = {
    # --- official images: moved to the newest tag the library file still builds ---
    "postgres": _official("postgres", "17 (18 moves the data directory)", version_parts=2),
    "redis": _official("redis", "8.2"),
    "neo4j": _official("neo4j", "5.26 LTS"),
    "kong": _official("kong", "3.9"),
    "rabbitmq": _official("rabbitmq", "4.2"),
    "docker": _official("docker", "29 (only the newest minor is built)"),
    "node": _official("node", "22 LTS (jod)"),
    "haproxy": _official("haproxy", "3.4 LTS (the socket proxy; -alpine for busybox wget)"),
    # --- vendor images ---
    "hashicorp/consul": PinCheck(
        line="1.22",
        source="1.22.3 is the newest 1.22 patch found (openEuler's consul image packaging lists 1.22.3); "
        "hashicorp/consul is no longer an official image and its releases repository was too large to read here; "
        "2.0 exists (Renovate PRs from May 2026): a major upgrade, left to a reviewed Renovate PR",
    ),
    "hashicorp/consul-esm": PinCheck(line="0.10", source=NOT_RECHECKED),
    "chromadb/chroma": PinCheck(line="1.3", source=NOT_RECHECKED),
    "qdrant/qdrant": PinCheck(line="1.16", source=NOT_RECHECKED),
    "prom/prometheus": PinCheck(line="3.8", source=NOT_RECHECKED),
    "grafana/grafana": PinCheck(line="12.2", source=NOT_RECHECKED),
    "grafana/loki": PinCheck(line="3.5", source=NOT_RECHECKED),
    "prom/alertmanager": PinCheck(line="0.28", source=NOT_RECHECKED),
    "prom/blackbox-exporter": PinCheck(line="0.27", source=NOT_RECHECKED),
    "prom/node-exporter": PinCheck(line="1.9", source=NOT_RECHECKED),
    "gcr.io/cadvisor/cadvisor": PinCheck(line="0.52", source=NOT_RECHECKED),
    "quay.io/prometheuscommunity/postgres-exporter": PinCheck(line="0.18", source=NOT_RECHECKED),
    "oliver006/redis_exporter": PinCheck(line="1.74", source=NOT_RECHECKED),
    "prom/consul-exporter": PinCheck(line="0.13", source=NOT_RECHECKED),
    "jaegertracing/jaeger": PinCheck(line="2.13", source=NOT_RECHECKED),
    "grafana/alloy": PinCheck(line="1.10", source=NOT_RECHECKED),
    "ollama/ollama": PinCheck(line="0.12", source=NOT_RECHECKED),
}

NO_LONGER_REBUILT = frozenset({"postgres:17.6-alpine", "kong:3.9.1", "docker:29.0-dind", "node:22.21-bookworm-slim"})
"""Tags that still pull but are missing from the official-images library files: no security rebuilds."""

_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)")


def split_reference(image: str) -> tuple[str, str]:
    """(repository, tag) of `repo[:tag][@digest]`; the tag is empty when there is none."""
    name = image.split("@", 1)[0]
    repository, _, tag = name.rpartition(":")
    if not repository or "/" in tag:
        return name, ""
    return repository, tag


def version_parts(tag: str) -> int:
    """How many numeric parts the tag's leading version has (`8.2.9-alpine`: 3, `8.2-alpine`: 2, `alpine`: 0)."""
    match = _VERSION.match(tag)
    return 0 if match is None else len(match.group(1).split("."))
