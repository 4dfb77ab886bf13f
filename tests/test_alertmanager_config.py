"""alertmanager.yml: a route tree by severity, receivers from secret config, inhibitions; checked by amtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components.model.monitoring import AlertingConfig
from components.offline.synth import Capture, Registration
from components.offline.types import CONTAINER
from components.render.alertmanager import mesh_alertmanager_config, render_alertmanager_yml
from components.wiring.monitoring import NO_RECEIVER_WARNING

AMTOOL = shutil.which("amtool")
needs_amtool = pytest.mark.skipif(AMTOOL is None, reason="needs amtool (Debian's prometheus-alertmanager)")

WEBHOOK = "https://hooks.example.com/mesh/7f3a"
ALL_RECEIVERS = {
    "webhookUrl": WEBHOOK,
    "slack": {"webhookUrl": "https://hooks.slack.com/services/T000/B000/XXXX", "channel": "#mesh-alerts"},
    "email": {
        "to": "ops@example.com",
        "from": "mesh@example.com",
        "smarthost": "smtp.example.com:587",
        "username": "mesh",
        "password": "s3cret",
    },
}


def render(alerting: dict[str, Any]) -> str:
    return render_alertmanager_yml(mesh_alertmanager_config(AlertingConfig.model_validate(alerting)))


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert AMTOOL
    return subprocess.run([AMTOOL, *args], capture_output=True, text=True, timeout=60)


@needs_amtool
@pytest.mark.parametrize("alerting", [{}, {"webhookUrl": WEBHOOK}, ALL_RECEIVERS], ids=["no-receiver", "webhook", "all"])
def test_amtool_accepts_the_rendered_config(alerting, tmp_path):
    path = tmp_path / "alertmanager.yml"
    path.write_text(render(alerting))
    result = amtool("check-config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 inhibit rules" in result.stdout


@needs_amtool
def test_amtool_accepts_the_stack_rendered_config(plan, tmp_path):
    path = tmp_path / "alertmanager.yml"
    path.write_text(plan.rendered_files["alertmanager/alertmanager.yml"])
    assert amtool("check-config", str(path)).returncode == 0


def route_of(path: Path, *labels: str) -> str:
    result = amtool("config", "routes", "test", f"--config.file={path}", "--verify.receivers=", *labels)
    return result.stdout.strip()


@needs_amtool
def test_alerts_of_every_severity_reach_the_configured_receivers(tmp_path):
    path = tmp_path / "alertmanager.yml"
    path.write_text(render(ALL_RECEIVERS))
    assert route_of(path, "alertname=ServiceDown", "severity=critical", "mesh_service=redis") == "mesh"
    assert route_of(path, "alertname=HostMemoryLow", "severity=warning", "mesh_service=node-exporter") == "mesh"
    assert route_of(path, "alertname=Unknown") == "mesh"


@needs_amtool
def test_without_a_receiver_alerts_end_in_the_null_receiver(tmp_path):
    path = tmp_path / "alertmanager.yml"
    path.write_text(render({}))
    assert route_of(path, "severity=critical") == "null"
    assert yaml.safe_load(path.read_text())["receivers"] == [{"name": "null"}]


def test_receivers_carry_webhook_slack_and_email():
    receiver = yaml.safe_load(render(ALL_RECEIVERS))["receivers"][0]
    assert receiver["webhook_configs"] == [{"url": WEBHOOK, "send_resolved": True}]
    assert receiver["slack_configs"][0]["channel"] == "#mesh-alerts"
    assert receiver["email_configs"][0]["auth_password"] == "s3cret"


def test_routes_group_by_alert_and_service_and_split_by_severity():
    route = yaml.safe_load(render({"webhookUrl": WEBHOOK}))["route"]
    assert route["group_by"] == ["alertname", "mesh_service"]
    assert [child["matchers"] for child in route["routes"]] == [['severity="critical"'], ['severity="warning"']]
    assert route["routes"][0]["repeat_interval"] == "1h"


def test_a_down_service_inhibits_its_other_alerts_and_critical_inhibits_warning():
    inhibit = yaml.safe_load(render({"webhookUrl": WEBHOOK}))["inhibit_rules"]
    assert {
        "source_matchers": ['alertname="ServiceDown"'],
        "target_matchers": ['alertname!="ServiceDown"'],
        "equal": ["mesh_service"],
    } in inhibit
    assert {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'], "equal": ["mesh_service"]} in inhibit


def alertmanager_uploads(capture: Capture) -> Registration:
    return capture.one(CONTAINER, "alertmanager")


def test_the_webhook_url_is_a_secret_wherever_it_is_used(synth):
    capture = synth({"monitoring": {"alerting": {"webhookUrl": WEBHOOK}}}, secret_keys=("monitoring",))
    container = alertmanager_uploads(capture)
    upload = next(u for u in container.plain["uploads"] if u["file"] == "/etc/alertmanager/alertmanager.yml")
    index = container.plain["uploads"].index(upload)
    # the SDK may lift secretness to the enclosing list: the content must be under a secret path
    assert any(f"uploads[{index}].content".startswith(path) for path in container.secret_paths())
    assert WEBHOOK in upload["content"]


def test_up_warns_when_no_receiver_is_configured(synth, monkeypatch):
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))
    synth({})
    assert NO_RECEIVER_WARNING in warnings
    warnings.clear()
    synth({"monitoring": {"alerting": {"webhookUrl": WEBHOOK}}}, secret_keys=("monitoring",))
    assert NO_RECEIVER_WARNING not in warnings
