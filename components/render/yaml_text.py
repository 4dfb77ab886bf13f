"""YAML text for rendered config files: one dumper for every renderer. Pure: no Pulumi.

libyaml's C emitter when PyYAML was built with it (the pure-Python emitter is about ten times
slower on a large kong.yml), the same safe subset of YAML either way.
"""

from __future__ import annotations

from typing import Any

import yaml

_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_yaml(document: Any, *, sort_keys: bool = False, width: int | None = None) -> str:
    text: str = yaml.dump(document, Dumper=_DUMPER, sort_keys=sort_keys, default_flow_style=False, width=width, allow_unicode=True)
    return text
