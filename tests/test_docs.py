"""The docs in the repo match the code: the service reference is the catalog's, and every link and path resolves."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from components.catalog import services
from components.render import service_docs
from components.render.service_docs import SERVICES_DOC, render_services_md

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_service_reference_is_generated_from_the_catalog() -> None:
    assert (ROOT / SERVICES_DOC).read_text() == render_services_md(), "docs/services.md is stale: run `make docs`"


def test_the_service_reference_changes_with_the_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    redis = services.CATALOG["redis"]
    changed = {**services.CATALOG, "redis": replace(redis, image="redis:9.0-alpine")}
    monkeypatch.setattr(service_docs, "CATALOG", changed)
    text = render_services_md()
    assert "`redis:9.0-alpine`" in text
    assert text != (ROOT / SERVICES_DOC).read_text()


def test_every_catalog_service_and_port_is_in_the_reference() -> None:
    text = (ROOT / SERVICES_DOC).read_text()
    for spec in services.CATALOG.values():
        (row,) = [line for line in text.splitlines() if line.startswith(f"| {spec.name} ")]
        assert f"`{spec.image}`" in row
        for port in spec.ports:
            assert f"{port.internal} -> " in row


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_every_relative_link_and_code_path_in_the_docs_exists(doc: Path) -> None:
    text = doc.read_text()
    links = [target for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text) if not target.startswith("http")]
    paths = re.findall(r"`((?:components|tools|tests|policies|backend|docs)/[\w./-]+\.(?:py|md|mjs))(?:::\w+)?`", text)
    missing = [target for target in [*links, *paths] if not (doc.parent / target).exists() and not (ROOT / target).exists()]
    assert missing == []


def test_the_architecture_doc_names_every_module_of_every_layer() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    components = ROOT / "components"
    unnamed = [
        str(path.relative_to(components))
        for path in sorted(components.glob("*/*.py"))
        if path.name != "__init__.py" and f"`{path.name}`" not in text
    ]
    assert unnamed == []


def test_the_readme_layout_lists_every_layer_package() -> None:
    layout = (ROOT / "README.md").read_text().split("## Project layout", 1)[1].split("\n## ", 1)[0]
    packages = sorted(path.parent.name for path in (ROOT / "components").glob("*/__init__.py"))
    assert [package for package in packages if f"  {package}/" not in layout] == []
