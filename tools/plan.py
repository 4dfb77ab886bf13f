"""`make plan`: synthesize a stack offline under mocks, print its resources, write every rendered file to build/,
and print the policy pack's verdicts on it.

Exits 2 with the one-line config error when the stack config is wrong, 1 on a mandatory policy violation.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from components.model.base import ConfigError
from components.model.mesh import parse_mesh_config
from components.offline.pack_config import pack_config_for_stack
from components.offline.stack_file import load_stack_file
from components.offline.synth import Capture, Secret, synthesize
from components.offline.types import CONTAINER, NETWORK, SECRET, SERVICE, SERVICE_CONFIG
from policies.offline import Violation, blocking, evaluate, format_violations, load_pack_config


def _masked(value: object) -> object:
    if isinstance(value, Secret):
        return "[secret]"
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def write_build(capture: Capture, out: Path) -> list[Path]:
    """Every rendered file under `out`, plus plan.json: the registrations with secrets masked."""
    written = []
    for relative, content in sorted(capture.rendered_files.items()):
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        written.append(path)
    resources = [
        {"type": r.type, "name": r.name, "parent": r.parent, "dependencies": sorted(r.dependencies), "props": _masked(r.props)}
        for r in sorted(capture.resources, key=lambda r: r.urn)
    ]
    plan_file = out / "plan.json"
    plan_file.parent.mkdir(parents=True, exist_ok=True)
    plan_file.write_text(json.dumps({"resources": resources, "outputs": _masked(capture.outputs)}, indent=2, sort_keys=True) + "\n")
    written.append(plan_file)
    return written


def print_plan(capture: Capture) -> None:
    names = {r.urn: r.name for r in capture.resources}
    rows = sorted(capture.resources, key=lambda r: (r.parent, r.type, r.name))
    width = max(len(r.type) for r in rows)
    print(f"{'TYPE':<{width}}  {'NAME':<40}  PARENT")
    for r in rows:
        print(f"{r.type:<{width}}  {r.name:<40}  {names.get(r.parent, 'stack')}")
    containers = capture.all(CONTAINER)
    healthy = [c for c in containers if (c.plain.get("healthcheck") or {}).get("tests")]
    print()
    print(
        f"{len(capture.resources)} resources: "
        + ", ".join(f"{n} {t.rsplit(':', 1)[-1]}" for t, n in sorted(Counter(r.type for r in rows).items()))
    )
    print(f"{len(containers)} containers, {len(healthy)} with a healthcheck")
    services = capture.all(SERVICE)
    if services:
        checked = [s for s in services if ((s.plain["taskSpec"]["containerSpec"].get("healthcheck") or {}).get("tests"))]
        overlays = [n for n in capture.all(NETWORK) if n.plain.get("driver") == "overlay"]
        print(
            f"{len(services)} swarm services, {len(checked)} with a healthcheck; {len(capture.all(SECRET))} secrets, "
            f"{len(capture.all(SERVICE_CONFIG))} configs, {len(overlays)} overlay network(s)"
        )


def print_verdicts(violations: list[Violation]) -> None:
    print()
    if not violations:
        print("policy pack: no violations")
        return
    counts = Counter(violation.level for violation in violations)
    print("policy pack: " + ", ".join(f"{counts[level]} {level}" for level in ("mandatory", "remediate", "advisory") if counts[level]))
    for line in format_violations(violations):
        print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make plan", description=__doc__)
    parser.add_argument("--config", type=Path, default=Path("Pulumi.dev.yaml"), help="stack config file (default: Pulumi.dev.yaml)")
    parser.add_argument("--out", type=Path, default=Path("build"), help="where rendered files go (default: build/)")
    parser.add_argument("--policy-config", type=Path, default=None, help="policy pack config JSON (as for --policy-pack-config)")
    args = parser.parse_args(argv)
    try:
        stack_file = load_stack_file(args.config)
        for duplicate in stack_file.duplicates:
            print(duplicate.warning(args.config), file=sys.stderr)
        # the pack judges host ports by the ranges this stack sets (mesh:portRanges), as `make preview`/`make up` do
        config = parse_mesh_config(stack_file.values, [(key,) for key in stack_file.secret_keys])
        pack_config = pack_config_for_stack(load_pack_config(args.policy_config), config, str(args.policy_config))
        capture = synthesize(stack_file.values, stack=args.config.stem.removeprefix("Pulumi."), secret_keys=stack_file.secret_keys)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_plan(capture)
    written = write_build(capture, args.out)
    print(f"wrote {len(written)} files under {args.out}/")
    violations = evaluate(capture, pack_config)
    print_verdicts(violations)
    return 1 if blocking(violations) else 0


if __name__ == "__main__":
    sys.exit(main())
