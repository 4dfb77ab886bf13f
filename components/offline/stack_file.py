"""Reading a stack config file (`Pulumi.<stack>.yaml`) the way the engine would hand it to the program.

Used by the offline tools (`make plan`, `make bench`); the program itself gets its config from the engine.
Encrypted values (`secure:`, at the top or nested by `pulumi config set --secret --path`) cannot be decrypted
offline: the synthesis sees a stand-in in their place, and the keys holding them are secret, as the engine makes them.
Pure: no Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.model.base import ConfigError
from components.model.mesh import CONFIG_NAMESPACE, ConfigPath, check_secret_keys, config_key, may_hold_credentials

ENCRYPTED_STAND_IN = "offline-stand-in-for-an-encrypted-value"
# A stand-in the setting's validator accepts, for the settings that are not free text.
_STAND_INS_BY_SETTING = {
    "webhookUrl": "https://offline-stand-in.invalid/encrypted-value",
    "to": "offline-stand-in@example.invalid",
    "from": "offline-stand-in@example.invalid",
    "smarthost": "offline-stand-in.invalid:587",
}
# What the Pulumi CLI does with a key written twice: it reads stack files with gopkg.in/yaml.v3 (pulumi
# sdk/go/common/encoding/marshal.go), whose decoder refuses a mapping key that is already defined (decode.go, mapping).
DUPLICATE_KEY_VERDICT = (
    "`pulumi up` refuses this file (the Pulumi CLI's YAML reader, gopkg.in/yaml.v3, rejects a key written twice: "
    '"mapping key ... already defined"); this plan used the last value'
)


@dataclass(frozen=True)
class DuplicateKey:
    key: str
    """The key as the user would write it with `pulumi config set --path` (`mesh:services.redis.memoryMb`)."""
    line: int
    first_line: int

    def warning(self, path: Path) -> str:
        return f"warning: {path}:{self.line}: {self.key} is set twice (first on line {self.first_line}); {DUPLICATE_KEY_VERDICT}"


@dataclass(frozen=True)
class StackFile:
    values: dict[str, Any]
    """The `mesh:*` keys, prefix stripped; each encrypted value replaced by a stand-in."""
    secret_paths: tuple[ConfigPath, ...]
    """Where the encrypted values are: `("monitoring", "alerting", "webhookUrl")`."""
    duplicates: tuple[DuplicateKey, ...]

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """The top-level keys holding an encrypted value: what the engine tells the program is secret."""
        return tuple(sorted({str(path[0]) for path in self.secret_paths}))


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str)


def _stand_ins(value: Any, path: ConfigPath, found: list[ConfigPath]) -> Any:
    """`value` with each encrypted leaf replaced by a stand-in; their paths appended to `found`."""
    if _is_secure(value):
        found.append(path)
        return _STAND_INS_BY_SETTING.get(str(path[-1]), ENCRYPTED_STAND_IN)
    if isinstance(value, dict):
        return {key: _stand_ins(item, (*path, str(key)), found) for key, item in value.items()}
    if isinstance(value, list):
        return [_stand_ins(item, (*path, index), found) for index, item in enumerate(value)]
    return value


def _display_key(path: list[str | int]) -> str:
    """A YAML path as a config key where it is one (`mesh:services.redis`), else as dotted YAML keys."""
    if len(path) >= 2 and path[0] == "config" and str(path[1]).startswith(CONFIG_NAMESPACE + ":"):
        return config_key([str(path[1])[len(CONFIG_NAMESPACE) + 1 :], *path[2:]])
    if len(path) >= 2 and path[0] == "config":
        return ".".join(str(part) for part in path[1:])
    return ".".join(str(part) for part in path)


def _duplicates(node: yaml.Node | None, path: list[str | int], found: list[DuplicateKey]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
            line = key_node.start_mark.line + 1
            if key and key in seen:
                found.append(DuplicateKey(_display_key([*path, key]), line, seen[key]))
            seen.setdefault(key, line)
            _duplicates(value_node, [*path, key], found)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _duplicates(item, [*path, index], found)


def load_stack_file(path: Path) -> StackFile:
    """The `mesh:*` keys of a stack file, where its encrypted values are, and which keys it writes twice."""
    try:
        text = path.read_text()
        document = yaml.safe_load(text) or {}
        duplicates: list[DuplicateKey] = []
        _duplicates(yaml.compose(text, Loader=yaml.SafeLoader), [], duplicates)
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
    secret_paths: list[ConfigPath] = []
    for key, value in (document.get("config") or {}).items():
        if not str(key).startswith(prefix):
            continue
        name = str(key)[len(prefix) :]
        if _is_secure(value) and may_hold_credentials((name,)):
            raise ConfigError(
                config_key([name]),
                "is encrypted as a whole, so make plan cannot see inside it offline; "
                f"set each secret inside it with `pulumi config set --secret --path '{config_key([name])}.<setting>' ...`",
            )
        values[name] = _stand_ins(value, (name,), secret_paths)
    # offline, each encrypted leaf is known: refuse one the mesh would publish in plaintext, by its own key
    check_secret_keys(secret_paths)
    return StackFile(values, tuple(secret_paths), tuple(duplicates))
