"""The layout is the architecture: `components/` is one package per layer, and imports only point down.

`catalog < model < render < plan < resources < wiring < stack < offline`; the four pure layers import no
Pulumi; no module imports itself back through another. Each rule is also shown to fire on a planted
violation, so the guard cannot pass vacuously. And the component type tokens, part of every URN a user has
deployed, are pinned byte for byte.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.offline.synth import Capture

LAYERS = ("catalog", "model", "render", "plan", "resources", "wiring", "stack", "offline")
PURE = frozenset({"catalog", "model", "render", "plan"})
COMPONENTS = Path(__file__).resolve().parent.parent / "components"

# Changing one of these changes the URN of every resource below it: `pulumi up` would replace the whole mesh.
COMPONENT_TYPE_TOKENS = {
    "service-mesh:mesh:ServiceMesh",
    "service-mesh:network:MeshNetworks",
    "service-mesh:credentials:MeshCredentials",
    "service-mesh:service:MeshService",
    "service-mesh:discovery:ServiceDiscovery",
    "service-mesh:grafana:GrafanaStack",
    "service-mesh:orchestrator:McpOrchestrator",
    "service-mesh:mcp_server:McpServer",
    "service-mesh:backend_image:BackendImage",
}


@dataclass(frozen=True)
class Import:
    module: str
    """The importing module, dotted (`components.plan.gateway`)."""
    target: str
    """What it imports, dotted (`components.catalog.services`, `pulumi_docker`)."""
    line: int


def _module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(root: Path) -> Iterator[Import]:
    """Every import in every module under `root`, function-local ones included."""
    for path in sorted(root.rglob("*.py")):
        module = _module_name(root, path)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                yield from (Import(module, alias.name, node.lineno) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                yield Import(module, base, node.lineno)
                # `from components.catalog import services` imports the submodule too
                yield from (Import(module, f"{base}.{alias.name}", node.lineno) for alias in node.names)


def _layer(dotted: str, root_name: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == root_name and parts[1] in LAYERS else None


def layer_violations(root: Path) -> list[str]:
    """Upward imports, Pulumi in a pure layer, and modules outside any layer."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative != Path("__init__.py") and relative.parts[0] not in LAYERS:
            problems.append(f"{root.name}/{relative}: not inside a layer package ({', '.join(LAYERS)})")
    for found in imports_of(root):
        own = _layer(found.module, root.name)
        if own is None:
            continue
        target = _layer(found.target, root.name)
        if target is not None and LAYERS.index(target) > LAYERS.index(own):
            problems.append(f"{found.module}:{found.line} imports {found.target}: {own} may not import from {target}")
        top = found.target.split(".")[0]
        if own in PURE and (top == "pulumi" or top.startswith("pulumi_") or top == "pulumiverse_grafana"):
            problems.append(f"{found.module}:{found.line} imports {found.target}: the {own} layer is pure (no Pulumi)")
    return problems


def import_cycles(root: Path) -> list[list[str]]:
    """Strongly connected groups of modules under `root` that import each other (Tarjan)."""
    modules = {_module_name(root, path) for path in root.rglob("*.py")}
    edges: dict[str, set[str]] = {module: set() for module in modules}
    for found in imports_of(root):
        if found.target in modules and found.target != found.module:
            # a package's __init__ re-exporting its own modules is not a cycle with them
            if found.module == found.target.rsplit(".", 1)[0] or found.target == found.module.rsplit(".", 1)[0]:
                continue
            edges[found.module].add(found.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for neighbour in sorted(edges[node]):
            if neighbour not in index:
                visit(neighbour)
                low[node] = min(low[node], low[neighbour])
            elif neighbour in stack:
                low[node] = min(low[node], index[neighbour])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return cycles


def test_every_module_sits_in_a_layer_and_imports_only_from_its_own_or_a_lower_one() -> None:
    assert layer_violations(COMPONENTS) == []


def test_no_import_cycles_between_modules() -> None:
    assert import_cycles(COMPONENTS) == []


def test_no_layer_package_holds_more_than_twelve_modules() -> None:
    sizes = {layer: len([p for p in (COMPONENTS / layer).glob("*.py") if p.name != "__init__.py"]) for layer in LAYERS}
    assert {layer: size for layer, size in sizes.items() if size > 12} == {}


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "components"
    for layer in LAYERS:
        (root / layer).mkdir(parents=True)
        (root / layer / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    for name, text in files.items():
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"catalog/a.py": "from components.plan.gateway import plan_gateway\n"}, "catalog may not import from plan"),
        ({"render/a.py": "def f():\n    from components.stack import mesh\n"}, "render may not import from stack"),
        ({"model/a.py": "import pulumi\n"}, "the model layer is pure"),
        ({"plan/a.py": "from pulumi_docker import Container\n"}, "the plan layer is pure"),
        ({"render/a.py": "import pulumiverse_grafana\n"}, "the render layer is pure"),
        ({"helpers.py": "X = 1\n"}, "not inside a layer package"),
    ],
)
def test_the_layer_guard_fires_on_a_planted_violation(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    problems = layer_violations(_tree(tmp_path, files))
    assert any(expected in problem for problem in problems), problems


def test_the_layer_guard_accepts_downward_and_same_layer_imports(tmp_path: Path) -> None:
    files = {
        "plan/a.py": "from components.catalog.services import CATALOG\nfrom components.plan import b\n",
        "plan/b.py": "X = 1\n",
        "wiring/c.py": "import pulumi\nfrom components.resources import d\n",
        "resources/d.py": "import pulumi_docker\n",
    }
    assert layer_violations(_tree(tmp_path, files)) == []


def test_the_cycle_guard_finds_a_planted_cycle_even_through_a_function_local_import(tmp_path: Path) -> None:
    files = {
        "model/a.py": "from components.model.b import Y\nX = 1\n",
        "model/b.py": "def f():\n    from components.model.a import X\nY = 2\n",
    }
    root = _tree(tmp_path, files)
    assert import_cycles(root) == [["components.model.a", "components.model.b"]]


def test_component_type_tokens_are_pinned_byte_for_byte(plan: Capture) -> None:
    registered = {r.type for r in plan.resources if not r.custom}
    assert registered == COMPONENT_TYPE_TOKENS


def test_each_package_names_its_public_api_and_every_name_exists() -> None:
    import importlib

    for layer in LAYERS:
        package = importlib.import_module(f"components.{layer}")
        doc = package.__doc__ or ""
        assert "Public API:" in doc, f"components/{layer}/__init__.py does not name its public API"
        named = re.findall(r"`([a-z][a-z_]*)\.([A-Za-z_]+)`", doc.split("Public API:", 1)[1])
        assert named, layer
        for module, name in named:
            assert hasattr(importlib.import_module(f"components.{layer}.{module}"), name), f"components.{layer}.{module}.{name}"
