"""`make preview`/`make up` (and the PR preview): the policy pack config for a stack, with its `mesh:portRanges`.

Reads `pulumi config --json` on stdin (or, with `--stack-file`, the stack's config file), writes the pack config
JSON on stdout; exits 2 with one line when the stack's ranges are wrong or the given pack config sets other ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from components.model.base import ConfigError
from components.model.mesh import parse_mesh_config
from components.offline.pack_config import pack_config_for_stack, stack_config
from components.offline.stack_file import load_stack_file
from policies.offline import load_pack_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools.policy_config", description=__doc__)
    parser.add_argument("--policy-config", type=Path, default=None, help="the user's policy pack config JSON (POLICY_CONFIG)")
    parser.add_argument("--stack-file", type=Path, default=None, help="read the ranges from this Pulumi.<stack>.yaml, not stdin")
    args = parser.parse_args(argv)
    try:
        if args.stack_file is not None:
            stack_file = load_stack_file(args.stack_file)
            config = parse_mesh_config(stack_file.values, [(key,) for key in stack_file.secret_keys])
        else:
            config = stack_config(sys.stdin.read())
        pack_config = pack_config_for_stack(load_pack_config(args.policy_config), config, str(args.policy_config))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(pack_config, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
