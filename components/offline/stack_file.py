"""Reading a stack config file (`Pulumi.<stack>.yaml`) the way the engine would hand it to the program.

Used by the offline tools (`make plan`, `make bench`); the program itself gets its config from the engine.
Pure: no Pulumi.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from components.model.base import ConfigError
from components.model.mesh import CONFIG_NAMESPACE

# Encrypted values cannot be decrypted offline; the synthesis sees this stand-in, marked secret.
ENCRYPTED_STAND_IN = "offline-stand-in-for-an-encrypted-value"


def read_stack_file(path: Path) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The `mesh:*` keys (prefix stripped) of a stack file, and which of them are encrypted secrets."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(str(path), "no such stack config file") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(str(path), f"not valid YAML{where}") from None
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise ConfigError(str(path), "expected a mapping with a 'config:' mapping inside")
    prefix = CONFIG_NAMESPACE + ":"
    values: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        if not str(key).startswith(prefix):
            continue
        name = str(key)[len(prefix) :]
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[name] = ENCRYPTED_STAND_IN
            secret_keys.append(name)
        else:
            values[name] = value
    return values, tuple(secret_keys)
