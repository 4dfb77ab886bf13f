"""The Debian tools the real-tool tests run, and the package that brings each (`.ci/run` installs them all).

A test that needs one skips, naming the package, when it is missing; under `CI=true` the conftest hook
turns that skip into a failure, so CI never passes without running the real-tool checks.
"""

from __future__ import annotations

import shutil

import pytest

DEBIAN_PACKAGE = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "amtool": "prometheus-alertmanager",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "prometheus-blackbox-exporter": "prometheus-blackbox-exporter",
    "deck": "deck",
    "redis-server": "redis-server",
    "redis-cli": "redis-tools",
    "curl": "curl",
    "haproxy": "haproxy",
}
SKIP_REASON_PREFIX = "missing a tool .ci/run installs: "


def _missing(tools: tuple[str, ...]) -> list[str]:
    return [tool for tool in tools if shutil.which(tool) is None]


def _reason(missing: list[str]) -> str:
    return SKIP_REASON_PREFIX + ", ".join(f"{tool} (apt-get install {DEBIAN_PACKAGE[tool]})" for tool in missing)


def needs(*tools: str) -> pytest.MarkDecorator:
    """Mark a test (or a module, as `pytestmark`) that runs these tools."""
    missing = _missing(tools)
    return pytest.mark.skipif(bool(missing), reason=_reason(missing))


def require(*tools: str) -> None:
    """Inside a test or fixture: skip now unless these tools are on PATH."""
    missing = _missing(tools)
    if missing:
        pytest.skip(_reason(missing))
