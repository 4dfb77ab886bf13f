"""Benchmarks of the program as its users feel it: overhead over the SDK imports, scaling, deployment
parallelism, determinism and the test suite's wall time. `tools/bench.py` is the command line.

Timings come from child processes (a fresh interpreter each, interleaved, medians), so one run's
warm caches do not flatter the next. Targets are ratios: these machines are noisy.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

OWN_PACKAGES = ("components", "tools", "tests", "__main__", "policies")

OVERHEAD_TARGET = 0.50
SCALING_TARGET = 1.20
CRITICAL_PATH_TARGET = 6
# scale -> rounds (median); one 100x synthesis takes minutes, so it runs once
SCALE_ROUNDS = {1: 3, 10: 2, 100: 1}
SCALE_FIRST_PORT = 20000


@dataclass(frozen=True)
class ChildRun:
    wall_s: float
    """Wall time of the whole child process, interpreter start included."""
    peak_rss_mb: float
    synth_s: float = 0.0
    """Time spent synthesizing, imports excluded (0 for the import-only baseline)."""
    resources: int = 0


@dataclass
class BenchReport:
    overhead: dict[str, Any] = field(default_factory=dict)
    scaling: list[dict[str, Any]] = field(default_factory=list)
    parallelism: dict[str, Any] = field(default_factory=dict)
    determinism: dict[str, Any] = field(default_factory=dict)
    test_suite: dict[str, Any] = field(default_factory=dict)


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def loaded_dependencies() -> list[str]:
    """Every module loaded so far that is not the project's own (SDKs load many submodules lazily)."""
    return sorted(name for name in sys.modules if name.split(".", 1)[0] not in OWN_PACKAGES and not name.startswith("__"))


def child_main(mode: str, scale: int, modules: list[str]) -> dict[str, Any]:
    """Runs inside a child process; returns what the parent records."""
    import importlib

    if mode == "import":
        for module in modules:
            try:
                importlib.import_module(module)
            except ImportError:  # extension internals that only their package can load; the package loads them
                continue
        return {"peak_rss_mb": peak_rss_mb()}
    from components.offline.synth import synthesize

    config = scaled_config(scale)
    started = time.perf_counter()
    capture = synthesize(config)
    synth_s = time.perf_counter() - started
    result: dict[str, Any] = {"peak_rss_mb": peak_rss_mb(), "synth_s": synth_s, "resources": len(capture.resources)}
    if mode == "dump":
        result["digest"], result["canonical"] = canonical_digest(capture)
    if mode == "modules":
        result["modules"] = loaded_dependencies()
    return result


def default_resources() -> int:
    """The default stack's resource count, from its plan (see `components.offline.resource_count`)."""
    # imported here: a bench child that only measures imports must not load the program's modules first
    from components.model.mesh import parse_mesh_config
    from components.offline.resource_count import expected_resources
    from components.plan.stack import plan_stack

    return expected_resources(plan_stack(parse_mesh_config({})))


