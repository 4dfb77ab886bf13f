"""The policy pack's config for one stack: the user's pack config, checked against and completed by the stack config.

`mesh:portRanges` is the one source of the ranges: the program places ports by it, and `make plan`,
`make preview` and `make up` hand the same ranges to `host-port-in-category-range`, so the two never disagree.
A stack without Consul cannot pass `registered-in-consul`: that is one config error here, not a violation per container.
Pure: no Pulumi.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from components.catalog.names import CONSUL
from components.model.base import ConfigError
from components.model.mesh import DEFAULT_PORT_RANGES, MeshConfig, check_secret_keys, parse_mesh_config, strip_namespace

PORT_RANGE_POLICY = "host-port-in-category-range"
REGISTRATION_POLICY = "registered-in-consul"
DISCOVERY = CONSUL
# the stack config keys this module reads from `pulumi config --json`
_KEYS = ("portRanges", "services")


def _level(pack_config: Mapping[str, Any], policy: str) -> str | None:
    """The enforcement level the pack config gives a policy (directly or through `all`), if any."""
    given = pack_config.get(policy, pack_config.get("all"))
    return str(given.get("enforcementLevel")) if isinstance(given, Mapping) and "enforcementLevel" in given else given


def pack_config_for_stack(pack_config: Mapping[str, Any], config: MeshConfig, source: str) -> dict[str, Any]:
    """`pack_config` with the stack's effective port ranges. Raises `ConfigError` where program and pack disagree."""
    consul = config.services.get(DISCOVERY)
    if consul is not None and consul.enabled is False and _level(pack_config, REGISTRATION_POLICY) != "disabled":
        raise ConfigError(
            f"mesh:services.{DISCOVERY}.enabled",
            f"the policy pack's {REGISTRATION_POLICY} requires every container to be registered in Consul; "
            f"keep Consul, or set {REGISTRATION_POLICY} to disabled in the pack config",
        )
    ranges = {category: [low, high] for category, (low, high) in config.port_ranges.items()}
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


def stack_config(cli_config_json: str) -> MeshConfig:
    """The `mesh:portRanges` and `mesh:services` of `pulumi config --json` output, validated. Raises `ConfigError`."""
    listed = json.loads(cli_config_json or "{}")
    raw: dict[str, Any] = {}
    for key in _KEYS:
        entry = listed.get(f"mesh:{key}") if isinstance(listed, dict) else None
        if not isinstance(entry, dict):
            continue
        if entry.get("secret"):
            check_secret_keys([(key,)])
        raw[f"mesh:{key}"] = entry["objectValue"] if "objectValue" in entry else entry.get("value")
    return parse_mesh_config(strip_namespace(raw))
