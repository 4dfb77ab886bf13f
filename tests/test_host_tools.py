"""A missing real tool never passes CI silently: under CI=true its skip is a failure; locally the skip names the package."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HIDDEN = "amtool"
VICTIM = "tests/test_alertmanager_config.py::test_amtool_accepts_the_rendered_config[webhook]"


def path_without(tool: str, shadow: Path) -> str:
    """A PATH of one directory linking every command of the real PATH except `tool`."""
    shadow.mkdir()
    for directory in reversed(os.environ["PATH"].split(os.pathsep)):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            link = shadow / entry.name
            if entry.name != tool and not link.exists():
                link.symlink_to(entry.path)
    return str(shadow)


def run_victim(path: str, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "CI"} | {"PATH": path}
    if ci:
        env["CI"] = "true"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-rs", VICTIM]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_a_tool_hidden_from_path_fails_under_ci_and_skips_naming_its_package_locally(tmp_path):
    path = path_without(HIDDEN, tmp_path / "bin")
    with ThreadPoolExecutor(max_workers=2) as pool:
        under_ci, local = pool.map(lambda ci: run_victim(path, ci), [True, False])
    assert under_ci.returncode == 1, under_ci.stdout
    assert "CI=true and this test would skip" in under_ci.stdout
    assert "1 error" in under_ci.stdout  # a skipif mark skips in setup, so its failure is reported as an error
    assert local.returncode == 0, local.stdout
    assert "1 skipped" in local.stdout
    assert "amtool (apt-get install prometheus-alertmanager)" in local.stdout
