"""What `make bench` relies on: its scaled stacks are valid configs of the size it claims, the resource count it
scales by is derived from the plan (the catalog with the config applied), not a literal; the program's share of
synthesis time counts every thread and every CPU second once; the engine figures count memory as `docker stats`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.model.mesh import parse_mesh_config
from components.offline import bench
from components.offline.bench import ROOT, SCALE_ROUNDS, default_resources, origin, run_child, scaled_config, self_time_by_origin
from components.offline.engine import daemon as engine_daemon
from components.offline.engine.bench import first_create_to_all_healthy, format_engine, measure_engine, memory_rows, used_bytes
from components.offline.engine.replay import ReplayError, ReplayRun, plan_containers
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
                # a second memory server: the same package, so the same committed build context
                "time": {
                    "port": 3020,
                    "package": "@modelcontextprotocol/server-memory@2026.8.31",
                    "bin": "mcp-server-memory",
                    "buildContext": "mcp/servers/memory",
                    "dataPath": "/s",
                },
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


# --- the program's own share of synthesis time (cProfile) ---


def test_each_file_counts_for_the_program_the_mock_engine_or_the_rest() -> None:
    assert origin(str(ROOT / "components" / "render" / "kong.py")) == "program"
    assert origin(str(ROOT / "policies" / "rules.py")) == "program"
    assert origin(str(ROOT / "__main__.py")) == "program"
    assert origin(str(ROOT / "components" / "offline" / "synth.py")) == "mock engine"
    assert origin(pulumi.__file__) == "the rest"
    assert origin(json.__file__) == "the rest"
    assert origin("~") == "the rest"


def test_a_builtins_time_counts_for_the_function_that_called_it() -> None:
    renderer = (str(ROOT / "components" / "render" / "kong.py"), 10, "render_kong")
    sdk = (pulumi.__file__, 20, "register")
    dumps = ("~", 0, "<built-in method _json.encode_basestring>")
    raw = {
        renderer: (1, 1, 0.5, 2.0, {}),
        sdk: (1, 1, 3.0, 4.0, {}),
        # 1.5 s inside the builtin on the renderer's behalf, 1.0 s on the SDK's, 0.25 s before profiling began
        dumps: (3, 3, 2.75, 2.75, {renderer: (2, 2, 1.5, 1.5), sdk: (1, 1, 1.0, 1.0)}),
    }
    assert self_time_by_origin(raw) == {"program": 2.0, "mock engine": 0.0, "the rest": 4.25}


def test_the_profile_sees_every_registration_the_sdk_sends_from_its_thread_pool() -> None:
    """The SDK registers from executor threads: a profile of the main thread alone would count no RegisterResource."""
    run = run_child("profile")[1]
    assert run["threads_profiled"] > 1
    # every resource and the stack itself pass through the recording mock engine's RegisterResource
    assert run["registrations_profiled"] == run["resources"] + 1 == default_resources() + 1
    assert run["cpu_s"]["program"] > 0 and run["cpu_s"]["mock engine"] > 0
    assert all(name.startswith(("components/", "policies/", "__main__.py")) for name in run["program_files_cpu_s"])
    assert not any(name.startswith("components/offline/") for name in run["program_files_cpu_s"])


def test_the_reported_share_is_the_median_rounds_and_adds_up(monkeypatch: pytest.MonkeyPatch) -> None:
    programs = iter([0.3, 0.1, 0.2])

    def profiled(mode: str) -> tuple[None, dict[str, Any]]:
        assert mode == "profile"
        program = next(programs)
        cpu = {"program": program, "mock engine": 0.1, "the rest": 1.6 - program}
        return None, {"resources": 187, "threads_profiled": 8, "cpu_s": cpu, "program_files_cpu_s": {}}

    monkeypatch.setattr(bench, "run_child", profiled)
    share = bench.measure_program_share(3)
    assert share["program_share_each_round"] == [0.1765, 0.0588, 0.1176]
    assert share["share"]["program"] == 0.1176 and share["cpu_s"]["program"] == 0.2
    assert abs(sum(share["share"].values()) - 1) < 1e-3


# --- the engine section ---


def test_memory_is_counted_as_docker_stats_counts_it() -> None:
    # cgroup v1: usage less total_inactive_file (not `cache`); cgroup v2: less inactive_file
    assert used_bytes({"usage": 100, "stats": {"total_inactive_file": 30, "inactive_file": 5, "cache": 60}}) == 70
    assert used_bytes({"usage": 100, "stats": {"inactive_file": 25}}) == 75
    assert used_bytes({"usage": 100, "stats": {"total_inactive_file": 130}}) == 100
    assert used_bytes({"usage": 100}) == 100
    rows = memory_rows({"redis": {"usage": 3 * 2**20, "stats": {"inactive_file": 2**20}}}, {"redis": 512})
    assert rows == [{"service": "redis", "used_mb": 2.0, "limit_mb": 512, "share": 0.004}]


def _run(created: dict[str, float], healthy: dict[str, float]) -> ReplayRun:
    return ReplayRun(created=created, healthy=healthy)


def test_the_start_time_runs_from_the_first_create_to_the_last_healthy(plan: Capture) -> None:
    specs = plan_containers(plan, ["postgres", "postgres-exporter"])
    created = {"sutazai-postgres": 10.0, "sutazai-postgres-exporter": 14.0}
    run = _run(created, {"sutazai-postgres": 13.5, "sutazai-postgres-exporter": 15.25})
    assert first_create_to_all_healthy(run, specs) == 5.25
    # a container with no healthy time would silently shorten the figure
    with pytest.raises(ReplayError, match="sutazai-postgres-exporter"):
        first_create_to_all_healthy(_run(run.created, {"sutazai-postgres": 13.5}), specs)


def test_the_engine_section_says_in_one_line_why_it_is_skipped_or_failed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(engine_daemon, "why_unavailable", lambda: "the private dockerd needs root")
    figures = measure_engine(tmp_path)
    assert figures == {"skipped": "the private dockerd needs root"}
    assert format_engine(figures) == "engine: skipped: the private dockerd needs root"
    failed = {"failed": "sutazai-redis is unhealthy", "first_create_to_all_healthy_s": {}, "met": False}
    assert format_engine(failed) == "engine: FAILED: sutazai-redis is unhealthy"
    assert not bench.report_met(bench.BenchReport(engine=failed))
    assert bench.report_met(bench.BenchReport(engine=figures))


def test_the_retired_sdk_targets_are_gone() -> None:
    """Overhead over the SDK import and the critical path in levels measured the Pulumi SDK, not this program."""
    fields = set(bench.BenchReport.__dataclass_fields__)
    assert fields == {"program_share", "scaling", "determinism", "test_suite", "engine"}
