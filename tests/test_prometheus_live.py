"""A real Prometheus (Debian's 2.42) and a real blackbox exporter run the rendered files on loopback.

The mesh's endpoints are pointed at 127.0.0.1: one fake HTTP server stands in for Consul, Kong's
status port and the probed services. Debian builds Prometheus without Consul discovery, so the
`consul-services` job alone gets its targets over HTTP SD, from the fake, labelled exactly as Consul SD
labels them (upstream discovery/consul/consul.go); its relabelling runs unchanged.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import yaml

from components.catalog.endpoint import Endpoint
from components.model.mesh import parse_mesh_config
from components.plan.endpoints import service_endpoints
from components.plan.services import resolve_services
from components.render.alert_rules import mesh_alert_rules, render_rules_yml
from components.render.prometheus import (
    CONSUL_TOKEN_FILE,
    RULES_FILE,
    mesh_prometheus_config,
    prometheus_command,
    render_blackbox_yml,
    render_prometheus_yml,
    scraped_exporters,
)
from tests.host_tools import needs
from tests.loopback import wait_ready

PROMETHEUS = shutil.which("prometheus")
BLACKBOX = shutil.which("prometheus-blackbox-exporter")
pytestmark = needs("prometheus", "prometheus-blackbox-exporter")

TOKEN = "prometheus-acl-token-for-the-test"
DEADLINE_S = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class FakeService:
    """A Consul catalog entry as discovery registers it."""

    name: str
    tags: tuple[str, ...]
    port: int
    meta: dict[str, str]


class FakeMesh(BaseHTTPRequestHandler):
    """Consul's agent metrics and catalog, Kong's status /metrics, and the probed services' health pages."""

    catalog: list[FakeService] = []
    seen_unauthorized: list[str] = []

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {TOKEN}":
            return True
        self.seen_unauthorized.append(self.path)
        self._send(403, "text/plain", "ACL not found")
        return False

    def _send(self, status: int, content_type: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        text = "text/plain; version=0.0.4"
        if url.path == "/v1/agent/metrics":
            if self._authorized():
                if urllib.parse.parse_qs(url.query).get("format") != ["prometheus"]:
                    self._send(400, "text/plain", "expected format=prometheus")
                else:
                    self._send(200, text, "consul_raft_apply 3\n")
        elif url.path == "/consul-sd":
            if self._authorized():
                self._send(200, "application/json", json.dumps(self.consul_sd_groups()))
        elif url.path == "/metrics":
            self._send(200, text, 'kong_nginx_requests_total{node_id="n1",subsystem="http"} 7\n')
        elif url.path == "/demo/metrics":
            self._send(200, text, "demo_requests_total 1\n")
        elif url.path in {"/", "/api/v2/heartbeat"}:
            self._send(200, "text/plain", "ok")
        else:
            self._send(404, "text/plain", "not found")

    def consul_sd_groups(self) -> list[dict[str, Any]]:
        """What Consul SD with `tags: [metrics]` hands the scrape manager: one group per watched service."""
        groups = []
        for service in self.catalog:
            if "metrics" not in service.tags:
                continue
            labels = {
                "__meta_consul_service": service.name,
                "__meta_consul_service_id": f"{service.name}-1",
                "__meta_consul_service_address": "127.0.0.1",
                "__meta_consul_service_port": str(service.port),
                "__meta_consul_tags": "," + ",".join(service.tags) + ",",
                "__meta_consul_node": "mesh-services",
                "__meta_consul_health": "passing",
                "__meta_consul_dc": "dc1",
            }
            labels.update({f"__meta_consul_service_metadata_{key}": value for key, value in service.meta.items()})
            groups.append({"targets": [f"127.0.0.1:{service.port}"], "labels": labels})
        return groups


def on_loopback(endpoint: Endpoint, port: int) -> Endpoint:
    return replace(
        endpoint,
        address="127.0.0.1",
        port=port,
        metrics=None if endpoint.metrics is None else replace(endpoint.metrics, port=port),
        check=None if endpoint.check is None else replace(endpoint.check, port=port),
    )


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("prometheus")
    fake = ThreadingHTTPServer(("127.0.0.1", 0), FakeMesh)
    mesh_port = int(fake.server_address[1])
    FakeMesh.catalog = [
        FakeService(
            "demo",
            ("metrics",),
            1,
            {
                "metrics_path": "/demo/metrics",
                "metrics_port": str(mesh_port),
                "metrics_param_format": "text",
                "category": "core",
                "kind": "core",
            },
        ),
        FakeService("kong", ("metrics",), mesh_port, {"metrics_path": "/metrics", "metrics_port": str(mesh_port)}),
        FakeService("untagged", (), mesh_port, {}),
    ]
    threading.Thread(target=fake.serve_forever, daemon=True).start()

    blackbox_port, alertmanager_port, prometheus_port = free_port(), free_port(), free_port()
    own_port = {"blackbox-exporter": blackbox_port, "alertmanager": alertmanager_port}
    config = parse_mesh_config({"monitoring": {"retention": "2h"}})
    endpoints = [
        on_loopback(endpoint, own_port.get(endpoint.service, mesh_port)) for endpoint in service_endpoints(resolve_services(config))
    ]

    document = yaml.safe_load(render_prometheus_yml(mesh_prometheus_config(endpoints)))
    for job in document["scrape_configs"]:
        if job["job_name"] == "consul-services":
            consul = job.pop("consul_sd_configs")[0]
            job["http_sd_configs"] = [{"url": f"http://{consul['server']}/consul-sd", "authorization": consul["authorization"]}]
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(document, sort_keys=False))
    rules = mesh_alert_rules(config.monitoring.thresholds, scraped_exporters(endpoints))
    (workdir / RULES_FILE).write_text(render_rules_yml([rules]))
    (workdir / CONSUL_TOKEN_FILE).write_text(TOKEN + "\n")
    (workdir / "blackbox.yml").write_text(render_blackbox_yml())

    flags = prometheus_command(config.monitoring, config_file=str(workdir / "prometheus.yml"), storage_path=str(workdir / "data"))
    assert PROMETHEUS and BLACKBOX
    processes = [
        subprocess.Popen(
            [BLACKBOX, f"--config.file={workdir / 'blackbox.yml'}", f"--web.listen-address=127.0.0.1:{blackbox_port}"],
            stdout=(workdir / "blackbox.log").open("w"),
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [PROMETHEUS, *flags, f"--web.listen-address=127.0.0.1:{prometheus_port}"],
            stdout=(workdir / "prometheus.log").open("w"),
            stderr=subprocess.STDOUT,
        ),
    ]
    api = f"http://127.0.0.1:{prometheus_port}"
    try:
        wait_ready(f"{api}/-/ready", processes[1], workdir / "prometheus.log", "Prometheus")
        yield {"api": api, "rules": rules, "mesh_port": mesh_port, "alertmanager_port": alertmanager_port, "workdir": workdir}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        fake.shutdown()


