"""Engine fixtures: one private dockerd per session, the stand-in images, and the program's containers replayed on it.

Without a daemon the engine tests skip with one line saying why; under CI=true they fail instead, because
CI installs docker.io and must prove this tier.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.offline.engine import daemon as engine_daemon
from components.offline.engine.replay import ContainerSpec, ReplayRun, networks_for, plan_containers, replay, volumes_for
from components.offline.engine.standins import STAND_INS, adapted, ensure_standin
from components.offline.engine.tls_material import TlsMaterial, generate
from components.offline.synth import Capture, synthesize

ROOT = Path(__file__).resolve().parents[2]


def _unavailable(reason: str) -> None:
    message = f"engine tests need a private Docker daemon: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def engine() -> Iterator[engine_daemon.PrivateDaemon]:
    reason = engine_daemon.why_unavailable()
    if reason:
        _unavailable(reason)
    try:
        context = engine_daemon.private_daemon()
        daemon = context.__enter__()
    except engine_daemon.EngineUnavailableError as error:
        _unavailable(str(error))
    try:
        yield daemon
    finally:
        context.__exit__(None, None, None)


@pytest.fixture(scope="session")
def docker_client(engine: engine_daemon.PrivateDaemon) -> Any:
    return engine.client()


def engine_config() -> dict[str, Any]:
    """The default stack, except a CPU limit above this host's CPU count (the daemon refuses NanoCpus > CPUs).

    The default orchestrator asks for 4 CPUs: on a smaller host `pulumi up` would fail the same way,
    so the engine runs the program with `mesh:mcpOrchestrator.cpus` set to what the host has, and says so.
    """
    host_cpus = os.cpu_count() or 1
    defaults = synthesize()
    orchestrator = next(r for r in defaults.all("docker:index/container:Container") if r.label("mesh.service") == "mcp-orchestrator")
    if float(orchestrator.plain["cpus"]) <= host_cpus:
        return {}
    print(f"engine: mesh:mcpOrchestrator.cpus {orchestrator.plain['cpus']} > this host's {host_cpus} CPUs; replaying with {host_cpus}")
    return {"mcpOrchestrator": {"cpus": host_cpus}}


@pytest.fixture(scope="session")
def capture() -> Capture:
    return synthesize(engine_config())


@pytest.fixture(scope="session")
def tls(capture: Capture) -> TlsMaterial:
    return generate(capture)


def standin_services(capture: Capture) -> list[str]:
    """Catalog services deployed by the program that have a stand-in image (the `python` base is not a service)."""
    deployed = {r.label("mesh.service") for r in capture.all("docker:index/container:Container") if not r.provider}
    return sorted(service for service in STAND_INS if service in deployed)


@pytest.fixture(scope="session")
def images(docker_client: Any, capture: Capture) -> dict[str, str]:
    """Program image name -> local stand-in tag, built or loaded from build/engine/images."""
    refs = {}
    for spec in plan_containers(capture, standin_services(capture)):
        local = ensure_standin(docker_client, ROOT, spec.service, print)
        refs[spec.image_ref] = local
    return refs


@dataclass
class ReplayedMesh:
    client: Any
    capture: Capture
    specs: list[ContainerSpec]
    run: ReplayRun
    images: dict[str, str]
    tls: TlsMaterial

    def spec(self, service: str) -> ContainerSpec:
        return next(spec for spec in self.specs if spec.service == service)


def remove_replayed(client: Any, capture: Capture, specs: list[ContainerSpec]) -> None:
    for spec in specs:
        for container in client.containers.list(all=True, filters={"name": f"^{spec.name}$"}):
            container.remove(force=True, v=False)
    for network in networks_for(capture, specs):
        for found in client.networks.list(names=[network.plain["name"]]):
            found.remove()
    for volume in volumes_for(capture, specs):
        for found in client.volumes.list(filters={"name": volume.plain["name"]}):
            found.remove(force=True)


@pytest.fixture(scope="session")
def mesh(docker_client: Any, capture: Capture, images: dict[str, str], tls: TlsMaterial) -> Iterator[ReplayedMesh]:
    """Every service with a stand-in, replayed from the program's registrations, all created in parallel."""
    specs = [adapted(spec) for spec in plan_containers(capture, standin_services(capture), tls.substitute)]
    try:
        run = replay(docker_client, capture, specs, images, parallel=True)
        yield ReplayedMesh(docker_client, capture, specs, run, images, tls)
    finally:
        remove_replayed(docker_client, capture, specs)
