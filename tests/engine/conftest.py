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
from components.offline.engine.replay import ContainerSpec, ReplayRun, plan_containers, remove_replayed, replay
from components.offline.engine.standins import adapted, ensure_standin, fitting_config, standin_services
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


@pytest.fixture(scope="session")
def capture() -> Capture:
    override = fitting_config(synthesize())
    if override:
        print(
            f"engine: this host has {os.cpu_count()} CPUs; replaying with mesh:mcpOrchestrator.cpus={override['mcpOrchestrator']['cpus']}"
        )
    return synthesize(override)


@pytest.fixture(scope="session")
def tls(capture: Capture) -> TlsMaterial:
    return generate(capture)


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


@pytest.fixture(scope="session")
def mesh(docker_client: Any, capture: Capture, images: dict[str, str], tls: TlsMaterial) -> Iterator[ReplayedMesh]:
    """Every service with a stand-in, replayed from the program's registrations, all created in parallel."""
    specs = [adapted(spec) for spec in plan_containers(capture, standin_services(capture), tls.substitute)]
    try:
        run = replay(docker_client, capture, specs, images, parallel=True)
        yield ReplayedMesh(docker_client, capture, specs, run, images, tls)
    finally:
        remove_replayed(docker_client, capture, specs)
