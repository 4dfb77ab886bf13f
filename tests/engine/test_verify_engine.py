"""`make verify` against the engine's published ports: healthy services pass, a stopped or paused one fails it.

The tool is run as `make verify` runs it (`python -m tools.verify`), with the endpoints and passwords the
program exports (`accessPoints`, `connectionStrings`) for the services that have a stand-in.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.offline.engine.replay import wait_healthy
from components.offline.synth import reveal
from tests.engine.conftest import ReplayedMesh

ROOT = Path(__file__).resolve().parents[2]
DATABASES = {"postgres": "postgres", "redis": "redis", "rabbitmq": "rabbitmq.amqp"}


def verify_flags(mesh: ReplayedMesh) -> list[str]:
    outputs = reveal(mesh.capture.outputs)
    # no --prometheus: the rendered config also scrapes consul and kong, which have no stand-in (docs/engine-standins.md)
    flags = ["--timeout", "3"]
    for service, access_key in DATABASES.items():
        secret = urllib.parse.urlsplit(outputs["connectionStrings"][service])
        published = urllib.parse.urlsplit(outputs["accessPoints"][access_key])
        credentials = secret.netloc.rsplit("@", 1)[0]
        # the exported credentials, at the published address instead of the in-mesh alias
        flags += ["--db", f"{service}=" + secret._replace(netloc=f"{credentials}@{published.netloc}").geturl()]
    return flags


def run_verify(mesh: ReplayedMesh) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.verify", *verify_flags(mesh)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def restore(mesh: ReplayedMesh) -> Iterator[list[str]]:
    """Services a test stopped or paused, brought back and healthy afterwards."""
    touched: list[str] = []
    yield touched
    for service in touched:
        container = mesh.client.containers.get(mesh.spec(service).name)
        container.reload()
        if container.status == "paused":
            container.unpause()
        elif container.status != "running":
            container.start()
        wait_healthy(mesh.client, mesh.spec(service), timeout_s=120, recovering=True)


def results(report: str) -> dict[str, str]:
    """RESULT per row of the printed report (check rows and service rows)."""
    rows = {}
    for line in report.splitlines():
        cells = line.split()
        if cells and cells[0] == "Overall:":
            continue
        if len(cells) >= 2 and cells[1] in ("PASS", "FAIL", "UNKNOWN"):
            rows[cells[0]] = cells[1]
        if len(cells) >= 3 and cells[2] in ("PASS", "FAIL", "UNKNOWN"):
            rows[" ".join(cells[:2])] = cells[2]
    return rows


def test_verify_reports_the_replayed_services_healthy(mesh: ReplayedMesh) -> None:
    """Every probed service passes; the overall verdict stays UNKNOWN (exit 1) only because Consul and Kong have no stand-in."""
    done = run_verify(mesh)
    rows = results(done.stdout)
    assert {service: rows.get(service) for service in DATABASES} == dict.fromkeys(DATABASES, "PASS"), done.stdout
    assert rows.get("communication") == "PASS", done.stdout
    assert {row for row, result in rows.items() if result != "PASS"} == {"service discovery", "circuit breakers", "discovery lookups"}
    assert "no Consul endpoint given" in done.stdout and "no Kong status endpoint given" in done.stdout


@pytest.mark.parametrize(("service", "fault"), [("redis", "pause"), ("postgres", "stop")])
def test_verify_exits_non_zero_when_a_service_is_stopped_or_paused(
    mesh: ReplayedMesh, restore: list[str], service: str, fault: str
) -> None:
    container = mesh.client.containers.get(mesh.spec(service).name)
    restore.append(service)
    if fault == "pause":
        container.pause()
    else:
        container.stop(timeout=10)
    done = run_verify(mesh)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = results(done.stdout)
    assert rows.get(service) == "FAIL" and rows.get("communication") == "FAIL", done.stdout
    assert all(rows.get(other) == "PASS" for other in DATABASES if other != service), done.stdout
