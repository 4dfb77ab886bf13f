"""`make bench`: the program's share of synthesis time, scaling, determinism, the last `make test` time, and the engine.

Prints a table with each figure beside its target and writes build/bench.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from components.offline import bench
from components.offline.engine import bench as engine_bench


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=bench.PROFILE_ROUNDS, help="profiled syntheses (median)")
    parser.add_argument("--out", type=Path, default=Path("build"))
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--child", choices=["synth", "dump", "profile"], help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(bench.child_main(args.child, args.scale)))
        return 0

    report = bench.BenchReport()
    report.program_share = bench.measure_program_share(args.rounds)
    report.scaling = bench.measure_scaling(bench.SCALE_ROUNDS)
    report.determinism = bench.measure_determinism(args.out / "bench")
    report.test_suite = bench.measure_test_suite(args.out / "test-time.json")
    report.engine = engine_bench.measure_engine(Path.cwd())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(bench.as_json(report))
    print(bench.format_table(report))
    print(engine_bench.format_engine(report.engine))
    print(f"\n{bench.targets_met(report)}; wrote {args.out / 'bench.json'}")
    return 0 if bench.report_met(report) or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