def wait_for_targets(api: str) -> list[dict[str, Any]]:
    """Active targets once every one of them has been scraped (a 15 s interval: up to one interval)."""
    started = time.monotonic()
    while True:
        targets = get_json(f"{api}/api/v1/targets")["data"]["activeTargets"]
        if targets and all(target["health"] != "unknown" for target in targets):
            return list(targets)
        if time.monotonic() - started > DEADLINE_S:
            return list(targets)
        time.sleep(0.5)


def wait_for_alertmanagers(api: str) -> list[str]:
    """The Alertmanager URLs Prometheus sends to, once its notifier has discovered them (asynchronously after start)."""
    started = time.monotonic()
    while True:
        managers = get_json(f"{api}/api/v1/alertmanagers")["data"]["activeAlertmanagers"]
        if managers or time.monotonic() - started > DEADLINE_S:
            return [manager["url"] for manager in managers]
        time.sleep(0.2)


def test_prometheus_loads_every_rendered_rule(running):
    groups = get_json(f"{running['api']}/api/v1/rules")["data"]["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"]}
    assert loaded == {rule.name for rule in running["rules"].rules}
    assert len(loaded) >= 8


def test_prometheus_scrapes_consul_kong_discovered_services_and_probes(running):
    targets = wait_for_targets(running["api"])
    by_job: dict[str, list[dict[str, Any]]] = {}
    for target in targets:
        by_job.setdefault(target["labels"]["job"], []).append(target)
    assert set(by_job) == {"consul-services", "consul", "kong", "blackbox-http"}
    unhealthy = [(target["scrapeUrl"], target["lastError"]) for target in targets if target["health"] != "up"]
    assert not unhealthy


