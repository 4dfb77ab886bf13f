"""Prometheus, Alertmanager, blackbox exporter and consul-exporter containers get the rendered files and the Consul token."""

from __future__ import annotations

import pulumi
import pytest

import components.mesh
from components.datastores import WiringContext
from components.synth import CONTAINER

TOKEN = "consul-acl-token-for-prometheus"


def uploads(capture, service: str) -> dict[str, str]:
    return {upload["file"]: upload["content"] for upload in capture.one(CONTAINER, service).plain["uploads"]}


def test_prometheus_gets_its_config_and_rules_as_rendered(plan):
    files = uploads(plan, "prometheus")
    assert files["/etc/prometheus/prometheus.yml"] == plan.rendered_files["prometheus/prometheus.yml"]
    assert files["/etc/prometheus/mesh.rules.yml"] == plan.rendered_files["prometheus/mesh.rules.yml"]


def test_alertmanager_and_blackbox_exporter_get_their_rendered_config(plan):
    assert uploads(plan, "alertmanager")["/etc/alertmanager/alertmanager.yml"] == plan.rendered_files["alertmanager/alertmanager.yml"]
    assert uploads(plan, "blackbox-exporter")["/etc/blackbox_exporter/config.yml"] == plan.rendered_files["blackbox-exporter/config.yml"]


def test_prometheus_retention_comes_from_config(synth):
    command = synth({"monitoring": {"retention": "45d"}}).one(CONTAINER, "prometheus").plain["command"]
    assert "--storage.tsdb.retention.time=45d" in command
    assert "--config.file=/etc/prometheus/prometheus.yml" in command


def test_consul_exporter_is_deployed_to_report_check_status(plan):
    container = plan.one(CONTAINER, "consul-exporter")
    assert container.plain["command"] == ["--consul.server=consul:8500"]


@pytest.fixture
def with_discovery_token(monkeypatch):
    """Stands in for the discovery side handing its Prometheus ACL token to the wiring."""

    def context_with_token(**fields) -> WiringContext:
        return WiringContext(**fields, prometheus_consul_token=pulumi.Output.secret(TOKEN))

    monkeypatch.setattr(components.mesh, "WiringContext", context_with_token)


def test_the_consul_token_reaches_prometheus_as_a_secret_file(synth, with_discovery_token):
    container = synth({}).one(CONTAINER, "prometheus")
    files = [upload["file"] for upload in container.plain["uploads"]]
    index = files.index("/etc/prometheus/consul-token")
    assert container.plain["uploads"][index]["content"] == TOKEN
    assert any(f"uploads[{index}].content".startswith(path) for path in container.secret_paths())
    assert TOKEN not in container.plain["uploads"][0]["content"]  # prometheus.yml names the file, never the token


def test_the_consul_token_reaches_consul_exporter_as_a_secret_env(synth, with_discovery_token):
    container = synth({}).one(CONTAINER, "consul-exporter")
    index = container.plain["envs"].index(f"CONSUL_HTTP_TOKEN={TOKEN}")
    assert any(f"envs[{index}]".startswith(path) for path in container.secret_paths())


def test_without_a_token_up_says_so_and_uploads_no_token_file(synth, monkeypatch):
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))
    capture = synth({})
    assert "/etc/prometheus/consul-token" not in uploads(capture, "prometheus")
    assert any(message.startswith("prometheus: no Consul ACL token") for message in warnings)
    assert any(message.startswith("consul-exporter: no Consul ACL token") for message in warnings)