def scaled_config(scale: int) -> dict[str, Any]:
    """The default stack grown about `scale` times in resources, through config alone: extra MCP servers.

    Each extra server is a real catalog-shaped entry (pinned package, its own port), so it brings its
    container, image, Consul registration and Kong route like the six default ones.
    """
    if scale == 1:
        return {}
    from components.offline.resource_count import mcp_server_resources

    per_server = mcp_server_resources(data_path=None) + 1  # and its Consul registration
    extra = round((scale - 1) * default_resources() / per_server)
    servers: dict[str, Any] = {}
    port = SCALE_FIRST_PORT
    for index in range(extra):
        if (port // 100) % 2 == 1:  # each server's health face listens 100 above its port: keep those blocks free
            port += 100
        servers[f"bench-{index}"] = {
            "port": port,
            "hostPort": port,
            "package": "@modelcontextprotocol/server-memory@2026.8.31",
            "bin": "mcp-server-memory",
            "transport": "stdio",
        }
        port += 1
    return {"portRanges": {"mcp": [3000, 65000]}, "mcpServers": servers}


def canonical_digest(capture: Any) -> tuple[str, str]:
    """A byte-stable rendering of everything a synthesis produced, and its sha256."""
    from components.offline.synth import reveal

    document = {
        "resources": [
            {
                "type": r.type,
                "name": r.name,
                "urn": r.urn,
                "parent": r.parent,
                "provider": r.provider,
                "dependencies": sorted(r.dependencies),
                "props": reveal(r.props),
                "secret_paths": sorted(r.secret_paths()),
            }
            for r in sorted(capture.resources, key=lambda r: r.urn)
        ],
        "outputs": reveal(capture.outputs),
        "rendered": capture.rendered_files,
    }
    text = json.dumps(document, sort_keys=True, indent=1, default=str)
    return hashlib.sha256(text.encode()).hexdigest(), text


def run_child(mode: str, scale: int = 1, hash_seed: str = "random", modules: list[str] | None = None) -> tuple[ChildRun, dict[str, Any]]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "tools.bench", "--child", mode, "--scale", str(scale)],
        cwd=ROOT,
        env=env,
        input=json.dumps(modules or []),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"bench child {mode} x{scale} failed: {completed.stderr.strip().splitlines()[-1:]}")
    payload: dict[str, Any] = json.loads(completed.stdout)
    return ChildRun(wall, payload["peak_rss_mb"], payload.get("synth_s", 0.0), payload.get("resources", 0)), payload


def measure_overhead(rounds: int) -> dict[str, Any]:
    # the baseline imports exactly the modules one synthesis ends up loading, then stops
    modules = run_child("modules")[1]["modules"]
    baseline, program = [], []
    for _ in range(rounds):  # interleaved, so drift in machine load hits both alike
        baseline.append(run_child("import", modules=modules)[0])
        program.append(run_child("synth")[0])
    import_s = statistics.median(run.wall_s for run in baseline)
    program_s = statistics.median(run.wall_s for run in program)
    added = (program_s - import_s) / import_s
    return {
        "rounds": rounds,
        "baseline_modules": len(modules),
        "import_only_s": round(import_s, 3),
        "program_s": round(program_s, 3),
        "added_fraction": round(added, 3),
        "import_peak_rss_mb": round(statistics.median(run.peak_rss_mb for run in baseline), 1),
        "program_peak_rss_mb": round(statistics.median(run.peak_rss_mb for run in program), 1),
        "target": f"<= {OVERHEAD_TARGET:.0%} added",
        "met": added <= OVERHEAD_TARGET,
    }


def measure_scaling(rounds_by_scale: Mapping[int, int]) -> list[dict[str, Any]]:
    """Synthesis time per registered resource at each scale (median of its rounds), and peak memory."""
    rows = []
    for scale, rounds in sorted(rounds_by_scale.items()):
        runs = [run_child("synth", scale)[0] for _ in range(rounds)]
        synth_s = statistics.median(run.synth_s for run in runs)
        resources = runs[0].resources
        rows.append(
            {
                "scale": scale,
                "rounds": rounds,
                "resources": resources,
                "synth_s": round(synth_s, 3),
                "ms_per_resource": round(1000 * synth_s / resources, 3),
                "peak_rss_mb": round(statistics.median(run.peak_rss_mb for run in runs), 1),
            }
        )
    base = rows[0]["ms_per_resource"]
    for row in rows:
        row["vs_1x"] = round(row["ms_per_resource"] / base, 3)
        row["met"] = row["vs_1x"] <= SCALING_TARGET
    return rows


def measure_parallelism() -> dict[str, Any]:
    from components.offline.deploy_graph import analyse
    from components.offline.synth import synthesize

    report = analyse(synthesize().resources)
    return {
        "resources": report.resources,
        "critical_path_length": len(report.critical_path),
        "critical_path": report.critical_path,
        "level_widths": report.level_widths,
        "ordering_only": report.ordering_only,
        "target": f"critical path <= {CRITICAL_PATH_TARGET}",
        "met": len(report.critical_path) <= CRITICAL_PATH_TARGET,
    }


