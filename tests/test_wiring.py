"""Wiring declares what it reads and the composition root resolves it; the plan is computed once per run."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

import components.plan.stack
import components.stack.mesh
from components.catalog.services import CATALOG
from components.model.mesh import parse_mesh_config
from components.offline.synth import Capture
from components.offline.types import CONTAINER
from components.plan.stack import plan_stack
from components.stack.mesh import deploy_waves
from components.wiring.base import Need, ServiceWiring, UndeclaredNeedError, Wiring, WiringContext, merge_wiring
from components.wiring.registry import WIRING

COMPONENTS = Path(components.plan.stack.__file__).resolve().parent.parent


def test_every_wired_service_is_a_catalog_service() -> None:
    assert set(WIRING) <= set(CATALOG)


def test_merging_wiring_tables_refuses_a_service_wired_twice() -> None:
    def nothing(context: WiringContext) -> Wiring:
        return Wiring()

    assert set(merge_wiring({"redis": ServiceWiring(nothing)}, {"loki": ServiceWiring(nothing)})) == {"redis", "loki"}
    with pytest.raises(ValueError, match="redis is wired twice"):
        merge_wiring({"redis": ServiceWiring(nothing)}, {"redis": ServiceWiring(nothing)})


def test_services_that_read_consul_tokens_are_deployed_after_discovery_with_what_starts_after_them() -> None:
    before, after = deploy_waves(plan_stack(parse_mesh_config({})), WIRING)
    needing = {name for name, wiring in WIRING.items() if Need.DISCOVERY in wiring.needs}
    assert needing == {"consul-esm", "prometheus", "consul-exporter", "backend"}
    assert needing <= {service.name for service in after}
    assert "consul" in {service.name for service in before}
    # without Consul there is nothing to wait for
    before, after = deploy_waves(
        plan_stack(parse_mesh_config({"services": {name: {"enabled": False} for name in ("consul", "consul-esm", "consul-exporter")}})),
        WIRING,
    )
    assert after == []


def _redeclared(monkeypatch: pytest.MonkeyPatch, service: str, **changes: object) -> None:
    table = dict(WIRING)
    table[service] = replace(table[service], **changes)  # type: ignore[arg-type]
    monkeypatch.setattr(components.stack.mesh, "WIRING", table)


def test_a_wiring_that_reads_a_consul_token_without_declaring_it_fails_the_synthesis(
    synth: Callable[..., Capture], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the old hand-kept list let Prometheus silently lose its Consul token; now the omission is an error
    _redeclared(monkeypatch, "prometheus", needs=frozenset())
    with pytest.raises(UndeclaredNeedError, match="the wiring of prometheus uses discovery"):
        synth()


def test_a_wiring_that_uses_credentials_or_another_service_without_declaring_them_fails(
    synth: Callable[..., Capture], monkeypatch: pytest.MonkeyPatch
) -> None:
    _redeclared(monkeypatch, "redis", needs=frozenset())
    with pytest.raises(UndeclaredNeedError, match="the wiring of redis uses credentials"):
        synth()
    monkeypatch.undo()
    _redeclared(monkeypatch, "backend", reads=frozenset({"consul"}))
    with pytest.raises(UndeclaredNeedError, match="the wiring of backend reads kong"):
        synth()


def test_every_service_needing_discovery_gets_its_token(plan: Capture) -> None:
    backend = plan.one(CONTAINER, "backend").plain
    assert any(env.startswith("MESH_CONSUL_TOKEN=") for env in backend["envs"])
    exporter = plan.one(CONTAINER, "consul-exporter").plain
    assert any(env.startswith("CONSUL_HTTP_TOKEN=") for env in exporter["envs"])
    prometheus = plan.one(CONTAINER, "prometheus").plain
    assert any(upload["file"].endswith("/consul-token") for upload in prometheus["uploads"])


def test_the_stack_plan_is_computed_once_per_run(synth: Callable[..., Capture], monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"plan_gateway": 0, "service_endpoints": 0, "mcp_endpoints": 0}
    for name in calls:
        original = getattr(components.plan.stack, name)

        def counted(*args: object, _name: str = name, _original: Callable[..., object] = original) -> object:
            calls[_name] += 1
            return _original(*args)

        monkeypatch.setattr(components.plan.stack, name, counted)
    synth()
    assert calls == {"plan_gateway": 1, "service_endpoints": 1, "mcp_endpoints": 1}
    # and nothing above the plan layer imports them to compute its own copy
    importers = [
        f"{path.relative_to(COMPONENTS)}: {alias.name}"
        for path in COMPONENTS.rglob("*.py")
        if path.relative_to(COMPONENTS).parts[0] != "plan"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name in calls
    ]
    assert importers == []
