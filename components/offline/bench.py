"""Benchmarks of the program as its users feel it: the program's own share of synthesis time, scaling,
determinism and the test suite's wall time. `tools/bench.py` is the command line.

Timings come from child processes (a fresh interpreter each, medians), so one run's warm caches do not
flatter the next. Targets are ratios: these machines are noisy.
"""

from __future__ import annotations

import asyncio
import cProfile
import hashlib
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # the repository: components/offline/bench.py

# where a function's code lives -> the share it is reported under (first match wins; paths relative to ROOT)
ORIGINS = (
    ("mock engine", ("components/offline/",)),
    ("program", ("components/", "policies/", "__main__.py")),
)
SCALING_TARGET = 1.20
# scale -> rounds (median); one 100x synthesis takes minutes, so it runs once
SCALE_ROUNDS = {1: 3, 10: 2, 100: 1}
SCALE_FIRST_PORT = 20000
PROFILE_ROUNDS = 3


@dataclass(frozen=True)
class ChildRun:
    wall_s: float
    """Wall time of the whole child process, interpreter start included."""
    peak_rss_mb: float
    synth_s: float = 0.0
    """Time spent synthesizing, imports excluded."""
    resources: int = 0


@dataclass
class BenchReport:
    program_share: dict[str, Any] = field(default_factory=dict)
    """Where one synthesis spends its CPU time under cProfile: the program's own code against the SDK and the rest."""
    scaling: list[dict[str, Any]] = field(default_factory=list)
    determinism: dict[str, Any] = field(default_factory=dict)
    test_suite: dict[str, Any] = field(default_factory=dict)
    engine: dict[str, Any] = field(default_factory=dict)
    """The program's containers on a private Docker daemon (components/offline/engine/bench.py), or why skipped."""


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_main(mode: str, scale: int) -> dict[str, Any]:
    """Runs inside a child process; returns what the parent records."""
    from components.offline.synth import synthesize

    config = scaled_config(scale)
    if mode == "profile":
        return profile_synthesis(config) | {"peak_rss_mb": peak_rss_mb()}
    started = time.perf_counter()
    capture = synthesize(config)
    synth_s = time.perf_counter() - started
    result: dict[str, Any] = {"peak_rss_mb": peak_rss_mb(), "synth_s": synth_s, "resources": len(capture.resources)}
    if mode == "dump":
        result["digest"], result["canonical"] = canonical_digest(capture)
    return result


def default_resources() -> int:
    """The default stack's resource count, from its plan (see `components.offline.resource_count`)."""
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
            # the same package as mcp-memory: its committed lockfile builds every copy
            "buildContext": "mcp/servers/memory",
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


def run_child(mode: str, scale: int = 1, hash_seed: str = "random") -> tuple[ChildRun, dict[str, Any]]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "tools.bench", "--child", mode, "--scale", str(scale)],
        cwd=ROOT,
        env=env,
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


def origin(filename: str) -> str:
    """The share a function counts under, from the file its code is in: the program, the mock engine, or the rest.

    "the rest" is the Pulumi SDK and provider SDKs, grpc/protobuf, PyYAML, pydantic and the standard library.
    """
    path = Path(filename)
    if not path.is_absolute():
        return "the rest"
    try:
        relative = path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return "the rest"
    if relative.startswith(("venv/", ".venv/")):
        return "the rest"
    for name, prefixes in ORIGINS:
        if relative.startswith(prefixes):
            return name
    return "the rest"


# cProfile's key for a C builtin: no file, line 0 (`{built-in method ...}`)
BUILTIN = "~"
ProfileKey = tuple[str, int, str]


def self_times(raw: Mapping[ProfileKey, tuple[Any, ...]]) -> Iterator[tuple[str, float]]:
    """(file, self time) for each profiled function, from `pstats.Stats.stats`: every CPU second once.

    A C builtin's time counts for the file of the Python function that called it (its `callers` entry carries the
    self time spent on behalf of each caller), so `json.dumps` in a renderer is the program's, in the SDK the SDK's.
    """
    for (filename, _, _), (_, _, self_s, _, callers) in raw.items():
        if filename != BUILTIN:
            yield filename, self_s
            continue
        for (caller_file, _, _), caller_times in callers.items():
            yield caller_file, caller_times[2]
        # what no caller accounts for (a builtin entered before profiling began) has no file
        yield BUILTIN, max(0.0, self_s - sum(times[2] for times in callers.values()))


