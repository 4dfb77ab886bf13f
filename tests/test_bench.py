"""What `make bench` relies on: its scaled stacks are valid configs of the size it claims, and the resource
count it scales by is derived from the plan (the catalog with the config applied), not a literal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components.model.mesh import parse_mesh_config
from components.offline.bench import SCALE_ROUNDS, default_resources, scaled_config
from components.offline.resource_count import expected_resources, mcp_server_resources
from components.offline.synth import Capture
from components.plan.mcp import resolve_mcp
from components.plan.services import resolve_services
from components.plan.stack import plan_stack


def test_the_default_stack_has_the_resource_count_the_bench_scales_from(plan: Capture) -> None:
    assert len(plan.resources) == default_resources()


@pytest.mark.parametrize(
    "config",
    [
        {"services": {"ollama": {"enabled": True}, "neo4j": {"enabled": False}}},
        {"services": {"backend": {"replicas": 3}, "blackbox-exporter": {"replicas": 2}}},
        {"services": {"backend": {"image": "ghcr.io/example/backend:1.0"}, "grafana": {"enabled": False}}},
        {"services": {name: {"enabled": False} for name in ("consul", "consul-esm", "consul-exporter")}},
        {
            "mcpServers": {
                "files": {"enabled": False},
                "time": {"port": 3020, "package": "@example/mcp-time@1.4.2", "bin": "t", "dataPath": "/s"},
            }
        },
    ],
    ids=["a catalog service more and one less", "replicas", "external backend image, no Grafana", "no Consul", "MCP servers"],
)
def test_the_resource_count_follows_the_catalog_and_config(synth: Callable[..., Capture], config: dict[str, Any]) -> None:
    assert len(synth(config).resources) == expected_resources(plan_stack(parse_mesh_config(config)))


def test_one_more_mcp_server_adds_the_resources_the_bench_counts_on(synth: Callable[..., Capture]) -> None:
    grown = synth(scaled_config(2))
    extra = len(scaled_config(2)["mcpServers"])
    # each brings its component, container, image and Consul registration
    assert len(grown.resources) == default_resources() + extra * (mcp_server_resources(data_path=None) + 1)
    assert abs(len(grown.resources) / default_resources() - 2) < 0.05


def test_every_bench_scale_is_a_valid_stack_config() -> None:
    for scale in SCALE_ROUNDS:
        config = parse_mesh_config(scaled_config(scale))
        mcp = resolve_mcp(config, resolve_services(config))
        assert len(mcp.servers) == 6 + len(scaled_config(scale).get("mcpServers", {}))
