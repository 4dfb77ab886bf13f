"""Consul: which services are registered, and the status of every check (`/v1/health/state/any`).

A registered service with no check is unknown, not healthy; results hidden by ACLs are unknown.
API: https://developer.hashicorp.com/consul/api-docs/health#list-checks-in-state
and https://developer.hashicorp.com/consul/api-docs/catalog#list-services
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

import requests

from mesh_status.http import BadAnswerError, Limits, UnreachableError, get_json
from mesh_status.model import Verdict
from mesh_status.observation import Observation

_SEVERITY = {"passing": 0, "warning": 1, "critical": 2}
FILTERED_HEADER = "X-Consul-Results-Filtered-By-ACLs"
LOOKUPS = 10


@dataclass
class ConsulResult:
    observations: list[Observation] = field(default_factory=list)
    error: str | None = None
    acl_filtered: bool = False
    registered: list[str] = field(default_factory=list)
    lookup_ms: list[float] = field(default_factory=list)
    """Latency of service lookups (`/v1/health/service/<name>`), the discovery path clients use."""


def read_consul(session: requests.Session, url: str, token: str | None, expected: Sequence[str], limits: Limits) -> ConsulResult:
    result = ConsulResult()
    headers = {"X-Consul-Token": token} if token else {}
    try:
        catalog, catalog_response = get_json(session, f"{url}/v1/catalog/services", limits, headers)
        checks, checks_response = get_json(session, f"{url}/v1/health/state/any", limits, headers)
    except (UnreachableError, BadAnswerError) as error:
        result.error = str(error)
        for service in expected:
            result.observations.append(Observation(service, "consul", Verdict.UNKNOWN, f"Consul not readable: {error}"))
        return result
    if not isinstance(catalog, dict) or not isinstance(checks, list):
        result.error = "Consul answered with bodies that are not a service map and a check list"
        return result
    result.acl_filtered = any(r.headers.get(FILTERED_HEADER, "").lower() == "true" for r in (catalog_response, checks_response))
    result.registered = sorted(catalog)

    by_service: dict[str, list[dict[str, str]]] = {}
    for check in checks:
        if isinstance(check, dict) and check.get("ServiceName"):
            by_service.setdefault(str(check["ServiceName"]), []).append(check)

    for service in sorted(set(expected) | set(catalog)):
        registered = service in catalog
        service_checks = by_service.get(service, [])
        if not registered:
            verdict = Verdict.UNKNOWN if result.acl_filtered else Verdict.FAIL
            reason = "not visible: the token's ACL policy hides it" if result.acl_filtered else "not registered in Consul"
            result.observations.append(
                Observation(service, "consul", verdict, reason, {"registered": None if result.acl_filtered else False})
            )
            continue
        if not service_checks:
            result.observations.append(
                Observation(service, "consul", Verdict.UNKNOWN, "registered without a health check", {"registered": True})
            )
            continue
        worst = max(service_checks, key=lambda check: _SEVERITY.get(str(check.get("Status")), 3))
        status = str(worst.get("Status"))
        failing = [c for c in service_checks if c.get("Status") != "passing"]
        if not failing:
            verdict, detail = Verdict.PASS, f"{len(service_checks)} check(s) passing"
        else:
            verdict = Verdict.FAIL if status in ("critical", "warning") else Verdict.UNKNOWN
            output = " ".join(str(worst.get("Output") or "").split())[:160]
            detail = f"check {worst.get('Name') or worst.get('CheckID')} is {status}" + (f": {output}" if output else "")
        result.observations.append(Observation(service, "consul", verdict, detail, {"registered": True, "consul_check": status}))

    result.lookup_ms = _time_lookups(session, url, headers, result.registered, limits)
    return result


def _time_lookups(session: requests.Session, url: str, headers: dict[str, str], services: list[str], limits: Limits) -> list[float]:
    """Time up to `LOOKUPS` health lookups across the registered services (what a client does to find one)."""
    timings: list[float] = []
    if not services:
        return timings
    for index in range(LOOKUPS):
        service = services[index % len(services)]
        start = time.perf_counter()
        try:
            get_json(session, f"{url}/v1/health/service/{quote(service, safe='')}?passing=true", limits, headers)
        except (UnreachableError, BadAnswerError):
            break  # a failing Consul is the discovery section's finding; do not wait on it ten times
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def percentile(values: list[float], fraction: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]
