"""`make verify`: check a deployed mesh for real, with the same status library the backend serves.

Endpoints and tokens come from the stack outputs (`pulumi stack output --json --show-secrets`), a
saved copy of them (`--outputs`), or flags. Prints the "Validation Results" table (or `--json`) and
exits 0 only when everything passes; 1 on any failure; 3 when nothing failed but something could not be
observed (unknown is never a pass); 2 when there is nothing to check.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

# the status library lives in the backend's build context, so the image and this tool share one copy
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "backend"))

from mesh_status.collect import Thresholds, collect
from mesh_status.http import Limits
from mesh_status.model import Verdict
from mesh_status.table import render_table
from mesh_status.targets import DatabaseTarget, MeshTargets, targets_from_stack_outputs

PULUMI_TIMEOUT_S = 60
# a failure and "could not look" both stop a script, but only a failure says something is broken
EXIT_CODES = {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.UNKNOWN: 3}


class NothingToCheck(Exception):  # noqa: N818 (a user-facing condition, not a bug)
    """No deployment to read: the message is the one line the user sees."""


def stack_outputs(stack: str) -> dict[str, Any]:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise NothingToCheck(
            "the Pulumi CLI is not installed (https://www.pulumi.com/docs/install/); or pass --outputs FILE / endpoint flags"
        )
    try:
        done = subprocess.run(
            [pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack],
            capture_output=True,
            text=True,
            timeout=PULUMI_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise NothingToCheck(f"`pulumi stack output` did not answer within {PULUMI_TIMEOUT_S}s") from None
    if done.returncode != 0:
        reason = next((line for line in done.stderr.splitlines() if line.strip()), f"exit {done.returncode}")
        raise NothingToCheck(f"stack {stack!r} is not deployed or not readable ({reason.strip()}); run `make up` first")
    outputs = json.loads(done.stdout or "{}")
    if not outputs:
        raise NothingToCheck(f"stack {stack!r} has no outputs: it is not deployed; run `make up` first")
    return dict(outputs)


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not name or not url:
            raise SystemExit(f"verify: {flag} wants NAME=URL, got {value!r}")
        pairs[name] = url
    return pairs


def targets_from_args(args: argparse.Namespace) -> MeshTargets:
    flags = [args.consul, args.kong_status, args.prometheus, args.grafana, args.jaeger, args.mcp, args.db]
    if args.outputs:
        base = targets_from_stack_outputs(json.loads(Path(args.outputs).read_text()))
    elif any(flags):
        base = MeshTargets()
    else:
        base = targets_from_stack_outputs(stack_outputs(args.stack))
    databases = {target.name: target for target in base.databases}
    databases.update({name: DatabaseTarget.from_url(name, url) for name, url in _pairs(args.db, "--db").items()})
    return MeshTargets(
        consul_url=args.consul or base.consul_url,
        consul_token=args.consul_token or base.consul_token,
        kong_status_url=args.kong_status or base.kong_status_url,
        prometheus_url=args.prometheus or base.prometheus_url,
        grafana_url=args.grafana or base.grafana_url,
        jaeger_url=args.jaeger or base.jaeger_url,
        mcp_servers={**base.mcp_servers, **_pairs(args.mcp, "--mcp")},
        databases=list(databases.values()),
        expected_services=args.expect or base.expected_services,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make verify", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack", default="dev", help="the Pulumi stack to read outputs from (default: dev)")
    parser.add_argument("--outputs", metavar="FILE", help="read the stack outputs from this JSON file instead of the Pulumi CLI")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--consul", metavar="URL")
    parser.add_argument("--consul-token", metavar="TOKEN", help="a Consul ACL token that can read the catalog and health")
    parser.add_argument("--kong-status", metavar="URL")
    parser.add_argument("--prometheus", metavar="URL")
    parser.add_argument("--grafana", metavar="URL")
    parser.add_argument("--jaeger", metavar="URL", help="Jaeger's query API (the UI port)")
    parser.add_argument("--mcp", metavar="NAME=URL", action="append", default=[], help="an MCP server (repeatable)")
    parser.add_argument("--db", metavar="NAME=URL", action="append", default=[], help="a database URL, password optional (repeatable)")
    parser.add_argument("--expect", metavar="SERVICE", action="append", default=[], help="a service that must be in Consul (repeatable)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for one answer (default 5)")
    parser.add_argument("--max-lookup-ms", type=float, default=Thresholds().max_lookup_p95_ms, help="p95 limit of a Consul lookup")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        targets = targets_from_args(args)
    except NothingToCheck as reason:
        print(f"verify: nothing to check: {reason}", file=sys.stderr)
        return 2
    limits = Limits(connect_timeout_s=min(2.0, args.timeout), read_timeout_s=args.timeout, retries=1)
    report = collect(targets, limits, Thresholds(max_lookup_p95_ms=args.max_lookup_ms))
    print(json.dumps(report.to_dict(), indent=2) if args.json else render_table(report))
    return EXIT_CODES[report.verdict]


if __name__ == "__main__":
    sys.exit(main())
