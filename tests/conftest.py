"""Shared fixtures: the default stack synthesized once under mocks, and a helper for other configs."""

from __future__ import annotations

import datetime
import json
import os
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from components.offline.synth import Capture, synthesize
from tests.host_tools import SKIP_REASON_PREFIX, require
from tests.loopback import LoopbackMesh

_STARTED = pytest.StashKey[float]()

# `make mutate`: mutmut sets MUTANT_UNDER_TEST in the process that runs the tests against each mutant. There every
# property-based test tries a few fixed examples: the same verdict on every run, and seconds instead of minutes per
# mutant. `make test` keeps each test's own number of random examples.
MUTATION_EXAMPLES = 10
settings.register_profile("mutation", max_examples=MUTATION_EXAMPLES, derandomize=True, database=None, deadline=None)
UNDER_MUTATION = bool(os.environ.get("MUTANT_UNDER_TEST"))
if UNDER_MUTATION:
    settings.load_profile("mutation")
ENGINE_TESTS = Path(__file__).resolve().parent / "engine"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--engine", action="store_true", help="run tests/engine (a private dockerd; `make test-engine`)")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/engine start a Docker daemon and build images: only `make test-engine` (--engine) collects them."""
    if collection_path == ENGINE_TESTS and not config.getoption("--engine"):
        return True
    return None


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
    require("redis-server", "prometheus")
    mesh = LoopbackMesh()
    yield mesh
    mesh.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under CI=true a skip for a tool .ci/run installs is a failure: CI must never pass without the real-tool checks."""
    report: pytest.TestReport = yield
    if report.skipped and os.environ.get("CI") == "true" and SKIP_REASON_PREFIX in str(report.longrepr):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI=true and this test would skip ({reason}); .ci/run installs that tool, so it must run"
    return report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that synthesize the whole stack: `make mutate` leaves them out (seconds per mutant, not milliseconds)."""
    for item in items:
        if {"plan", "synth", "routed", "loopback_mesh"} & set(getattr(item, "fixturenames", ())):
            item.add_marker("synthesis")
        if UNDER_MUTATION:
            _with_mutation_examples(item)


def _with_mutation_examples(item: pytest.Item) -> None:
    """A test's own `@settings(max_examples=...)` outranks any profile: cap it where `@settings` keeps it."""
    test = getattr(item, "obj", None)
    own = getattr(test, "_hypothesis_internal_use_settings", None)
    if isinstance(own, settings):
        capped = settings(own, max_examples=min(own.max_examples, MUTATION_EXAMPLES), derandomize=True, database=None)
        test._hypothesis_internal_use_settings = capped  # type: ignore[union-attr]


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_STARTED] = time.monotonic()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Record the whole suite's wall time for `make bench` (only the controller, only for a full run)."""
    if hasattr(session.config, "workerinput") or session.config.args not in ([], ["tests"]) or session.config.option.keyword:
        return
    record = {
        "wall_s": round(time.monotonic() - session.config.stash[_STARTED], 1),
        "exit_status": int(exitstatus),
        "tests": session.testscollected,
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    path = Path(session.config.rootpath) / "build" / "test-time.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(record) + "\n")