def measure_determinism(out_dir: Path) -> dict[str, Any]:
    first = run_child("dump", hash_seed="1")[1]
    second = run_child("dump", hash_seed="2")[1]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "synth-a.json").write_text(first["canonical"])
    (out_dir / "synth-b.json").write_text(second["canonical"])
    lines_a, lines_b = first["canonical"].splitlines(), second["canonical"].splitlines()
    differing = sum(1 for a, b in zip(lines_a, lines_b, strict=False) if a != b) + abs(len(lines_a) - len(lines_b))
    return {
        "digests": [first["digest"], second["digest"]],
        "differing_lines": differing,
        "target": "0 differences",
        "met": differing == 0,
    }


def measure_test_suite(record: Path) -> dict[str, Any]:
    """The wall time of the last full `make test`, as the suite recorded it (tests/conftest.py)."""
    if not record.exists():
        return {"recorded": False, "note": f"no {record}: run `make test` first", "target": "< 300 s", "met": None}
    data: dict[str, Any] = json.loads(record.read_text())
    passed = data["exit_status"] == 0
    return {
        "recorded": True,
        "wall_s": data["wall_s"],
        "tests": data["tests"],
        "passed": passed,
        "finished": data["finished"],
        "target": "< 300 s",
        "met": passed and data["wall_s"] < 300,
    }


def as_json(report: BenchReport) -> str:
    return json.dumps(asdict(report), indent=2, sort_keys=True) + "\n"


def format_table(report: BenchReport) -> str:
    lines = [f"{'measure':<44} {'value':>22}   {'target':<26} met"]

    def row(measure: str, value: str, target: str, met: bool | None) -> None:
        lines.append(f"{measure:<44} {value:>22}   {target:<26} {'-' if met is None else ('yes' if met else 'NO')}")

    o = report.overhead
    if o:
        row("import SDKs only (median wall)", f"{o['import_only_s']:.2f} s", "", None)
        row("synthesize default stack (median wall)", f"{o['program_s']:.2f} s", "", None)
        row("program overhead over imports", f"{o['added_fraction']:+.0%}", o["target"], o["met"])
        row("peak memory: imports / program", f"{o['import_peak_rss_mb']:.0f} / {o['program_peak_rss_mb']:.0f} MB", "", None)
    for s in report.scaling:
        row(
            f"scale x{s['scale']}: {s['resources']} resources, {s['synth_s']:.1f} s",
            f"{s['ms_per_resource']:.2f} ms/res, {s['peak_rss_mb']:.0f} MB",
            f"{s['vs_1x']:.2f}x the x1 ms/res (<= {SCALING_TARGET}x)",
            s["met"],
        )
    p = report.parallelism
    if p:
        row("critical path (resources)", str(p["critical_path_length"]), p["target"], p["met"])
        row("width per level", "/".join(str(w) for w in p["level_widths"]), "", None)
        row("ordering without a data reason", str(len(p["ordering_only"])), "each one needed", None)
    d = report.determinism
    if d:
        row("determinism: differing lines, 2 syntheses", str(d["differing_lines"]), d["target"], d["met"])
    t = report.test_suite
    if t.get("recorded"):
        row(f"make test wall time ({t['tests']} tests, {t['finished']})", f"{t['wall_s']:.0f} s", t["target"], t["met"])
    elif t:
        row("make test wall time", "not recorded", t["note"], None)
    return "\n".join(lines)


def report_met(report: BenchReport) -> bool:
    checks: list[Mapping[str, Any]] = [report.overhead, report.parallelism, report.determinism, report.test_suite, *report.scaling]
    return all(check.get("met") is not False for check in checks if check)


def targets_met(report: BenchReport) -> str:
    checks: list[Mapping[str, Any]] = [report.overhead, *report.scaling[1:], report.parallelism, report.determinism, report.test_suite]
    judged = [check for check in checks if check and check.get("met") is not None]
    return f"targets met: {sum(1 for check in judged if check['met'])} of {len(judged)}"
