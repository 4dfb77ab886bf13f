"""Alert rules: checked and unit-tested by promtool (tests/rules/*.yml fire and stay quiet for every rule)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from components.model.mesh import parse_mesh_config
from components.model.monitoring import AlertThresholds
from components.render.alert_rules import all_alert_rules, mesh_alert_rules, render_rules_yml
from components.render.prometheus import RULES_FILE
from tests.host_tools import needs

PROMTOOL = shutil.which("promtool")
RULE_TESTS = sorted((Path(__file__).parent / "rules").glob("*.yml"))
REQUIRED = {
    "ServiceDown",
    "ConsulCheckCritical",
    "KongHighErrorRatio",
    "KongUpstreamTargetUnhealthy",
    "KongHighLatencyP95",
    "ProbeFailing",
    "ContainerRestarting",
    "HostDiskSpaceLow",
    "HostMemoryLow",
}
needs_promtool = needs("promtool")


def test_the_default_stack_loads_every_rule_the_issue_asks_for(plan):
    rules = yaml.safe_load(plan.rendered_files[f"prometheus/{RULES_FILE}"])
    assert {rule["alert"] for group in rules["groups"] for rule in group["rules"]} == REQUIRED


def test_every_alert_carries_severity_and_a_summary():
    for rule in all_alert_rules(AlertThresholds()):
        rendered = rule.render()
        assert rendered["labels"] == {"severity": rule.severity} and rule.severity in {"critical", "warning"}
        assert rendered["annotations"]["summary"]  # type: ignore[index]


def test_rules_whose_exporter_is_not_deployed_are_left_out():
    group = mesh_alert_rules(AlertThresholds(), ["kong", "node-exporter"])
    assert {rule.name for rule in group.rules} == {
        "ServiceDown",
        "KongHighErrorRatio",
        "KongUpstreamTargetUnhealthy",
        "KongHighLatencyP95",
        "HostDiskSpaceLow",
        "HostMemoryLow",
    }


def test_disabling_cadvisor_removes_the_restart_rule(synth):
    capture = synth({"services": {"cadvisor": {"enabled": False}}})
    names = {
        rule["alert"] for group in yaml.safe_load(capture.rendered_files[f"prometheus/{RULES_FILE}"])["groups"] for rule in group["rules"]
    }
    assert "ContainerRestarting" not in names and "HostMemoryLow" in names


def test_thresholds_come_from_config():
    thresholds = parse_mesh_config(
        {"monitoring": {"thresholds": {"errorRatio": 0.2, "latencyP95Ms": 250, "diskFreeRatio": 0.05, "memoryAvailableRatio": 0.15}}}
    ).monitoring.thresholds
    exprs = {rule.name: rule.expr for rule in all_alert_rules(thresholds)}
    assert "> 0.2," in exprs["KongHighErrorRatio"]
    assert "> 250," in exprs["KongHighLatencyP95"]
    assert exprs["HostDiskSpaceLow"].endswith("< 0.05")
    assert exprs["HostMemoryLow"].endswith("< 0.15")


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


@needs_promtool
def test_promtool_check_rules_accepts_the_stack_rules(plan, tmp_path):
    (tmp_path / RULES_FILE).write_text(plan.rendered_files[f"prometheus/{RULES_FILE}"])
    result = promtool("check", "rules", RULES_FILE, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(REQUIRED)} rules found" in result.stdout


def test_every_rule_has_a_test_file_that_shows_it_firing_and_staying_quiet():
    covered: dict[str, set[str]] = {}
    for path in RULE_TESTS:
        document = yaml.safe_load(path.read_text())
        assert document["rule_files"] == [RULES_FILE], path.name
        for case in document["tests"]:
            for check in case["alert_rule_test"]:
                covered.setdefault(check["alertname"], set()).add("fires" if check["exp_alerts"] else "quiet")
    assert covered == {name: {"fires", "quiet"} for name in REQUIRED}


@needs_promtool
def test_promtool_test_rules_passes_every_case_against_the_rendered_rules(plan, tmp_path):
    (tmp_path / RULES_FILE).write_text(plan.rendered_files[f"prometheus/{RULES_FILE}"])
    for path in RULE_TESTS:
        shutil.copy(path, tmp_path / path.name)
    result = promtool("test", "rules", *[path.name for path in RULE_TESTS], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS)


@needs_promtool
def test_the_rule_tests_fail_when_a_rule_loses_its_threshold(tmp_path):
    broken = AlertThresholds.model_validate({"errorRatio": 0.5, "memoryAvailableRatio": 0.01})
    (tmp_path / RULES_FILE).write_text(render_rules_yml([mesh_alert_rules(broken, ["kong", "node-exporter"])]))
    for name in ("kong_high_error_ratio.yml", "host_memory_low.yml"):
        shutil.copy(Path(__file__).parent / "rules" / name, tmp_path / name)
        result = promtool("test", "rules", name, cwd=tmp_path)
        assert result.returncode != 0, name
