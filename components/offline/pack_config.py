"""The policy pack's config for one stack: the user's pack config, with the stack's own host port ranges.

`mesh:portRanges` is the one source of the ranges: the program places ports by it, and `make plan`,
`make preview` and `make up` hand the same ranges to `host-port-in-category-range`, so the two never disagree.
Pure: no Pulumi.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from components.model.base import ConfigError
from components.model.mesh import DEFAULT_PORT_RANGES, check_secret_keys, parse_mesh_config, strip_namespace

PORT_RANGE_POLICY = "host-port-in-category-range"


def with_stack_port_ranges(pack_config: Mapping[str, Any], port_ranges: Mapping[str, tuple[int, int]], source: str) -> dict[str, Any]:
    """`pack_config` with the stack's effective ranges for the port range policy. Raises `ConfigError` on a conflict."""
    ranges = {category: [low, high] for category, (low, high) in port_ranges.items()}
    given = pack_config.get(PORT_RANGE_POLICY)
    if isinstance(given, Mapping) and "portRanges" in given:
        theirs = {category: list(bounds) for category, bounds in {**DEFAULT_PORT_RANGES, **given["portRanges"]}.items()}
        if theirs != ranges:
            raise ConfigError(
                "mesh:portRanges",
                f"differs from {PORT_RANGE_POLICY}.portRanges in {source}; "
                f"the pack takes the stack's ranges: remove portRanges from {source}",
            )
    settings: dict[str, Any] = {"enforcementLevel": given} if isinstance(given, str) else dict(given or {})
    return {**pack_config, PORT_RANGE_POLICY: {**settings, "portRanges": ranges}}


def stack_port_ranges(cli_config_json: str) -> dict[str, tuple[int, int]]:
    """The effective `mesh:portRanges` from `pulumi config --json` output. Raises `ConfigError`."""
    listed = json.loads(cli_config_json or "{}")
    entry = listed.get("mesh:portRanges") if isinstance(listed, dict) else None
    if not isinstance(entry, dict):
        return dict(DEFAULT_PORT_RANGES)
    if entry.get("secret"):
        check_secret_keys([("portRanges",)])
    value = entry["objectValue"] if "objectValue" in entry else entry.get("value")
    return dict(parse_mesh_config(strip_namespace({"mesh:portRanges": value})).port_ranges)
