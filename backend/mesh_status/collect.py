"""Collect: ask every source of a deployment at once (bounded), fold the observations into one
`ServiceStatus` per service and the four "Validation Results" sections."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mesh_status.consul import ConsulResult, percentile, read_consul
from mesh_status.datastores import check_database
from mesh_status.http import Limits, UnreachableError, new_session
from mesh_status.kong import KongResult, read_kong
from mesh_status.mcp import NotMcpError, handshake
from mesh_status.model import MeshReport, Section, ServiceStatus, Verdict, combine
from mesh_status.observation import Observation
from mesh_status.prometheus import read_prometheus
from mesh_status.targets import MeshTargets
from mesh_status.web import check_grafana, check_jaeger

COMMUNICATION_SOURCES = ("http", "mcp", "tcp", "auth", "prometheus")
_WORST = {
    "consul_check": ("passing", "warning", "critical"),
    "scrape_health": ("up", "unknown", "down"),
}


@dataclass(frozen=True)
class Thresholds:
    max_lookup_p95_ms: float = 250.0
    """Slowest acceptable 95th percentile of a Consul service lookup."""


def check_mcp(name: str, url: str, limits: Limits) -> Observation:
    try:
        found = handshake(new_session(), url, limits)
    except UnreachableError as error:
        return Observation(name, "mcp", Verdict.FAIL, str(error))
    except NotMcpError as error:
        return Observation(name, "mcp", Verdict.FAIL, f"{url} is not an MCP server: {error}")
    tools = "" if found.tools is None else f", {found.tools} tool(s)"
    return Observation(
        name, "mcp", Verdict.PASS, f"initialize: {found.server_name} {found.server_version}, protocol {found.protocol_version}{tools}"
    )


def collect(targets: MeshTargets, limits: Limits | None = None, thresholds: Thresholds | None = None) -> MeshReport:
    limits = limits or Limits()
    thresholds = thresholds or Thresholds()
    jobs: dict[str, Callable[[], Any]] = {}
    if targets.consul_url:
        url, token = targets.consul_url, targets.consul_token
        jobs["consul"] = lambda: read_consul(new_session(), url, token, targets.expected_services, limits)
    if targets.kong_status_url:
        kong_url = targets.kong_status_url
        jobs["kong"] = lambda: read_kong(new_session(), kong_url, limits, targets.expected_services)
    if targets.prometheus_url:
        prometheus_url = targets.prometheus_url
        jobs["prometheus"] = lambda: read_prometheus(new_session(), prometheus_url, limits).observations
    if targets.grafana_url:
        grafana_url = targets.grafana_url
        jobs["grafana"] = lambda: [check_grafana(new_session(), grafana_url, limits)]
    if targets.jaeger_url:
        jaeger_url = targets.jaeger_url
        jobs["jaeger"] = lambda: [check_jaeger(new_session(), jaeger_url, limits)]
    for name, mcp_url in targets.mcp_servers.items():
        jobs[f"mcp:{name}"] = lambda name=name, mcp_url=mcp_url: [check_mcp(name, mcp_url, limits)]  # type: ignore[misc]
    for database in targets.databases:
        jobs[f"db:{database.name}"] = lambda database=database: check_database(database, limits.connect_timeout_s + limits.read_timeout_s)  # type: ignore[misc]

    results = _run_bounded(jobs, deadline_s=4 * limits.worst_case_s + 5)

    statuses: dict[str, ServiceStatus] = {name: ServiceStatus(name) for name in targets.expected_services}
    consul = results.get("consul")
    kong = results.get("kong")
    observations: list[Observation] = []
    for value in results.values():
        if isinstance(value, ConsulResult | KongResult):
            observations.extend(value.observations)
            if isinstance(value, KongResult):
                observations.extend(value.circuits)
        else:
            observations.extend(value)
    for observation in observations:
        _fold(statuses.setdefault(observation.service, ServiceStatus(observation.service)), observation)

    sections = [
        _discovery_section(targets, consul if isinstance(consul, ConsulResult) else None),
        _communication_section(observations),
        _circuit_section(targets, kong if isinstance(kong, KongResult) else None),
        _performance_section(consul if isinstance(consul, ConsulResult) else None, thresholds),
    ]
    return MeshReport(services=dict(sorted(statuses.items())), sections=sections)


def _run_bounded(jobs: dict[str, Callable[[], Any]], deadline_s: float) -> dict[str, Any]:
    """Every job in parallel; one still running at the deadline is reported, not waited for."""
    results: dict[str, Any] = {}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(16, len(jobs))), thread_name_prefix="mesh-status")
    try:
        futures = {pool.submit(job): key for key, job in jobs.items()}
        end = time.monotonic() + deadline_s
        for future, key in futures.items():
            try:
                results[key] = future.result(timeout=max(0.0, end - time.monotonic()))
            except concurrent.futures.TimeoutError:
                results[key] = _timed_out_observations(key, deadline_s)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results


def _timed_out_observations(key: str, seconds: float) -> list[Observation]:
    service = key.split(":", 1)[-1]
    source = {"consul": "consul", "kong": "kong", "prometheus": "prometheus"}.get(key, "http")
    return [Observation(service, source, Verdict.UNKNOWN, f"no result within {seconds:g}s")]


def _fold(status: ServiceStatus, observation: Observation) -> None:
    status.add(observation.source, observation.verdict, observation.detail)
    for name, value in observation.fields.items():
        current = getattr(status, name)
        if name in _WORST and current is not None and value is not None:
            order = _WORST[name]
            value = max(current, value, key=lambda state: order.index(state) if state in order else len(order))
        elif name == "route" and current:
            value = f"{current}, {value}"
        setattr(status, name, value)


def _discovery_section(targets: MeshTargets, consul: ConsulResult | None) -> Section:
    name = "service discovery"
    if not targets.consul_url:
        return Section(name, Verdict.UNKNOWN, "no Consul endpoint given")
    if consul is None:
        return Section(name, Verdict.UNKNOWN, "Consul did not answer in time")
    if consul.error:
        return Section(name, Verdict.FAIL, f"Consul: {consul.error}")
    verdict = combine(o.verdict for o in consul.observations)
    passing = sum(1 for o in consul.observations if o.verdict is Verdict.PASS)
    missing = sorted(o.service for o in consul.observations if o.fields.get("registered") is False)
    failing = sorted(o.service for o in consul.observations if o.verdict is Verdict.FAIL and o.fields.get("registered"))
    parts = [f"{len(consul.registered)} registered, {passing}/{len(consul.observations)} passing all checks"]
    if missing:
        parts.append("not registered: " + ", ".join(missing))
    if failing:
        parts.append("checks failing: " + ", ".join(failing))
    if consul.acl_filtered:
        parts.append("some results hidden by ACLs")
    return Section(name, verdict, "; ".join(parts))


def _communication_section(observations: list[Observation]) -> Section:
    probes = [o for o in observations if o.source in COMMUNICATION_SOURCES]
    if not probes:
        return Section("communication", Verdict.UNKNOWN, "no endpoint probed")
    counts = {verdict: sum(1 for o in probes if o.verdict is verdict) for verdict in Verdict}
    detail = f"{len(probes)} probes: {counts[Verdict.PASS]} pass, {counts[Verdict.FAIL]} fail, {counts[Verdict.UNKNOWN]} unknown"
    failing = sorted({o.service for o in probes if o.verdict is Verdict.FAIL})
    if failing:
        detail += "; failing: " + ", ".join(failing)
    return Section("communication", combine(o.verdict for o in probes), detail)


def _circuit_section(targets: MeshTargets, kong: KongResult | None) -> Section:
    name = "circuit breakers"
    if not targets.kong_status_url:
        return Section(name, Verdict.UNKNOWN, "no Kong status endpoint given")
    if kong is None:
        return Section(name, Verdict.UNKNOWN, "Kong did not answer in time")
    if kong.error:
        return Section(name, Verdict.FAIL, f"Kong: {kong.error}")
    if not kong.circuits:
        return Section(name, Verdict.UNKNOWN, "Kong has no upstreams: no circuit breaker to observe")
    closed = sum(1 for c in kong.circuits if c.verdict is Verdict.PASS)
    detail = f"{closed}/{len(kong.circuits)} upstreams closed"
    others = [c.detail for c in kong.circuits if c.verdict is not Verdict.PASS]
    if others:
        detail += "; " + "; ".join(others)
    return Section(name, combine(c.verdict for c in kong.circuits), detail)


def _performance_section(consul: ConsulResult | None, thresholds: Thresholds) -> Section:
    name = "discovery lookups"
    if consul is None or not consul.lookup_ms:
        return Section(name, Verdict.UNKNOWN, "no Consul lookup measured")
    timings = consul.lookup_ms
    p50, p95 = percentile(timings, 0.5), percentile(timings, 0.95)
    detail = f"{len(timings)} lookups: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(timings):.1f} ms"
    detail += f" (limit p95 {thresholds.max_lookup_p95_ms:g} ms)"
    return Section(name, Verdict.PASS if p95 <= thresholds.max_lookup_p95_ms else Verdict.FAIL, detail)
