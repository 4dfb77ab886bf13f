"""The report as text: the "Validation Results" rows, then one row per service with its reasons."""

from __future__ import annotations

from mesh_status.model import MeshReport, ServiceStatus, Verdict

PROBE_SOURCES = ("http", "mcp", "tcp", "auth")

_MARK = {Verdict.PASS: "PASS", Verdict.FAIL: "FAIL", Verdict.UNKNOWN: "UNKNOWN"}


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return str(value)


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    return lines


def _probes(status: ServiceStatus) -> str:
    """Which direct probes answered as they should (the Prometheus, Consul and Kong views have their own columns)."""
    passed = [f.source for f in status.findings if f.source in PROBE_SOURCES and f.verdict is Verdict.PASS]
    return "+".join(dict.fromkeys(passed)) or "-"


def render_table(report: MeshReport) -> str:
    lines = ["Validation Results", ""]
    lines += _grid(["CHECK", "RESULT", "DETAIL"], [[s.name, _MARK[s.verdict], s.detail] for s in report.sections])
    lines += ["", "Services", ""]
    rows = [
        [
            s.name,
            _MARK[s.verdict],
            _cell(s.registered),
            _cell(s.consul_check),
            _cell(s.scrape_health),
            _cell(s.route),
            _cell(s.upstream),
            _probes(s),
            "; ".join(s.reasons) or "-",
        ]
        for s in report.services.values()
    ]
    lines += _grid(["SERVICE", "RESULT", "CONSUL", "CHECKS", "SCRAPE", "ROUTE", "UPSTREAM", "PROBES", "REASON"], rows)
    lines += ["", f"Overall: {_MARK[report.verdict]}"]
    return "\n".join(lines)
