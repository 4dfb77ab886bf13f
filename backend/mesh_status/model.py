"""The typed report: a verdict per finding, per service, per section and for the whole mesh."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    """Not observed, or not observable: never counted as healthy."""


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """Any failure fails; otherwise anything unknown (or nothing observed at all) is unknown."""
    seen = list(verdicts)
    if Verdict.FAIL in seen:
        return Verdict.FAIL
    if not seen or Verdict.UNKNOWN in seen:
        return Verdict.UNKNOWN
    return Verdict.PASS


@dataclass(frozen=True)
class Finding:
    """One observation about one service, from one source, with the reason in words."""

    source: str
    """consul, prometheus, kong, mcp, tcp, auth, http."""
    verdict: Verdict
    detail: str


@dataclass
class ServiceStatus:
    name: str
    registered: bool | None = None
    """Known to Consul's catalog (None: Consul was not read, or hid it behind ACLs)."""
    consul_check: str | None = None
    """Worst Consul check status: passing, warning, critical (None: no check seen)."""
    scrape_health: str | None = None
    """Worst Prometheus target health: up, down, unknown (None: no scrape target)."""
    route: str | None = None
    """Kong route paths that reach it."""
    upstream: str | None = None
    """Kong upstream target health, i.e. the circuit state (`2/2 HEALTHY`, `circuit open: ...`)."""
    findings: list[Finding] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return combine(finding.verdict for finding in self.findings)

    @property
    def reasons(self) -> list[str]:
        """What keeps it from passing, worst first."""
        order = {Verdict.FAIL: 0, Verdict.UNKNOWN: 1}
        bad = [finding for finding in self.findings if finding.verdict is not Verdict.PASS]
        return [f"{finding.source}: {finding.detail}" for finding in sorted(bad, key=lambda finding: order[finding.verdict])] or (
            [] if self.findings else ["nothing observed"]
        )

    def add(self, source: str, verdict: Verdict, detail: str) -> None:
        self.findings.append(Finding(source, verdict, detail))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict.value,
            "registered": self.registered,
            "consulCheck": self.consul_check,
            "scrapeHealth": self.scrape_health,
            "route": self.route,
            "upstream": self.upstream,
            "findings": [{"source": f.source, "verdict": f.verdict.value, "detail": f.detail} for f in self.findings],
        }


@dataclass(frozen=True)
class Section:
    """A row of the "Validation Results": service discovery, communication, circuit breakers, performance."""

    name: str
    verdict: Verdict
    detail: str


@dataclass
class MeshReport:
    services: dict[str, ServiceStatus]
    sections: list[Section]

    @property
    def verdict(self) -> Verdict:
        return combine([section.verdict for section in self.sections] + [service.verdict for service in self.services.values()])

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "sections": [{"name": s.name, "verdict": s.verdict.value, "detail": s.detail} for s in self.sections],
            "services": [service.to_dict() for service in self.services.values()],
        }
