"""`make mutate`: mutation testing of the code that guards users; writes build/mutation.json and lists survivors.

Python: mutmut (configured in pyproject.toml's [tool.mutmut]) mutates the config model, the plan layer, the
Kong / Prometheus / Consul renderers, the catalog's probes and the policy pack's rules, and runs the fast unit
tests of those layers against each mutant. JavaScript: the hand-listed mutants of the MCP probe
(tests/mcp_probe_mutants.py), each run against tests/test_mcp_probe.py.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "components" / "render" / "mcp_probe.mjs"
DOCS = ROOT / "docs" / "testing.md"

# mutmut's exit codes per mutant (mutmut/stats.py), folded into the four counts the report keeps
STATUS_BY_EXIT_CODE = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 36: "timeout", -24: "timeout", 24: "timeout"}
STATUS_BY_EXIT_CODE |= {152: "timeout", 255: "timeout", 37: "killed"}

PACKAGES = {
    "components/model/": "model",
    "components/plan/": "plan",
    "components/render/": "render",
    "components/catalog/": "catalog",
    "policies/": "policies",
}


def package_of(module: str) -> str:
    return next((package for prefix, package in PACKAGES.items() if module.startswith(prefix)), "other")


def run_mutmut(log: Path, workers: int) -> int:
    """mutmut run in this checkout (its copy lives in mutants/); the spinner's output goes to `log`."""
    with log.open("w") as out:
        return subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(workers)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        ).returncode


def python_results() -> dict[str, dict[str, str]]:
    """Status of each mutant, by module, from mutmut's per-file records."""
    results: dict[str, dict[str, str]] = {}
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        module = str(meta.relative_to(ROOT / "mutants"))[: -len(".meta")]
        exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
        results[module] = {
            name: "not checked" if code is None else STATUS_BY_EXIT_CODE.get(code, "suspicious") for name, code in exit_codes.items()
        }
    return results


def forget_survivors() -> None:
    """Clear mutmut's verdict on every surviving (or unreached) mutant, so the next run tests only those again."""
    for meta in (ROOT / "mutants").rglob("*.py.meta"):
        record = json.loads(meta.read_text())
        codes = record["exit_code_by_key"]
        record["exit_code_by_key"] = {
            name: None if STATUS_BY_EXIT_CODE.get(code) in {"survived", "no tests"} else code for name, code in codes.items()
        }
        meta.write_text(json.dumps(record, indent=4))


def probe_results(workers: int) -> dict[str, str]:
    """Status of each hand-listed probe mutant: killed when tests/test_mcp_probe.py fails against it."""
    from tests.mcp_probe_mutants import MUTANTS, mutate

    source = PROBE.read_text(encoding="utf-8")
    directory = Path(tempfile.mkdtemp(prefix="probe-mutants-"))

    def run(mutant: tuple[str, str, str]) -> tuple[str, str]:
        name, original, replacement = mutant
        path = directory / f"{name}.mjs"
        path.write_text(mutate(source, original, replacement), encoding="utf-8")
        env = {**os.environ, "MESH_MCP_PROBE": str(path)}
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "tests/test_mcp_probe.py"]
        try:
            code = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=600).returncode
        except subprocess.TimeoutExpired:
            return f"mcp_probe.mjs:{name}", "timeout"
        return f"mcp_probe.mjs:{name}", {0: "survived", 1: "killed"}.get(code, "suspicious")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(run, MUTANTS))


def documented_equivalents() -> set[str]:
    """Mutant names docs/testing.md lists as equivalent (each on a line starting with `- \\`name\\``)."""
    if not DOCS.exists():
        return set()
    names = set()
    for line in DOCS.read_text().splitlines():
        if line.startswith("- `"):
            names.add(line[3:].split("`", 1)[0])
    return names


