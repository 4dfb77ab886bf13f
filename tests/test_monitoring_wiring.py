"""Prometheus, Alertmanager, blackbox exporter and consul-exporter containers get the rendered files and the Consul token."""

from __future__ import annotations

import pytest

from components.catalog.services import CATALOG
from components.offline.provider_state import uuid_of
from components.offline.synth import Capture
from components.offline.types import ACL_TOKEN, CONTAINER


def uploads(capture: Capture, service: str) -> dict[str, str]:
    return {upload["file"]: upload["content"] for upload in capture.one(CONTAINER, service).plain["uploads"]}


def prometheus_token(capture: Capture) -> str:
    """The secret id discovery reads back for the token bound to its `prometheus` policy (as the mocks answer it)."""
    token = next(r for r in capture.all(ACL_TOKEN) if r.name.endswith("-prometheus-token"))
    return uuid_of("secret/" + uuid_of("accessor/" + token.name))


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


def test_prometheus_runs_without_the_lifecycle_api_in_the_container_and_the_catalog(plan):
    # --web.enable-lifecycle would let any container on the mesh network POST /-/quit
    command = plan.one(CONTAINER, "prometheus").plain["command"]
    assert not [flag for flag in command if flag.startswith("--web.enable-")]
    assert not [flag for flag in CATALOG["prometheus"].command if flag.startswith("--web.enable-")]


def test_consul_exporter_is_deployed_to_report_check_status(plan):
    assert plan.one(CONTAINER, "consul-exporter").plain["command"] == ["--consul.server=consul:8500"]


def test_discoverys_prometheus_token_reaches_prometheus_as_a_secret_file(plan):
    container = plan.one(CONTAINER, "prometheus")
    files = [upload["file"] for upload in container.plain["uploads"]]
    index = files.index("/etc/prometheus/consul-token")
    token = container.plain["uploads"][index]["content"]
    assert token == prometheus_token(plan)
    assert any(f"uploads[{index}].content".startswith(path) for path in container.secret_paths())
    # prometheus.yml names the file, never the token
    assert token not in plan.rendered_files["prometheus/prometheus.yml"]


def test_consul_exporter_reads_health_with_its_own_token_as_a_secret_env(plan):
    prometheus = uploads(plan, "prometheus")["/etc/prometheus/consul-token"]
    container = plan.one(CONTAINER, "consul-exporter")
    (env,) = [env for env in container.plain["envs"] if env.startswith("CONSUL_HTTP_TOKEN=")]
    assert env.split("=", 1)[1] not in ("", prometheus)  # not Prometheus' token
    index = container.plain["envs"].index(env)
    assert any(f"envs[{index}]".startswith(path) for path in container.secret_paths())


@pytest.mark.parametrize(("service", "token_name"), [("prometheus", "-prometheus-token"), ("consul-exporter", "-consul-exporter-token")])
def test_prometheus_and_consul_exporter_start_after_their_token_exists(plan, service, token_name):
    token = next(r for r in plan.all(ACL_TOKEN) if r.name.endswith(token_name))
    container = plan.one(CONTAINER, service)
    assert token.urn in container.dependencies or any(token.urn in deps for deps in container.property_dependencies.values())


def test_without_consul_prometheus_gets_no_token_and_no_consul_jobs(synth):
    capture = synth({"services": {"consul": {"enabled": False}, "consul-esm": {"enabled": False}, "consul-exporter": {"enabled": False}}})
    assert "/etc/prometheus/consul-token" not in uploads(capture, "prometheus")
    assert "consul" not in capture.rendered_files["prometheus/prometheus.yml"].replace("consul-token", "")
