"""The catalog's MCP servers are real and their images' installs work: each committed build context, installed as
mcp/Dockerfile installs it (`npm ci --omit=dev --ignore-scripts` from its lockfile), started with its container's
exact launch script, answers the probe's MCP `initialize` with a valid result, bridged by the locked supergateway
where it speaks stdio. claude-flow's install is too heavy for every run (see tests/npm_packages.py): opt in with
MESH_TEST_CLAUDE_FLOW=1."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from pathlib import Path

import pytest

from components.catalog.mcp_servers import MCP_CATALOG, PROBE_PATH, McpServerSpec, launch_script
from components.render.mcp_probe import PROBE_SCRIPT
from tests.npm_packages import HEAVY, HEAVY_OPT_IN, heavy_included, installed_context
from tests.test_mcp_bridge import _free_port


def _local(spec: McpServerSpec, data_dir: Path) -> McpServerSpec:
    """The same server on a free loopback port, its /data on a temporary directory."""

    def relocate(value: str) -> str:
        return value.replace("/data", str(data_dir))

    return dataclasses.replace(
        spec,
        port=_free_port(),
        args=tuple(relocate(arg) for arg in spec.args),
        env=tuple((key, relocate(value)) for key, value in spec.env),
    )


def _probe_until_healthy(probe: Path, url: str, process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> str:
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {last}")
        result = subprocess.run(["node", str(probe), "check", url], capture_output=True, text=True, timeout=30)
        if result.returncode == 0:
            return result.stdout
        last = result.stderr
        time.sleep(0.5)
    raise TimeoutError(last)


@pytest.mark.parametrize("name", list(MCP_CATALOG))
def test_each_catalog_server_installed_from_its_lockfile_answers_initialize_behind_its_launch_script(
    name: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if name in HEAVY and not heavy_included():
        pytest.skip(f"npm ci of {name}'s lockfile takes minutes and ~830 MB; {HEAVY_OPT_IN}=1 runs it")
    spec = MCP_CATALOG[name]
    bin_dir = installed_context(tmp_path_factory, spec)
    assert (bin_dir / spec.bin).exists(), f"{spec.context}/package-lock.json installs no {spec.bin}"
    probe = tmp_path / "mcp-probe.mjs"
    probe.write_text(PROBE_SCRIPT, encoding="utf-8")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    local = _local(spec, data_dir)
    # the image's PATH: its own node_modules/.bin first (mcp/Dockerfile), nothing installed globally
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **dict(local.env)}
    process = subprocess.Popen(
        ["sh", "-c", launch_script(local).replace(PROBE_PATH, str(probe))],
        env=environment,
        cwd=tmp_path,
        # a container's stdin is /dev/null: supergateway exits when its stdin closes, so mirror that
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        answer = _probe_until_healthy(probe, local.local_url, process)
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=20)
    assert answer.startswith("ok: "), answer
    print(f"{name}: {answer.strip()}")
