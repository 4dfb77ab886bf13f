"""`make mcp-lock`: write each MCP server's build context (package.json, npm's package-lock.json, the probe).

For every MCP server of a stack config (the catalog's six and any `mesh:mcpServers` entry), it writes the
package.json that pins exactly its packages, copies the health probe beside it and has npm resolve the
lockfile (`npm install --package-lock-only`: nothing is installed or run). Commit what it writes; the stack
refuses to build a server whose context is missing or was generated for other packages.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from components.catalog.mcp_servers import McpServerSpec, package_manifest
from components.model.base import ConfigError
from components.model.mesh import parse_mesh_config
from components.offline.stack_file import load_stack_file
from components.plan.mcp import resolve_mcp
from components.plan.services import resolve_services
from components.render.mcp_probe import PROBE_SOURCE

# the lockfile names no registry (each tarball is still checked against its integrity hash), whatever ~/.npmrc says
NPM_LOCK = [
    "npm",
    "install",
    "--package-lock-only",
    "--ignore-scripts",
    "--omit-lockfile-registry-resolved",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
]


def servers_of(config_file: Path) -> list[McpServerSpec]:
    config = parse_mesh_config(load_stack_file(config_file).values)
    return list(resolve_mcp(config, resolve_services(config)).servers)


def write_context(server: McpServerSpec, root: Path) -> Path:
    """The server's context under `root`, with a lockfile npm resolved for exactly its pinned packages."""
    context = root / server.context
    context.mkdir(parents=True, exist_ok=True)
    (context / "package.json").write_text(json.dumps(package_manifest(server), indent=2) + "\n", encoding="utf-8")
    shutil.copyfile(PROBE_SOURCE, context / "mcp-probe.mjs")
    subprocess.run(NPM_LOCK, cwd=context, check=True, timeout=600)
    return context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make mcp-lock", description=__doc__)
    parser.add_argument("--config", type=Path, default=Path("Pulumi.dev.yaml"), help="stack config file (default: Pulumi.dev.yaml)")
    parser.add_argument("--root", type=Path, default=Path("."), help="project directory (default: .)")
    parser.add_argument("servers", nargs="*", help="only these servers (default: every server of the stack)")
    args = parser.parse_args(argv)
    try:
        servers = servers_of(args.config)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    unknown = set(args.servers) - {server.name for server in servers}
    if unknown:
        print(f"error: no MCP server named {', '.join(sorted(unknown))} in {args.config}", file=sys.stderr)
        return 2
    written: dict[str, McpServerSpec] = {}
    for server in servers:
        if args.servers and server.name not in args.servers:
            continue
        shared = written.get(server.context)
        if shared is not None:
            if shared.packages != server.packages:
                print(f"error: {server.name} and {shared.name} share {server.context} but pin other packages", file=sys.stderr)
                return 2
            continue
        context = write_context(server, args.root)
        written[server.context] = server
        print(f"{context}: {', '.join(server.packages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
