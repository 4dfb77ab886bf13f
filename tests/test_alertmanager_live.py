"""A real Alertmanager (Debian's 0.25) runs the rendered config on loopback: routes deliver, inhibitions hold."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from components.model.monitoring import AlertingConfig
from components.render.alertmanager import mesh_alertmanager_config, render_alertmanager_yml
from tests.host_tools import needs
from tests.loopback import free_port, wait_ready

ALERTMANAGER = shutil.which("prometheus-alertmanager")
pytestmark = needs("prometheus-alertmanager")
DEADLINE_S = 30


class Webhook(BaseHTTPRequestHandler):
    """The configured webhook receiver: keeps every notification Alertmanager posts."""

    received: list[dict[str, Any]] = []

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()


def alert(name: str, severity: str, service: str) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, "severity": severity, "mesh_service": service},
        "annotations": {"summary": f"{name} on {service}"},
    }


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("alertmanager")
    hook = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    alerting = AlertingConfig.model_validate({"webhookUrl": f"http://127.0.0.1:{hook.server_address[1]}/alerts"})
    (workdir / "alertmanager.yml").write_text(render_alertmanager_yml(mesh_alertmanager_config(alerting)))
    port = free_port()
    assert ALERTMANAGER
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={workdir / 'alertmanager.yml'}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=(workdir / "alertmanager.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    api = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{api}/-/ready", process, workdir / "alertmanager.log", "Alertmanager")
        body = json.dumps(
            [
                alert("ServiceDown", "critical", "redis"),
                alert("ConsulCheckCritical", "critical", "redis"),
                alert("KongHighErrorRatio", "warning", "backend"),
                alert("KongHighLatencyP95", "warning", "redis"),
                alert("ConsulCheckCritical", "critical", "qdrant"),
                alert("KongHighLatencyP95", "warning", "qdrant"),
            ]
        ).encode()
        request = urllib.request.Request(f"{api}/api/v2/alerts", data=body, headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        yield api
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        hook.shutdown()


def states(api: str) -> dict[str, str]:
    with urllib.request.urlopen(f"{api}/api/v2/alerts", timeout=5) as response:
        return {f"{a['labels']['alertname']}/{a['labels']['mesh_service']}": a["status"]["state"] for a in json.load(response)}


def test_a_down_service_silences_its_other_alerts_and_a_critical_one_its_warnings(alertmanager):
    expected = {
        "ServiceDown/redis": "active",
        "ConsulCheckCritical/redis": "suppressed",
        "KongHighLatencyP95/redis": "suppressed",
        "ConsulCheckCritical/qdrant": "active",
        "KongHighLatencyP95/qdrant": "suppressed",
        "KongHighErrorRatio/backend": "active",
    }
    started = time.monotonic()
    while (current := states(alertmanager)) != expected and time.monotonic() - started < DEADLINE_S:
        time.sleep(0.5)
    assert current == expected


def test_the_webhook_receives_only_what_is_not_inhibited_grouped_by_alert_and_service(alertmanager):
    started = time.monotonic()
    # critical groups wait 10 s, warnings 30 s before their first notification
    while time.monotonic() - started < 45 and len(Webhook.received) < 3:
        time.sleep(0.5)
    groups = sorted((n["groupLabels"]["alertname"], n["groupLabels"]["mesh_service"], n["receiver"]) for n in Webhook.received)
    assert groups == [
        ("ConsulCheckCritical", "qdrant", "mesh"),
        ("KongHighErrorRatio", "backend", "mesh"),
        ("ServiceDown", "redis", "mesh"),
    ]
