"""The catalog is the single source of truth: other code takes service names and internal ports from it."""

from __future__ import annotations

import ast
from pathlib import Path

from components.catalog import names
from components.catalog.services import CATALOG

COMPONENTS = Path(names.__file__).resolve().parent.parent
# integer literals that equal a catalog port but mean something else
NOT_PORTS = {
    ("model/mesh.py", 3000): "the start of the default mcp host port range",
    ("offline/bench.py", 3000): "the start of the widened mcp range of the bench's scaled stacks",
}


def test_every_service_name_constant_names_a_catalog_entry() -> None:
    assert set(names.NAMED_SERVICES) <= set(CATALOG)
    constants = {value for key, value in vars(names).items() if key.isupper() and isinstance(value, str)}
    assert constants == set(names.NAMED_SERVICES)


def port_literals(root: Path, ports: set[int]) -> list[str]:
    """`path:line value` for each integer literal outside the catalog that equals one of `ports`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] == "catalog":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Constant):
                continue
            if type(node.value) is int and node.value in ports and (relative.as_posix(), node.value) not in NOT_PORTS:
                found.append(f"{relative}:{node.lineno} {node.value}")
    return found


def test_no_internal_port_is_repeated_as_a_literal_outside_the_catalog(tmp_path: Path) -> None:
    internal = {port.internal for spec in CATALOG.values() for port in spec.ports}
    assert port_literals(COMPONENTS, internal) == []
    # the guard fires on a planted copy
    (tmp_path / "render").mkdir()
    (tmp_path / "render" / "redis.py").write_text("PORT = 6379\n")
    assert port_literals(tmp_path, internal) == ["render/redis.py:1 6379"]
