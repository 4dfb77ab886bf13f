"""The engine section of `make bench`: the program's containers on a real (private) daemon.

Time from the first create to every replayed container healthy, created in the program's dependency order in
parallel versus one by one (the ratio is the figure), and the memory each service really uses a minute after
the parallel start (`docker stats`) against the limit the program sets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from components.offline.engine import daemon as engine_daemon
from components.offline.engine.replay import ContainerSpec, ReplayError, ReplayRun, plan_containers, remove_replayed, replay
from components.offline.engine.standins import adapted, ensure_standin, fitting_config, standin_services
from components.offline.engine.tls_material import generate
from components.offline.synth import synthesize

SETTLE_S = 60
MODES = (("parallel", True), ("one_by_one", False))


def used_bytes(memory_stats: Mapping[str, Any]) -> int:
    """The memory `docker stats` shows for a container: usage less the inactive page cache.

    docker/cli cli/command/container/stats_helpers.go, calculateMemUsageUnixNoCache (20.10): on cgroup v1
    `usage - stats.total_inactive_file`, on cgroup v2 `usage - stats.inactive_file`, when that is below usage.
    """
    usage = int(memory_stats.get("usage", 0))
    stats = memory_stats.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):  # the first exists only on cgroup v1
        if key in stats:
            inactive = int(stats[key])
            return usage - inactive if inactive < usage else usage
    return usage


def memory_rows(stats_by_service: Mapping[str, Mapping[str, Any]], limits_mb: Mapping[str, float]) -> list[dict[str, Any]]:
    """One row per service: MB used (as `docker stats` counts it) against the program's limit, and the share."""
    rows = []
    for service in sorted(stats_by_service):
        used = used_bytes(stats_by_service[service]) / 2**20
        limit = limits_mb[service]
        rows.append({"service": service, "used_mb": round(used, 1), "limit_mb": round(limit), "share": round(used / limit, 3)})
    return rows


def first_create_to_all_healthy(run: ReplayRun, specs: list[ContainerSpec]) -> float:
    """Seconds from the first container created to the last one healthy; every replayed container must have a healthcheck."""
    missing = sorted(spec.name for spec in specs if spec.name not in run.healthy)
    if missing:
        raise ReplayError(f"no healthy time for {', '.join(missing)} (no `wait`): the figure would leave them out")
    return max(run.healthy.values()) - min(run.created.values())


def _memory(client: Any, specs: list[ContainerSpec]) -> list[dict[str, Any]]:
    stats = {spec.service: client.containers.get(spec.name).stats(stream=False)["memory_stats"] for spec in specs}
    limits = {spec.service: spec.host_config["Memory"] / 2**20 for spec in specs}
    return memory_rows(stats, limits)


def measure_engine(root: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """The engine figures, `{"skipped": reason}` when no private daemon can run here, or `{"failed": ...}`."""
    reason = engine_daemon.why_unavailable()
    if reason:
        return {"skipped": reason}
    override = fitting_config(synthesize())
    capture = synthesize(override)
    tls = generate(capture)
    specs = [adapted(spec) for spec in plan_containers(capture, standin_services(capture), tls.substitute)]
    timings: dict[str, float] = {}
    memory: list[dict[str, Any]] = []
    try:
        with engine_daemon.private_daemon() as running:
            client = running.client()
            images = {spec.image_ref: ensure_standin(client, root, spec.service, log) for spec in specs}
            for mode, parallel in MODES:
                log(f"engine: replaying {len(specs)} containers {mode.replace('_', ' ')}")
                try:
                    run = replay(client, capture, specs, images, parallel=parallel)
                    timings[mode] = round(first_create_to_all_healthy(run, specs), 1)
                    if parallel:
                        time.sleep(SETTLE_S)
                        memory = _memory(client, specs)
                finally:
                    # volumes too: each mode starts from empty data directories (first-start init included)
                    remove_replayed(client, capture, specs)
    except engine_daemon.EngineUnavailableError as error:
        return {"skipped": str(error)}
    except ReplayError as error:
        return {"failed": str(error).splitlines()[0], "first_create_to_all_healthy_s": timings, "met": False}
    return {
        "containers": len(specs),
        "services": sorted(spec.service for spec in specs),
        "first_create_to_all_healthy_s": timings,
        "one_by_one_over_parallel": round(timings["one_by_one"] / timings["parallel"], 2),
        "memory_after_s": SETTLE_S,
        "memory": memory,
        "config_override": override,
    }


def format_engine(figures: Mapping[str, Any]) -> str:
    if "skipped" in figures:
        return f"engine: skipped: {figures['skipped']}"
    if "failed" in figures:
        return f"engine: FAILED: {figures['failed']}"
    timings = figures["first_create_to_all_healthy_s"]
    lines = [
        f"engine: {figures['containers']} replayed containers, first create to all healthy: "
        f"{timings['parallel']} s in parallel, {timings['one_by_one']} s one by one ({figures['one_by_one_over_parallel']}x)",
        f"engine: memory {figures['memory_after_s']} s after the parallel start (docker stats) against the program's limit:",
    ]
    lines += [
        f"  {row['service']:<18} {row['used_mb']:>7.1f} MB of {row['limit_mb']:>5} MB ({row['share']:.0%})" for row in figures["memory"]
    ]
    return "\n".join(lines)
