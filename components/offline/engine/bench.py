"""The engine section of `make bench`: the program's containers on a real (private) daemon.

Time from the first create to every replayed container healthy, created in the program's dependency order in
parallel versus one by one (the ratio is the figure), and the memory each service really uses after a minute
(`docker stats`) against the limit the program sets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from components.offline.engine import daemon as engine_daemon
from components.offline.engine.replay import ContainerSpec, plan_containers, remove_replayed, replay
from components.offline.engine.standins import adapted, ensure_standin, fitting_config, standin_services
from components.offline.engine.tls_material import generate
from components.offline.synth import synthesize

SETTLE_S = 60


def _memory(client: Any, specs: list[ContainerSpec]) -> list[dict[str, Any]]:
    rows = []
    for spec in specs:
        stats = client.containers.get(spec.name).stats(stream=False)
        memory = stats["memory_stats"]
        # what `docker stats` shows: usage less the reclaimable page cache
        cache = memory.get("stats", {}).get("inactive_file", memory.get("stats", {}).get("cache", 0))
        used = (memory.get("usage", 0) - cache) / 2**20
        limit = spec.host_config["Memory"] / 2**20
        rows.append({"service": spec.service, "used_mb": round(used, 1), "limit_mb": round(limit), "share": round(used / limit, 3)})
    return rows


def measure_engine(root: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """The engine figures, or `{"skipped": reason}` when no private daemon can run here."""
    reason = engine_daemon.why_unavailable()
    if reason:
        return {"skipped": reason}
    capture = synthesize(fitting_config(synthesize()))
    tls = generate(capture)
    specs = [adapted(spec) for spec in plan_containers(capture, standin_services(capture), tls.substitute)]
    try:
        with engine_daemon.private_daemon() as running:
            client = running.client()
            images = {spec.image_ref: ensure_standin(client, root, spec.service, log) for spec in specs}
            timings = {}
            for mode, parallel in (("parallel", True), ("one_by_one", False)):
                try:
                    run = replay(client, capture, specs, images, parallel=parallel)
                    first = min(run.created.values())
                    timings[mode] = round(max(run.healthy.values()) - first, 1)
                    if not parallel:
                        time.sleep(SETTLE_S)
                        memory = _memory(client, specs)
                finally:
                    remove_replayed(client, capture, specs)
    except engine_daemon.EngineUnavailableError as error:
        return {"skipped": str(error)}
    return {
        "containers": len(specs),
        "services": sorted(spec.service for spec in specs),
        "first_create_to_all_healthy_s": timings,
        "one_by_one_over_parallel": round(timings["one_by_one"] / timings["parallel"], 2),
        "memory_after_s": SETTLE_S,
        "memory": memory,
        "cpus_override": fitting_config(synthesize()),
    }


def format_engine(figures: dict[str, Any]) -> str:
    if "skipped" in figures:
        return f"engine: skipped: {figures['skipped']}"
    timings = figures["first_create_to_all_healthy_s"]
    lines = [
        f"engine: {figures['containers']} replayed containers, first create to all healthy: "
        f"{timings['parallel']} s in parallel, {timings['one_by_one']} s one by one ({figures['one_by_one_over_parallel']}x)",
        f"engine: memory after {figures['memory_after_s']} s (docker stats) against the program's limit:",
    ]
    lines += [
        f"  {row['service']:<18} {row['used_mb']:>7.1f} MB of {row['limit_mb']:>5} MB ({row['share']:.0%})" for row in figures["memory"]
    ]
    return "\n".join(lines)
