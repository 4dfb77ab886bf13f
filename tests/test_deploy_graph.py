"""Deployment-graph maths (critical path, level widths, ordering without data) and synthesis determinism."""

from __future__ import annotations

from dataclasses import dataclass, field

from components.offline.bench import canonical_digest
from components.offline.deploy_graph import analyse
from components.offline.synth import synthesize


@dataclass(frozen=True)
class Node:
    name: str
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    custom: bool = True
    type: str = "test:index:Thing"
    provider: str = ""

    @property
    def urn(self) -> str:
        return f"urn:{self.name}"


def test_critical_path_follows_the_longest_chain_and_widths_count_each_level():
    report = analyse(
        [
            Node("network"),
            Node("image"),
            Node("db", ("urn:network", "urn:image"), {"image": ("urn:image",), "networks": ("urn:network",)}),
            Node("exporter", ("urn:network", "urn:db"), {"networks": ("urn:network",)}),
            Node("component", custom=False),
        ]
    )
    assert report.critical_path == ["image", "db", "exporter"]
    assert report.level_widths == [2, 1, 1]
    assert report.resources == 4
    # the exporter waits for db with no input flowing from it: ordering only
    assert report.ordering_only == [("exporter", "db")]


def test_a_resource_waits_for_its_explicit_provider():
    report = analyse([Node("daemon"), Node("provider", ("urn:daemon",)), Node("inner", provider="urn:provider::provider-id")])
    assert report.critical_path == ["daemon", "provider", "inner"]
    assert report.ordering_only == [("provider", "daemon")]


def test_a_dependency_cycle_is_reported_not_looped_on():
    try:
        analyse([Node("a", ("urn:b",)), Node("b", ("urn:a",))])
    except ValueError as error:
        assert "cycle" in str(error)
    else:
        raise AssertionError("a cycle went unnoticed")


def test_the_default_stack_deploys_in_few_steps(plan):
    report = analyse(plan.resources)
    # the longest chain is the nested daemon's: TLS key -> CSR -> signed cert -> DinD -> its provider -> image -> MCP container
    assert len(report.critical_path) <= 7
    assert report.critical_path[3:5] == ["mcp-orchestrator", "mcp-orchestrator-inner"]
    assert report.level_widths[0] >= 20  # images, volumes, the network and secrets all start at once


def test_two_syntheses_of_one_config_are_byte_identical():
    first, _ = canonical_digest(synthesize())
    second, _ = canonical_digest(synthesize())
    assert first == second