def self_time_by_origin(raw: Mapping[ProfileKey, tuple[Any, ...]]) -> dict[str, float]:
    """CPU seconds per origin (see `origin`); they add up to the profile's total."""
    totals = {name: 0.0 for name, _ in ORIGINS} | {"the rest": 0.0}
    for filename, seconds in self_times(raw):
        totals[origin(filename)] += seconds
    return totals


def profile_synthesis(config: Mapping[str, Any]) -> dict[str, Any]:
    """One synthesis under cProfile, every thread included, timed in per-thread CPU time; self time per origin.

    The SDK sends each registration to the (mock) engine from its event loop's thread pool
    (pulumi/runtime/resource.py: `run_in_executor`), so a profile of the main thread alone would miss that
    work; each thread gets its own profiler, and CPU time keeps a thread's idle waits out of the figures.
    """
    from components.offline.synth import synthesize

    profiles: list[cProfile.Profile] = []
    thread_run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.enable()
        try:
            thread_run(self)
        finally:
            profile.disable()

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    main = cProfile.Profile(time.thread_time)
    try:
        main.enable()
        capture = synthesize(config)
        main.disable()
        # ends the pool's threads, so their profilers stop in their own thread before they are read
        loop = asyncio.get_event_loop()
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        threading.Thread.run = thread_run  # type: ignore[method-assign]
    stats = pstats.Stats(main)
    for profile in profiles:
        stats.add(profile)
    raw: dict[ProfileKey, tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    by_origin = self_time_by_origin(raw)
    program_files: dict[str, float] = {}
    for filename, seconds in self_times(raw):
        if origin(filename) == "program":
            key = Path(filename).resolve().relative_to(ROOT).as_posix()
            program_files[key] = program_files.get(key, 0.0) + seconds
    registrations = sum(
        calls
        for (filename, _, name), (_, calls, _, _, _) in raw.items()
        if name == "RegisterResource" and origin(filename) == "mock engine"
    )
    return {
        "resources": len(capture.resources),
        "threads_profiled": 1 + len(profiles),
        "registrations_profiled": registrations,
        "cpu_s": by_origin,
        "program_files_cpu_s": dict(sorted(program_files.items(), key=lambda item: -item[1])[:8]),
    }


def measure_program_share(rounds: int) -> dict[str, Any]:
    """The program's own share of a default synthesis's CPU time (median of `rounds` profiled children)."""
    runs = [run_child("profile")[1] for _ in range(rounds)]
    shares = []
    for run in runs:
        total = sum(run["cpu_s"].values())
        shares.append({name: seconds / total for name, seconds in run["cpu_s"].items()})
    middle = sorted(range(rounds), key=lambda index: shares[index]["program"])[rounds // 2]
    return {
        "rounds": rounds,
        "resources": runs[middle]["resources"],
        "threads_profiled": runs[middle]["threads_profiled"],
        "cpu_s": {name: round(seconds, 3) for name, seconds in runs[middle]["cpu_s"].items()},
        "share": {name: round(value, 4) for name, value in shares[middle].items()},
        "program_share_each_round": [round(share["program"], 4) for share in shares],
        "top_program_files_cpu_s": {name: round(seconds, 3) for name, seconds in runs[middle]["program_files_cpu_s"].items()},
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

    share = report.program_share
    if share:
        cpu = share["cpu_s"]
        row(f"synthesis CPU time under cProfile ({share['resources']} res)", f"{sum(cpu.values()):.2f} s", "", None)
        for name in ("program", "mock engine", "the rest"):
            row(f"  in {name} (median of {share['rounds']})", f"{share['share'][name]:.1%} ({cpu[name]:.2f} s)", "", None)
    for s in report.scaling:
        row(
            f"scale x{s['scale']}: {s['resources']} resources, {s['synth_s']:.1f} s",
            f"{s['ms_per_resource']:.2f} ms/res, {s['peak_rss_mb']:.0f} MB",
            f"{s['vs_1x']:.2f}x the x1 ms/res (<= {SCALING_TARGET}x)",
            s["met"],
        )
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
    checks: list[Mapping[str, Any]] = [report.determinism, report.test_suite, report.engine, *report.scaling]
    return all(check.get("met") is not False for check in checks if check)


def targets_met(report: BenchReport) -> str:
    checks: list[Mapping[str, Any]] = [*report.scaling[1:], report.determinism, report.test_suite, report.engine]
    judged = [check for check in checks if check and check.get("met") is not None]
    return f"targets met: {sum(1 for check in judged if check['met'])} of {len(judged)}"
