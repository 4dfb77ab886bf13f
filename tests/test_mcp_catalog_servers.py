"""The catalog's MCP servers are real: each pinned npm package (claude-flow aside, see below), installed at its
pinned version and started with the exact server part of its container's launch script, answers the probe's
MCP `initialize` with a valid result, bridged by the pinned supergateway where it speaks stdio."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from pathlib import Path

import pytest

from components.catalog.mcp_servers import MCP_CATALOG, PROBE_PATH, McpServerSpec, serve_step
from components.render.mcp_probe import PROBE_SCRIPT
from tests.npm_packages import TOO_HEAVY, installed_bin_dir
from tests.test_mcp_bridge import _free_port

SERVERS = [spec for name, spec in MCP_CATALOG.items() if name not in TOO_HEAVY]


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


def test_each_catalog_server_answers_initialize_behind_its_launch_script(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    bin_dir = installed_bin_dir(tmp_path_factory)
    for spec in SERVERS:
        assert (bin_dir / spec.bin).exists(), f"{spec.package} installs no {spec.bin}"
    probe = tmp_path / "mcp-probe.mjs"
    probe.write_text(PROBE_SCRIPT, encoding="utf-8")
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}

    # all of them at once, as in the orchestrator
    started: dict[str, tuple[McpServerSpec, subprocess.Popen[bytes]]] = {}
    answered = {}
    try:
        for spec in SERVERS:
            data_dir = tmp_path / f"{spec.name}-data"
            data_dir.mkdir()
            local = _local(spec, data_dir)
            started[spec.name] = (
                local,
                subprocess.Popen(
                    ["sh", "-c", serve_step(local).replace(PROBE_PATH, str(probe))],
                    env={**environment, **dict(local.env)},
                    cwd=tmp_path,
                    # a container's stdin is /dev/null: supergateway exits when its stdin closes, so mirror that
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                ),
            )
        for name, (local, process) in started.items():
            answered[name] = _probe_until_healthy(probe, local.local_url, process)
    finally:
        for _, process in started.values():
            os.killpg(process.pid, 15)
            process.wait(timeout=20)
    assert sorted(answered) == sorted(spec.name for spec in SERVERS)
    assert all(output.startswith("ok: ") for output in answered.values()), answered
    print("\n".join(f"{name}: {output.strip()}" for name, output in answered.items()))
