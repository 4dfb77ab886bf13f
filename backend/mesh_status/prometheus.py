"""Prometheus: the health of every active scrape target (`/api/v1/targets`), per service.

A target belongs to the service named by its `service` label, else its `job` label.
API: https://prometheus.io/docs/prometheus/latest/querying/api/#targets
"""

from __future__ import annotations

from dataclasses import dataclass, field

import requests

from mesh_status.http import BadAnswerError, Limits, UnreachableError, get_json
from mesh_status.model import Verdict
from mesh_status.observation import Observation

SERVICE_LABELS = ("service", "job")
_VERDICTS = {"up": Verdict.PASS, "down": Verdict.FAIL}


@dataclass
class PrometheusResult:
    observations: list[Observation] = field(default_factory=list)
    error: str | None = None
    targets: int = 0


def read_prometheus(session: requests.Session, url: str, limits: Limits) -> PrometheusResult:
    result = PrometheusResult()
    try:
        body, _ = get_json(session, f"{url}/api/v1/targets?state=active", limits)
    except (UnreachableError, BadAnswerError) as error:
        result.error = str(error)
        result.observations.append(Observation("prometheus", "http", Verdict.FAIL, f"targets API: {error}"))
        return result
    if not isinstance(body, dict) or body.get("status") != "success":
        result.error = "targets API did not answer status=success"
        result.observations.append(Observation("prometheus", "http", Verdict.FAIL, result.error))
        return result
    active = [t for t in (body.get("data") or {}).get("activeTargets") or [] if isinstance(t, dict)]
    result.targets = len(active)
    result.observations.append(Observation("prometheus", "http", Verdict.PASS, f"targets API answers ({len(active)} active targets)"))
    for target in active:
        labels = target.get("labels") or {}
        service = next((str(labels[key]) for key in SERVICE_LABELS if labels.get(key)), None)
        if service is None:
            continue
        health = str(target.get("health") or "unknown")
        where = target.get("scrapeUrl") or labels.get("instance") or "?"
        if health == "up":
            detail = f"scrape {where} up"
        elif health == "down":
            detail = f"scrape {where} down: {target.get('lastError') or 'no error given'}"
        else:
            detail = f"scrape {where} not scraped yet"
        result.observations.append(
            Observation(service, "prometheus", _VERDICTS.get(health, Verdict.UNKNOWN), detail, {"scrape_health": health})
        )
    return result
