"""Deployment-graph maths (critical path, level widths, ordering without data) and synthesis determinism."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from components.offline.bench import canonical_digest, run_child
from components.offline.deploy_graph import analyse


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


def test_syntheses_in_interpreters_with_different_hash_seeds_are_byte_identical(plan):
    """Two fresh interpreters (PYTHONHASHSEED 1 and 2) and this one (its own seed) render the same bytes."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        children = list(pool.map(lambda seed: run_child("dump", hash_seed=seed)[1], ["1", "2"]))
    digests = {"seed 1": children[0]["digest"], "seed 2": children[1]["digest"], "this process": canonical_digest(plan)[0]}
    assert len(set(digests.values())) == 1, digests
