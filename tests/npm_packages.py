"""The MCP servers' committed build contexts, installed the way `mcp/Dockerfile` installs them (`npm ci --omit=dev
--ignore-scripts` from the lockfile), once per test session into directories all xdist workers share."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from components.catalog.mcp_servers import McpServerSpec
from components.plan.mcp_images import PROJECT_ROOT

NPM_CI = ["npm", "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"]

# measured here: npm ci of claude-flow's lockfile takes ~170 s with a warm npm cache and fills 830 MB (agents, neural,
# wasm), more than the whole suite's remaining budget; MESH_TEST_CLAUDE_FLOW=1 includes it (the Dockerfile's install)
HEAVY = frozenset({"claude-flow"})
HEAVY_OPT_IN = "MESH_TEST_CLAUDE_FLOW"


def heavy_included() -> bool:
    return os.environ.get(HEAVY_OPT_IN) == "1"


def installed_context(tmp_path_factory: pytest.TempPathFactory, server: McpServerSpec) -> Path:
    """`node_modules/.bin` of the server's committed context after `npm ci`; the first worker installs, the others wait."""
    source = PROJECT_ROOT / server.context
    lockfile = (source / "package-lock.json").read_bytes()
    target = tmp_path_factory.getbasetemp().parent / "npm-mcp-contexts" / server.context.replace("/", "_")
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = target / ".installed"
        wanted = hashlib.sha256(lockfile).hexdigest()
        if not marker.exists() or marker.read_text() != wanted:
            for name in ("package.json", "package-lock.json"):
                shutil.copyfile(source / name, target / name)
            subprocess.run(NPM_CI, cwd=target, check=True, capture_output=True, timeout=600)
            marker.write_text(wanted)
    return target / "node_modules" / ".bin"
