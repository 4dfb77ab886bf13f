"""`make verify` against loopback fixtures: endpoints from the stack outputs (a stand-in `pulumi` on
PATH answers `pulumi stack output --json --show-secrets`), the "Validation Results" table, `--json`,
exit 0 only when everything passes, and one clear line when there is nothing to check."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from components.offline.synth import Capture, reveal
from mesh_status.targets import targets_from_stack_outputs
from tests import api_answers
from tests.loopback import LoopbackMesh, Reply

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def mesh(loopback_mesh: LoopbackMesh) -> LoopbackMesh:
    return loopback_mesh


def fake_pulumi(directory: Path, outputs: dict[str, object] | None, stderr: str = "", code: int = 0) -> Path:
    """A `pulumi` that answers only `stack output --json --show-secrets --stack <name>`, logging its call."""
    script = directory / "pulumi"
    script.write_text(
        f"""#!{sys.executable}
import json, os, sys
with open({str(directory / "calls.log")!r}, "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "backend": os.environ.get("PULUMI_BACKEND_URL", "")}}) + "\\n")
if sys.argv[1:4] != ["stack", "output", "--json"] or "--show-secrets" not in sys.argv:
    sys.exit(99)
sys.stderr.write({stderr!r})
print(json.dumps({outputs!r}) if {outputs is not None!r} else "")
sys.exit({code})
"""
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return directory


def make_verify(bin_dir: Path | None, *flags: str, stack: str = "dev") -> subprocess.CompletedProcess[str]:
    path = os.environ["PATH"] if bin_dir is None else f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    if bin_dir is None:
        # a PATH on which no pulumi can be found
        path = os.pathsep.join(p for p in path.split(os.pathsep) if not (Path(p) / "pulumi").exists())
    return subprocess.run(
        ["make", "--no-print-directory", "-o", "venv/.installed", "verify", f"STACK={stack}", f"VERIFY_FLAGS={' '.join(flags)}"],
        cwd=ROOT,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_verify_prints_the_validation_results_and_passes_on_a_healthy_mesh(mesh: LoopbackMesh, tmp_path: Path) -> None:
    done = make_verify(fake_pulumi(tmp_path, mesh.stack_outputs()), stack="loopback")

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "Validation Results" in lines
    for check in ("service discovery", "communication", "circuit breakers", "discovery lookups"):
        assert any(line.startswith(check) and " PASS " in line for line in lines), (check, done.stdout)
    backend = next(line for line in lines if line.startswith("backend "))
    # the status listener names no routes (route column "-"), only the circuits
    assert backend.split()[:8] == ["backend", "PASS", "yes", "passing", "up", "-", "closed:", "2/2"]
    assert any(line.startswith("mcp-memory ") and " PASS " in line for line in lines)
    assert lines[-1] == "Overall: PASS"
    call = json.loads((tmp_path / "calls.log").read_text().splitlines()[0])
    assert call["argv"] == ["stack", "output", "--json", "--show-secrets", "--stack", "loopback"]
    assert call["backend"] == f"file://{ROOT}/.pulumi-state"


@pytest.mark.parametrize("fault", ["consul check critical", "kong target unhealthy", "mcp server is a web page"])
def test_make_verify_exits_non_zero_on_any_fault(mesh: LoopbackMesh, tmp_path: Path, fault: str) -> None:
    outputs = mesh.stack_outputs()
    if fault == "consul check critical":
        checks = [
            api_answers.consul_check("backend"),
            api_answers.consul_check("consul"),
            api_answers.consul_check("redis", "critical", "refused"),
        ]
        faulty = mesh.consul.replaced(**{"GET /v1/health/state/any": Reply(checks)})
        expected = ("redis ", "consul: check Service 'redis' check is critical: refused")
    elif fault == "kong target unhealthy":
        health = api_answers.kong_health(("backend-1:8000", "UNHEALTHY"), ("backend-2:8000", "HEALTHY"))
        faulty = mesh.kong.replaced(**{"GET /upstreams/backend-upstream/health": health})
        expected = ("backend ", "circuit open for backend-1:8000 UNHEALTHY")
    else:
        outputs["mcpServers"] = {"mcp-docs": f"{mesh.not_mcp.url}/mcp"}
        faulty = mesh.not_mcp.replaced()
        expected = ("mcp-docs ", "is not an MCP server: answered HTTP 200 with text/html")
    with faulty:
        done = make_verify(fake_pulumi(tmp_path, outputs))

    assert done.returncode != 0
    row = next(line for line in done.stdout.splitlines() if line.startswith(expected[0]))
    assert " FAIL " in row and expected[1] in row, row
    assert done.stdout.splitlines()[-1] == "Overall: FAIL"


def verify_json(directory: Path, outputs: dict[str, object]) -> subprocess.CompletedProcess[str]:
    """`python -m tools.verify --outputs FILE --json` on a saved copy of `outputs` (the tool's own exit code)."""
    outputs_file = directory / "outputs.json"
    outputs_file.write_text(json.dumps(outputs))
    return subprocess.run(
        [sys.executable, "-m", "tools.verify", "--outputs", str(outputs_file), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_verify_json_is_the_report(mesh: LoopbackMesh, tmp_path: Path) -> None:
    done = verify_json(tmp_path, mesh.stack_outputs())
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "pass"
    assert [s["name"] for s in report["sections"]] == ["service discovery", "communication", "circuit breakers", "discovery lookups"]
    assert {s["name"] for s in report["services"]} >= {"backend", "consul", "redis", "kong", "grafana", "jaeger", "mcp-memory", "mcp-docs"}


def test_an_unreachable_endpoint_given_by_flag_is_reported_not_hung(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.verify", "--consul", "http://127.0.0.1:9", "--expect", "backend", "--timeout", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "service discovery  FAIL" in done.stdout and "connection refused" in done.stdout


def test_without_the_pulumi_cli_verify_says_so_in_one_line() -> None:
    done = make_verify(None)
    assert done.returncode != 0
    assert done.stderr.splitlines()[0].startswith("verify: nothing to check: the Pulumi CLI is not installed")
    assert "Traceback" not in done.stderr and done.stdout.strip() == "venv/bin/python -m tools.verify --stack dev"


def test_without_a_deployed_stack_verify_says_so_in_one_line(tmp_path: Path) -> None:
    done = make_verify(fake_pulumi(tmp_path, None, stderr="error: no stack named 'dev' found\n", code=255))
    assert done.returncode != 0
    verify_lines = [line for line in done.stderr.splitlines() if line.startswith("verify:")]
    assert verify_lines == [
        "verify: nothing to check: stack 'dev' is not deployed or not readable (error: no stack named 'dev' found); run `make up` first"
    ]
    assert "Traceback" not in done.stderr


def test_verify_reads_the_outputs_this_stack_really_exports(plan: Capture) -> None:
    targets = targets_from_stack_outputs(reveal(plan.outputs))
    assert (targets.consul_url, targets.kong_status_url, targets.prometheus_url, targets.grafana_url, targets.jaeger_url) == (
        "http://127.0.0.1:10006",
        "http://127.0.0.1:10015",
        "http://127.0.0.1:10200",
        "http://127.0.0.1:10201",
        "http://127.0.0.1:10210",
    )
    databases = {target.name: target for target in targets.databases}
    assert {name: (t.protocol, t.port) for name, t in databases.items()} == {
        "postgres": ("postgres", 10000),
        "redis": ("redis", 10001),
        "neo4j": ("bolt", 10003),
        "rabbitmq": ("amqp", 10007),
    }
    # passwords come from the (secret) connection strings, addresses from the host's access points
    assert databases["postgres"].host == "127.0.0.1" and databases["postgres"].user == "mesh_app" and databases["postgres"].password
    assert databases["redis"].password
    assert targets.expected_services == plan.outputs["services"]


def test_verify_exits_3_when_nothing_failed_but_something_could_not_be_observed(mesh: LoopbackMesh, tmp_path: Path) -> None:
    """Exit 3, not 0 (an unknown is never a pass) and not 1 (nothing is known to be broken): a mesh whose outputs name no
    Kong status listener can have its circuit breakers neither passed nor failed."""
    outputs = mesh.stack_outputs()
    access_points = dict(outputs["accessPoints"])
    del access_points["kong.status"]
    # the tool itself: make turns any failed recipe into its own exit 2
    done = verify_json(tmp_path, {**outputs, "accessPoints": access_points})

    assert done.returncode == 3, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "unknown"
    sections = {section["name"]: (section["verdict"], section["detail"]) for section in report["sections"]}
    assert sections["circuit breakers"] == ("unknown", "no Kong status endpoint given")
    assert not [name for name, (verdict, _) in sections.items() if verdict == "fail"]
