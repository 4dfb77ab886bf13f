"""Kong: the node's `/status` and each upstream's target health (the circuit breaker's state) from the
read-only status listener; with an Admin API URL, also the routes that reach each service.

API: https://developer.konghq.com/api/gateway/admin-oss/ (GET /status, /upstreams,
/upstreams/{upstream}/health, /services, /routes); target health values HEALTHY, UNHEALTHY,
DNS_ERROR, HEALTHCHECKS_OFF: https://developer.konghq.com/gateway/traffic-control/health-checks-circuit-breakers/
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from mesh_status.http import BadAnswerError, Limits, UnreachableError, get_json, request
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


def read_kong(session: requests.Session, status_url: str, limits: Limits, expected_services: Sequence[str] = ()) -> KongResult:
    """Kong's status listener: `/status`, then each expected service's upstream health.

    The status listener (read-only) serves `/status` and, in DB-less mode, `GET /upstreams/{name}/health`
    but no upstream list (kong/status/init.lua, Kong 3.9.1), so the upstreams are looked up by the
    stack's naming (`<service>-upstream`); a 404 means the service is not routed. An Admin API URL
    works too: its `/upstreams` list is used when it answers, and its routes name each service's paths.
    """
    result = KongResult()
    try:
        status, _ = get_json(session, f"{status_url}/status", limits)
    except (UnreachableError, BadAnswerError) as error:
        result.error = str(error)
        result.observations.append(Observation("kong", "http", Verdict.FAIL, f"status API: {error}"))
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
        listed = request(session, "GET", f"{status_url}/upstreams", limits)
        if listed.status_code == 404:
            for service in sorted(set(expected_services)):
                circuit = _circuit(session, status_url, f"{service}-upstream", limits, missing_ok=True)
                if circuit is not None:
                    result.circuits.append(circuit)
            return result
        upstreams = _paged(session, status_url, "/upstreams", limits)
        services = _paged(session, status_url, "/services", limits)
        routes = _paged(session, status_url, "/routes", limits)
    except (UnreachableError, BadAnswerError) as error:
        result.error = str(error)
        result.observations.append(Observation("kong", "http", Verdict.FAIL, f"admin API: {error}"))
        return result

    upstream_names = {str(upstream.get("name")) for upstream in upstreams}
    for upstream in sorted(upstream_names):
        circuit = _circuit(session, status_url, upstream, limits)
        if circuit is not None:
            result.circuits.append(circuit)

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


def _circuit(session: requests.Session, base_url: str, upstream: str, limits: Limits, missing_ok: bool = False) -> Observation | None:
    service = upstream_service(upstream)
    url = f"{base_url}/upstreams/{quote(upstream, safe='')}/health"
    try:
        if missing_ok and request(session, "GET", url, limits).status_code == 404:
            return None
        body, _ = get_json(session, url, limits)
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
