"""The pinned npm packages of the MCP catalog, installed once per test session into a prefix all xdist workers share."""

from __future__ import annotations

import fcntl
import subprocess
from pathlib import Path

import pytest

from components.catalog.mcp_servers import MCP_CATALOG, SUPERGATEWAY

# claude-flow pulls in hundreds of megabytes (agents, neural, wasm): too heavy for every test run
TOO_HEAVY = frozenset({"claude-flow"})
PACKAGES = (SUPERGATEWAY, *(spec.package for name, spec in MCP_CATALOG.items() if name not in TOO_HEAVY))


def installed_bin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`node_modules/.bin` of a prefix holding `PACKAGES`; the first worker installs, the others wait and reuse it."""
    root = tmp_path_factory.getbasetemp().parent / "npm-mcp-catalog"
    root.mkdir(exist_ok=True)
    wanted = "\n".join(PACKAGES)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = root / ".installed"
        if not marker.exists() or marker.read_text() != wanted:
            subprocess.run(
                ["npm", "install", "--prefix", str(root), "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", *PACKAGES],
                check=True,
                capture_output=True,
                timeout=400,
            )
            marker.write_text(wanted)
    return root / "node_modules" / ".bin"