def test_consul_metrics_are_fetched_with_the_token_file(running):
    wait_for_targets(running["api"])
    assert not [path for path in FakeMesh.seen_unauthorized if "agent/metrics" in path or "consul-sd" in path]
    consul = [
        target for target in get_json(f"{running['api']}/api/v1/targets")["data"]["activeTargets"] if target["labels"]["job"] == "consul"
    ]
    assert consul[0]["scrapeUrl"] == f"http://127.0.0.1:{running['mesh_port']}/v1/agent/metrics?format=prometheus"


def test_discovered_service_is_scraped_at_its_meta_path_and_port_and_static_ones_are_not_doubled(running):
    targets = [target for target in wait_for_targets(running["api"]) if target["labels"]["job"] == "consul-services"]
    assert [target["labels"]["mesh_service"] for target in targets] == ["demo"]
    demo = targets[0]
    assert demo["scrapeUrl"] == f"http://127.0.0.1:{running['mesh_port']}/demo/metrics?format=text"
    assert demo["labels"] == {
        "job": "consul-services",
        "mesh_service": "demo",
        "instance": "demo-1",
        "category": "core",
        "kind": "core",
        "consul_health": "passing",
    }


def test_blackbox_probes_answer_through_the_real_exporter(running):
    wait_for_targets(running["api"])
    query = urllib.parse.urlencode({"query": "probe_success"})
    results = get_json(f"{running['api']}/api/v1/query?{query}")["data"]["result"]
    assert {result["metric"]["mesh_service"]: result["value"][1] for result in results} == {"neo4j": "1", "chromadb": "1"}


def test_prometheus_sends_alerts_to_the_mesh_alertmanager_and_keeps_the_configured_retention(running):
    assert wait_for_alertmanagers(running["api"]) == [f"http://127.0.0.1:{running['alertmanager_port']}/api/v2/alerts"]
    flags = get_json(f"{running['api']}/api/v1/status/flags")["data"]
    assert flags["storage.tsdb.retention.time"] == "2h"


def http_status(method: str, url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, data=b"" if method in ("POST", "PUT") else None)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


@pytest.mark.parametrize(("method", "path"), [("POST", "/-/quit"), ("PUT", "/-/quit"), ("POST", "/-/reload"), ("PUT", "/-/reload")])
def test_the_rendered_command_refuses_the_lifecycle_api_to_any_client(running, method, path):
    # prometheus web/web.go: without --web.enable-lifecycle these routes answer 403 forbiddenAPINotEnabled
    assert http_status(method, running["api"] + path) == (403, "Lifecycle API is not enabled.")
    assert http_status("GET", running["api"] + "/-/healthy")[0] == 200


def test_the_rendered_command_refuses_the_tsdb_admin_api(running):
    # no --web.enable-admin-api: web/api/v1/api.go answers errorUnavailable (500 in Debian's 2.42) without a snapshot
    status, body = http_status("POST", running["api"] + "/api/v1/admin/tsdb/snapshot")
    assert status >= 400 and json.loads(body)["error"] == "admin APIs disabled"
    assert http_status("GET", running["api"] + "/-/ready")[0] == 200
