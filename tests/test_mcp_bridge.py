"""The launch script of a stdio MCP server really serves MCP: the pinned supergateway, started with the exact
flags the catalog renders, bridges a real stdio MCP server (the `mcp` package) to streamable HTTP; the
probe passes against it, in check mode (the Docker healthcheck) and through its HTTP face (Consul)."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from components.catalog.mcp_servers import MCP_CATALOG, PROBE_PATH, SUPERGATEWAY, McpServerSpec, launch_script, serve_step
from components.render.mcp_probe import PROBE_SCRIPT
from tests.npm_packages import installed_context

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    # the probe's face listens on port + 100: pick a port whose neighbour is free too
    for _ in range(50):
        with socket.socket() as first, socket.socket() as second:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            if port + 100 > 65535:
                continue
            try:
                second.bind(("127.0.0.1", port + 100))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port pair")


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"launch script exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def test_a_stdio_server_behind_the_rendered_supergateway_launch_passes_the_probe(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # supergateway as the memory server's image holds it: npm ci from its committed lockfile
    bin_dir = installed_context(tmp_path_factory, MCP_CATALOG["memory"])
    assert (bin_dir / "supergateway").exists(), f"the memory context locks no {SUPERGATEWAY}"
    probe = tmp_path / "mcp-probe.mjs"
    probe.write_text(PROBE_SCRIPT, encoding="utf-8")
    port = _free_port()
    spec = McpServerSpec(
        name="loopback", port=port, package="loopback@1.0.0", bin=sys.executable, args=("-m", "tests.mcp_loopback_server", "stdio")
    )
    # the script as the container runs it (the image holds every package: no install, no npm), with the probe's local path
    assert launch_script(spec) == serve_step(spec)
    assert "npm" not in shlex.split(launch_script(spec))
    rest = serve_step(spec).replace(PROBE_PATH, str(probe))
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    # stdin is /dev/null as in a container: supergateway exits when its stdin is a pipe that closes
    process = subprocess.Popen(
        ["sh", "-c", rest],
        cwd=REPO,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", process)
        # supergateway's own /healthz is static; the probe is what proves MCP answers
        check = subprocess.run(["node", str(probe), "check", spec.local_url], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stderr
        assert "loopback-test-server" in check.stdout
        with urllib.request.urlopen(f"http://127.0.0.1:{spec.health_port}/health", timeout=60) as response:
            body = json.loads(response.read())
        assert (response.status, body["status"], body["serverInfo"]["name"]) == (200, "passing", "loopback-test-server")
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=20)
