"""`make verify` against the engine's published ports: healthy services pass, a stopped or paused one fails it.

The tool is run as `make verify` runs it (`python -m tools.verify`), with the endpoints and passwords the
program exports (`accessPoints`, `connectionStrings`) for the services that have a stand-in.
"""

from __future__ import annotations

import json
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


def run_verify(mesh: ReplayedMesh, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.verify", *verify_flags(mesh), *extra], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def verdicts(mesh: ReplayedMesh) -> tuple[int, dict[str, tuple[str, str]], dict[str, str], dict[str, list[str]]]:
    """Exit code, then the verdicts `make verify --json` returned: per section, per service, and each service's findings."""
    done = run_verify(mesh, "--json")
    report = json.loads(done.stdout)
    sections = {section["name"]: (section["verdict"], section["detail"]) for section in report["sections"]}
    services = {service["name"]: service["verdict"] for service in report["services"]}
    findings = {
        service["name"]: [f"{finding['source']} {finding['verdict']}: {finding['detail']}" for finding in service["findings"]]
        for service in report["services"]
    }
    return done.returncode, sections, services, findings


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


# the sections only Consul or Kong can answer, and what verify says when it has neither
NO_STAND_IN = {
    "service discovery": "no Consul endpoint given",
    "discovery lookups": "no Consul lookup measured",
    "circuit breakers": "no Kong status endpoint given",
}


def test_verify_reports_the_replayed_services_healthy(mesh: ReplayedMesh) -> None:
    """Every probed service passes with its credentials; Consul and Kong have no stand-in, and verify says so instead of
    claiming anything: those rows are UNKNOWN, which alone makes the exit code 1 ("1 on any failure or unknown")."""
    exit_code, sections, services, findings = verdicts(mesh)
    assert services == dict.fromkeys(DATABASES, "pass"), findings
    assert any(line.startswith("auth pass: logged in as mesh_app") for line in findings["postgres"]), findings
    assert any(line == "auth pass: AUTH + PING answered PONG" for line in findings["redis"]), findings
    assert sections["communication"][0] == "pass", sections
    assert {name: section for name, section in sections.items() if section[0] != "pass"} == {
        name: ("unknown", reason) for name, reason in NO_STAND_IN.items()
    }
    assert exit_code == 1
    # the table a user reads says the same
    table = run_verify(mesh).stdout
    assert all(reason in table for reason in NO_STAND_IN.values()), table


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
    exit_code, sections, services, findings = verdicts(mesh)
    assert exit_code == 1, findings
    # the fault shows on that service and on communication; the other stores still pass
    assert services == {other: "fail" if other == service else "pass" for other in DATABASES}, findings
    assert sections["communication"][0] == "fail", sections
