"""Shared fixtures: the default stack synthesized once under mocks, and a helper for other configs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from components.synth import Capture, synthesize
from tests.loopback import LoopbackMesh


@pytest.fixture(scope="session")
def plan() -> Capture:
    """The default stack (Pulumi.dev.yaml's values are the defaults), as registered under mocks."""
    return synthesize()


@pytest.fixture
def synth() -> Callable[..., Capture]:
    """Synthesize another stack config: `synth({"services": {"redis": {"enabled": False}}})`."""

    def run(raw_config: dict[str, Any] | None = None, **kwargs: Any) -> Capture:
        return synthesize(raw_config or {}, **kwargs)

    return run


@pytest.fixture(scope="session")
def loopback_mesh() -> Iterator[LoopbackMesh]:
    """A mesh's observable parts on 127.0.0.1 (real Prometheus, Redis, MCP servers; canned Consul/Kong/Grafana/Jaeger)."""
    mesh = LoopbackMesh()
    yield mesh
    mesh.close()
