"""What `make bench` relies on: its scaled stacks are valid configs of the size it claims."""

from __future__ import annotations

from components.model.mesh import parse_mesh_config
from components.offline.bench import DEFAULT_RESOURCES, RESOURCES_PER_MCP_SERVER, SCALE_ROUNDS, scaled_config
from components.plan.mcp import resolve_mcp
from components.plan.services import resolve_services


def test_the_default_stack_has_the_resource_count_the_bench_scales_from(plan):
    assert len(plan.resources) == DEFAULT_RESOURCES


def test_one_more_mcp_server_adds_the_resources_the_bench_counts_on(synth):
    grown = synth(scaled_config(2))
    extra = len(scaled_config(2)["mcpServers"])
    assert len(grown.resources) == DEFAULT_RESOURCES + extra * RESOURCES_PER_MCP_SERVER
    assert abs(len(grown.resources) / DEFAULT_RESOURCES - 2) < 0.05


def test_every_bench_scale_is_a_valid_stack_config():
    for scale in SCALE_ROUNDS:
        config = parse_mesh_config(scaled_config(scale))
        mcp = resolve_mcp(config, resolve_services(config))
        assert len(mcp.servers) == 6 + len(scaled_config(scale).get("mcpServers", {}))
