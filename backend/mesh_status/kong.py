"""Kong: the node's `/status`, each upstream's target health (the circuit breaker's state) and the
routes that reach each service, all from the Admin API (read-only calls, fine in DB-less mode).

API: https://developer.konghq.com/api/gateway/admin-oss/ (GET /status, /upstreams,
/upstreams/{upstream}/health, /services, /routes); target health values HEALTHY, UNHEALTHY,
DNS_ERROR, HEALTHCHECKS_OFF: https://developer.konghq.com/gateway/traffic-control/health-checks-circuit-breakers/
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from mesh_status.http import BadAnswerError, Limits, UnreachableError, get_json
from mesh_status.model import Verdict
from mesh_status.observation import Observation

MAX_PAGES = 20
_EMPTY_CONFIG_HASH = "0" * 32
_UPSTREAM_SUFFIXES = (".upstream", "-upstream", "_upstream")


@dataclass
class KongResult:
    observations: list[Observation] = field(default_factory=list)
    circuits: list[Observation] = field(default_factory=list)
    """One per upstream: the circuit-breaker verdict."""
    error: str | None = None


def upstream_service(upstream: str) -> str:
    """The mesh service an upstream balances (`backend`, `backend-upstream`, `backend.upstream`)."""
    for suffix in _UPSTREAM_SUFFIXES:
        if upstream.endswith(suffix):
            return upstream[: -len(suffix)]
    return upstream


def _paged(session: requests.Session, base: str, path: str, limits: Limits) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    next_path: str | None = path
    for _ in range(MAX_PAGES):
        if not next_path:
            break
        body, _ = get_json(session, base + next_path, limits)
        items.extend(item for item in body.get("data") or [] if isinstance(item, dict))
        next_path = body.get("next")
    return items


def read_kong(session: requests.Session, admin_url: str, limits: Limits) -> KongResult:
    result = KongResult()
    try:
        status, _ = get_json(session, f"{admin_url}/status", limits)
    except (UnreachableError, BadAnswerError) as error:
        result.error = str(error)
        result.observations.append(Observation("kong", "http", Verdict.FAIL, f"admin API: {error}"))
        return result
    config_hash = status.get("configuration_hash") if isinstance(status, dict) else None
    if config_hash == _EMPTY_CONFIG_HASH:
        result.observations.append(Observation("kong", "http", Verdict.FAIL, "no declarative configuration loaded"))
    elif isinstance(status, dict) and isinstance(status.get("server"), dict):
        server = status["server"]
        result.observations.append(
            Observation("kong", "http", Verdict.PASS, f"/status answers ({server.get('connections_active', '?')} active connections)")
        )
    else:
        result.observations.append(Observation("kong", "http", Verdict.FAIL, "/status body is not Kong's status document"))
        return result

    try:
        upstreams = _paged(session, admin_url, "/upstreams", limits)
        services = _paged(session, admin_url, "/services", limits)
        routes = _paged(session, admin_url, "/routes", limits)
    except (UnreachableError, BadAnswerError) as error:
        result.error = str(error)
        result.observations.append(Observation("kong", "http", Verdict.FAIL, f"admin API: {error}"))
        return result

    upstream_names = {str(upstream.get("name")) for upstream in upstreams}
    for upstream in sorted(upstream_names):
        result.circuits.append(_circuit(session, admin_url, upstream, limits))

    # route paths per mesh service: a Kong service named after it, or whose host is its upstream
    paths_by_kong_service: dict[str, list[str]] = {}
    for route in routes:
        owner = (route.get("service") or {}).get("id")
        if owner:
            paths_by_kong_service.setdefault(str(owner), []).extend(str(p) for p in route.get("paths") or [])
    for kong_service in services:
        host = str(kong_service.get("host") or "")
        mesh_service = upstream_service(host) if host in upstream_names else str(kong_service.get("name") or host)
        paths = paths_by_kong_service.get(str(kong_service.get("id")), [])
        if paths:
            result.observations.append(
                Observation(
                    mesh_service, "kong", Verdict.PASS, f"routed at {', '.join(sorted(paths))}", {"route": ", ".join(sorted(paths))}
                )
            )
    return result


def _circuit(session: requests.Session, admin_url: str, upstream: str, limits: Limits) -> Observation:
    service = upstream_service(upstream)
    try:
        body, _ = get_json(session, f"{admin_url}/upstreams/{quote(upstream, safe='')}/health", limits)
    except (UnreachableError, BadAnswerError) as error:
        return Observation(service, "kong", Verdict.UNKNOWN, f"upstream {upstream} health not readable: {error}")
    targets = [t for t in body.get("data") or [] if isinstance(t, dict)]
    if not targets:
        return Observation(service, "kong", Verdict.FAIL, f"upstream {upstream} has no targets", {"upstream": "no targets"})
    health = {str(t.get("target")): str(t.get("health")) for t in targets}
    healthy = sum(1 for state in health.values() if state == "HEALTHY")
    summary = f"{healthy}/{len(health)} HEALTHY"
    broken = {target: state for target, state in health.items() if state in ("UNHEALTHY", "DNS_ERROR")}
    if broken:
        listed = ", ".join(f"{target} {state}" for target, state in sorted(broken.items()))
        return Observation(
            service, "kong", Verdict.FAIL, f"upstream {upstream}: circuit open for {listed}", {"upstream": f"open: {summary}"}
        )
    if any(state == "HEALTHCHECKS_OFF" for state in health.values()):
        return Observation(
            service, "kong", Verdict.UNKNOWN, f"upstream {upstream}: health checks off, no circuit breaker", {"upstream": "checks off"}
        )
    if healthy != len(health):
        odd = ", ".join(sorted(set(health.values()) - {"HEALTHY"}))
        return Observation(
            service, "kong", Verdict.UNKNOWN, f"upstream {upstream}: unrecognised target health {odd}", {"upstream": summary}
        )
    return Observation(service, "kong", Verdict.PASS, f"upstream {upstream}: circuit closed, {summary}", {"upstream": f"closed: {summary}"})