def summarize(statuses: dict[str, str]) -> dict[str, Any]:
    counts = Counter(statuses.values())
    mutants = len(statuses)
    checked = mutants - counts["not checked"]
    detected = counts["killed"] + counts["timeout"]
    return {
        "mutants": mutants,
        "not_checked": counts["not checked"],
        "killed": counts["killed"],
        "survived": counts["survived"],
        "timeouts": counts["timeout"],
        "no_tests": counts["no tests"],
        "suspicious": counts["suspicious"],
        "score": round(detected / checked, 3) if checked else None,
    }


def children_cpu_s() -> float:
    """User + system CPU seconds of every finished child process (mutmut, its workers, the probe's pytest runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def report(by_module: dict[str, dict[str, str]], wall_s: float, cpu_s: float) -> dict[str, Any]:
    equivalents = documented_equivalents()
    packages: dict[str, dict[str, str]] = {}
    for module, statuses in by_module.items():
        packages.setdefault(package_of(module) if not module.endswith(".mjs") else "mcp-probe (js)", {}).update(statuses)
    survivors = sorted(name for statuses in by_module.values() for name, status in statuses.items() if status in {"survived", "no tests"})
    return {
        "wall_s": round(wall_s, 1),
        "cpu_s": round(cpu_s, 1),
        "cpu": "user + system seconds of the run's processes; on a shared machine cpu_s / cores estimates a quiet run",
        "score": "(killed + timeouts) / checked mutants; a mutant no test reaches counts as surviving; not_checked: an unfinished run",
        "modules": {module: summarize(statuses) for module, statuses in sorted(by_module.items())},
        "packages": {package: summarize(statuses) for package, statuses in sorted(packages.items())},
        "survivors": [{"name": name, "documented_equivalent": name in equivalents} for name in survivors],
    }


def print_report(document: dict[str, Any]) -> None:
    print(f"{'package':<18} {'mutants':>7} {'checked':>7} {'killed':>7} {'survived':>8} {'timeouts':>8} {'no tests':>8}  score")
    for package, row in document["packages"].items():
        score = "-" if row["score"] is None else f"{row['score']:.1%}"
        checked = row["mutants"] - row["not_checked"]
        counts = f"{row['killed']:>7} {row['survived']:>8} {row['timeouts']:>8} {row['no_tests']:>8}"
        line = f"{package:<18} {row['mutants']:>7} {checked:>7} {counts}"
        print(f"{line}  {score}")
    undocumented = [survivor["name"] for survivor in document["survivors"] if not survivor["documented_equivalent"]]
    documented = len(document["survivors"]) - len(undocumented)
    print(f"\n{len(document['survivors'])} surviving mutants ({documented} documented as equivalent in docs/testing.md)")
    for name in undocumented:
        print(f"  {name}")
    print("see one with: venv/bin/mutmut show NAME")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make mutate", description=__doc__)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    parser.add_argument("--skip-python", action="store_true", help="only the MCP probe's mutants")
    parser.add_argument("--skip-probe", action="store_true", help="only the Python mutants")
    parser.add_argument("--retest-survivors", action="store_true", help="after adding tests: run again only the mutants that survived")
    parser.add_argument("--report-only", action="store_true", help="report what mutants/ holds from an earlier (or unfinished) run")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    started, cpu_before = time.monotonic(), children_cpu_s()
    by_module: dict[str, dict[str, str]] = {}
    if not args.skip_python:
        if args.retest_survivors:
            forget_survivors()
        code = 0 if args.report_only else run_mutmut(args.out / "mutmut.log", args.workers)
        if code != 0:
            print(f"mutmut failed (exit {code}); see {args.out / 'mutmut.log'}", file=sys.stderr)
            return code
        by_module.update(python_results())
    if not args.skip_probe and not args.report_only:
        by_module["components/render/mcp_probe.mjs"] = probe_results(args.workers)
    document = report(by_module, time.monotonic() - started, children_cpu_s() - cpu_before)
    (args.out / "mutation.json").write_text(json.dumps(document, indent=1) + "\n")
    print_report(document)
    print(f"\nwall time {document['wall_s']} s, CPU time (user + system) {document['cpu_s']} s; wrote {args.out / 'mutation.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
