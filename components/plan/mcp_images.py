"""The MCP servers' images: one build per server from its committed lockfile, tagged by the hash of what it is built from.

Each server's build context (`mcp/servers/<name>/`) holds the `package.json` that `make mcp-lock` writes from
the catalog, the `package-lock.json` npm generated for it, and a copy of the health probe; `mcp/Dockerfile`
installs them with `npm ci --omit=dev --ignore-scripts` as a non-root user. The tag hashes only committed
bytes (file names and contents, the Dockerfile, the build arguments), never file modes or times, so the same
commit always yields the same tag and a change to one context re-tags exactly that server.
This module imports no Pulumi.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from components.catalog.mcp_servers import McpServerSpec, package_manifest
from components.model.base import ConfigError
from components.model.mesh import CONFIG_NAMESPACE

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""Where the program runs (`pulumi up` runs in the project directory): contexts are relative to it."""
DOCKERFILE = "mcp/Dockerfile"
CONTEXT_FILES = ("package.json", "package-lock.json", "mcp-probe.mjs")
"""Everything the Dockerfile copies; `mcp/Dockerfile.dockerignore` keeps all else (a local node_modules) out."""
IMAGE_REPOSITORY = "service-mesh/mcp"
TAG_LENGTH = 16


@dataclass(frozen=True)
class McpImageBuild:
    server: str
    context: str
    """Relative to the project directory, as docker.Image's `build.context` takes (and stores) it."""
    dockerfile: str
    args: Mapping[str, str]
    image_name: str
    """`service-mesh/mcp-<name>:<hash of the Dockerfile, the context files and the build arguments>`."""


def build_args(server: McpServerSpec) -> dict[str, str]:
    """The Dockerfile's arguments: the pinned base image, and the directory the non-root user must own."""
    return {"DATA_PATH": server.data_path or "", "NODE_IMAGE": server.image}


def content_tag(dockerfile: bytes, files: Iterable[tuple[str, bytes]], args: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for name, content in [("Dockerfile", dockerfile), *sorted(files)]:
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    digest.update(json.dumps(dict(sorted(args.items()))).encode())
    return digest.hexdigest()[:TAG_LENGTH]


def _error(server: McpServerSpec, message: str) -> ConfigError:
    return ConfigError(f"{CONFIG_NAMESPACE}:mcpServers.{server.name}.package", message)


def _regenerate(server: McpServerSpec) -> str:
    return f"run `make mcp-lock` and commit {server.context}/"


def _read_context(server: McpServerSpec, root: Path) -> list[tuple[str, bytes]]:
    context = root / server.context
    missing = [name for name in CONTEXT_FILES if not (context / name).is_file()]
    if missing:
        raise _error(server, f"no {', '.join(missing)} in {server.context}/ to build {server.package} from; {_regenerate(server)}")
    return [(name, (context / name).read_bytes()) for name in CONTEXT_FILES]


def _check_pins(server: McpServerSpec, files: list[tuple[str, bytes]]) -> None:
    """The context was generated for exactly this server's packages (a config edit without `make mcp-lock` fails here)."""
    content = dict(files)
    manifest, lock = json.loads(content["package.json"]), json.loads(content["package-lock.json"])
    expected = package_manifest(server)
    wanted = expected["dependencies"]
    if manifest.get("dependencies") != wanted or manifest.get("overrides") != expected.get("overrides"):
        raise _error(server, f"{server.context}/package.json pins {manifest.get('dependencies')}, not {wanted}; {_regenerate(server)}")
    if lock.get("packages", {}).get("", {}).get("dependencies") != wanted:
        raise _error(server, f"{server.context}/package-lock.json was generated for other packages; {_regenerate(server)}")


def plan_image_builds(servers: Iterable[McpServerSpec], root: Path | None = None) -> dict[str, McpImageBuild]:
    """Every server's build, by server name, from its committed context. A missing or stale context is a `ConfigError`,
    raised before anything is registered."""
    root = PROJECT_ROOT if root is None else root
    dockerfile = (root / DOCKERFILE).read_bytes()
    contexts: dict[str, list[tuple[str, bytes]]] = {}
    checked: set[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]] = set()
    builds = {}
    for server in servers:
        if server.context not in contexts:
            contexts[server.context] = _read_context(server, root)
        # servers sharing a context (several instances of one package) are checked once
        if (server.context, server.packages, server.npm_overrides) not in checked:
            _check_pins(server, contexts[server.context])
            checked.add((server.context, server.packages, server.npm_overrides))
        args = build_args(server)
        tag = content_tag(dockerfile, contexts[server.context], args)
        builds[server.name] = McpImageBuild(
            server=server.name,
            context=server.context,
            dockerfile=DOCKERFILE,
            args=args,
            image_name=f"{IMAGE_REPOSITORY}-{server.name}:{tag}",
        )
    return builds
