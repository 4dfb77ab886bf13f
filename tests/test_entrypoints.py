"""The two ways users run the program: `pulumi up` (through __main__.py) and `make plan` (tools/plan.py)."""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import mocks, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.offline.synth import MeshMocks, RecordingMonitor
from components.offline.types import CONTAINER

ROOT = Path(__file__).resolve().parent.parent


def run_main_under_mocks(config: dict[str, str]) -> RecordingMonitor:
    monitor = RecordingMonitor(MeshMocks())
    settings.ROOT.set(None)
    set_all_config(config)
    mocks.set_mocks(monitor.mocks, project="service-mesh", stack="dev", preview=True, monitor=monitor)

    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    _sync_await(run_pulumi_func(program))
    return monitor


def test_pulumi_up_reports_a_config_mistake_as_a_run_error_without_traceback_or_resources():
    with pytest.raises(pulumi.RunError) as raised:
        run_main_under_mocks({"mesh:services": json.dumps({"redis": {"hostPorts": [70000]}})})
    assert str(raised.value) == "mesh:services.redis.hostPorts[0]: 70000 is not a TCP port (1-65535)"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_pulumi_up_registers_the_mesh_from_engine_config():
    monitor = run_main_under_mocks({"mesh:bindAddress": "127.0.0.1"})
    assert sum(1 for r in monitor.registrations if r.type == CONTAINER) >= 20


def run_plan(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.plan", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_make_plan_lists_containers_with_healthchecks_and_writes_build(tmp_path):
    result = run_plan("--config", str(ROOT / "Pulumi.dev.yaml"), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    summary = re.search(r"^(\d+) containers, (\d+) with a healthcheck$", result.stdout, re.MULTILINE)
    assert summary is not None and int(summary[1]) == int(summary[2]) >= 20
    assert (tmp_path / "rabbitmq" / "rabbitmq.conf").read_text().startswith("load_definitions")
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert len(plan["resources"]) > 20
    # secrets never reach build/ in the clear
    assert "[secret]" in json.dumps(plan["outputs"]["connectionStrings"])


def test_make_plan_on_a_port_collision_exits_non_zero_with_one_line_naming_both_services(tmp_path):
    config = tmp_path / "Pulumi.clash.yaml"
    config.write_text("config:\n  mesh:services:\n    redis:\n      hostPorts: [10000]\n")
    result = run_plan("--config", str(config), "--out", str(tmp_path / "build"))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: mesh:services.redis.hostPorts[0]: host port 10000 is used by both redis and postgres"
    ]
    assert not (tmp_path / "build").exists()


def test_make_plan_on_a_missing_or_broken_file_says_so_in_one_line(tmp_path):
    missing = run_plan("--config", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and missing.stderr.strip().endswith("nope.yaml: no such stack config file")
    broken = tmp_path / "Pulumi.broken.yaml"
    broken.write_text("config: [\n")
    result = run_plan("--config", str(broken))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and "not valid YAML" in result.stderr


def test_pulumi_up_on_the_docker_host_refuses_a_cpu_limit_the_host_cannot_give(monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    with pytest.raises(pulumi.RunError) as raised:
        run_main_under_mocks({"mesh:services": json.dumps({"kong": {"cpus": 3}})})
    assert str(raised.value).startswith("mesh:services.kong.cpus: kong is limited to 3 CPUs but the Docker host has 2")
