"""prometheus.yml and the blackbox modules: built from the endpoints, checked by promtool and the blackbox exporter."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from components.catalog.endpoint import Endpoint
from components.catalog.metrics import CONSUL_HEALTH_LABEL, SERVICE_LABEL
from components.catalog.services import Check, Metrics
from components.model.mesh import parse_mesh_config
from components.plan.endpoints import service_endpoints
from components.plan.services import resolve_services
from components.render.prometheus import (
    CONSUL_TOKEN_FILE,
    RULES_FILE,
    SCRAPE_INTERVAL,
    mesh_prometheus_config,
    probe_target,
    prometheus_command,
    render_blackbox_yml,
    render_prometheus_yml,
    scraped_exporters,
)
from tests.host_tools import needs

PROMTOOL = shutil.which("promtool")
BLACKBOX = shutil.which("prometheus-blackbox-exporter")

# consul_sd_config keys in Prometheus 3.x (discovery/consul/consul.go SDConfig) plus the inline HTTP client config keys
# (prometheus/common config.HTTPClientConfig); Debian's 2.42 is built without Consul SD, so promtool cannot check these.
CONSUL_SD_KEYS = {
    "server", "path_prefix", "token", "datacenter", "namespace", "partition", "tag_separator", "scheme", "username",
    "password", "allow_stale", "refresh_interval", "services", "tags", "node_meta", "filter",
    "basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file", "tls_config", "proxy_url", "follow_redirects",
    "enable_http2",
}  # fmt: skip


def default_endpoints(raw: dict[str, Any] | None = None) -> list[Endpoint]:
    return service_endpoints(resolve_services(parse_mesh_config(raw or {})))


def rendered(endpoints: list[Endpoint] | None = None) -> dict[str, Any]:
    return yaml.safe_load(  # type: ignore[no-any-return]
        render_prometheus_yml(mesh_prometheus_config(default_endpoints() if endpoints is None else endpoints))
    )


def job(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(job for job in document["scrape_configs"] if job["job_name"] == name)


def test_every_target_is_scraped_every_15_seconds():
    assert rendered()["global"]["scrape_interval"] == "15s" == SCRAPE_INTERVAL


def test_consul_discovery_keeps_services_tagged_metrics_with_the_token_from_a_file():
    consul_sd = job(rendered(), "consul-services")["consul_sd_configs"]
    assert consul_sd == [
        {
            "server": "consul:8500",
            "tags": ["metrics"],
            "refresh_interval": "30s",
            "authorization": {"type": "Bearer", "credentials_file": CONSUL_TOKEN_FILE},
        }
    ]
    assert set(consul_sd[0]) <= CONSUL_SD_KEYS
    assert "token" not in consul_sd[0]


def test_discovered_targets_take_metrics_path_and_port_from_service_meta():
    relabel = job(rendered(), "consul-services")["relabel_configs"]
    assert {
        "source_labels": ["__meta_consul_service_metadata_metrics_path"],
        "regex": "(.+)",
        "target_label": "__metrics_path__",
    } in relabel
    assert {
        "regex": "__meta_consul_service_metadata_metrics_param_(.+)",
        "replacement": "__param_$1",
        "action": "labelmap",
    } in relabel
    address = next(step for step in relabel if step.get("target_label") == "__address__")
    assert address["source_labels"] == ["__address__", "__meta_consul_service_metadata_metrics_port"]
    targets = {
        step["target_label"]: step["source_labels"][0]
        for step in relabel
        if step.get("target_label") in {"category", "kind", SERVICE_LABEL, CONSUL_HEALTH_LABEL}
    }
    assert targets == {
        SERVICE_LABEL: "__meta_consul_service",
        CONSUL_HEALTH_LABEL: "__meta_consul_health",
        "category": "__meta_consul_service_metadata_category",
        "kind": "__meta_consul_service_metadata_kind",
    }


def test_consul_and_kong_are_scraped_statically_and_not_twice():
    document = rendered()
    consul, kong = job(document, "consul"), job(document, "kong")
    assert (consul["metrics_path"], consul["params"]) == ("/v1/agent/metrics", {"format": ["prometheus"]})
    assert consul["authorization"] == {"type": "Bearer", "credentials_file": CONSUL_TOKEN_FILE}
    assert consul["static_configs"][0]["targets"] == ["consul:8500"]
    assert (kong["metrics_path"], kong["static_configs"][0]["targets"]) == ("/metrics", ["kong:8100"])
    # the target names its service `mesh_service`, so Kong's own `service` label (the Kong service) survives
    assert kong["static_configs"][0]["labels"][SERVICE_LABEL] == "kong" and "honor_labels" not in kong
    drop = job(document, "consul-services")["relabel_configs"][0]
    assert drop == {"source_labels": ["__meta_consul_service"], "regex": "consul|kong", "action": "drop"}


def test_services_without_metrics_are_probed_through_the_blackbox_exporter():
    probes = job(rendered(), "blackbox-http")
    targets = {group["labels"][SERVICE_LABEL]: group["targets"] for group in probes["static_configs"]}
    assert targets == {"neo4j": ["http://neo4j:7474/"], "chromadb": ["http://chromadb:8000/api/v2/heartbeat"]}
    assert probes["params"] == {"module": ["http_2xx"]}
    assert {"target_label": "__address__", "replacement": "blackbox-exporter:9115"} in probes["relabel_configs"]


def test_a_new_blackbox_endpoint_over_tcp_gets_a_tcp_probe_with_no_code():
    mcp = Endpoint("mcp-memory", "mcp-memory", "mcp-orchestrator", 3009, Check("tcp", 3009), None, True, "mcp", "mcp")
    probes = job(rendered([*default_endpoints(), mcp]), "blackbox-tcp")
    assert probes["static_configs"][0]["targets"] == ["mcp-orchestrator:3009"]
    assert probes["params"] == {"module": ["tcp_connect"]}


def test_a_new_service_with_metrics_is_discovered_not_configured():
    exporter = Endpoint("new-exporter", "new-exporter", "new-exporter", 9999, None, Metrics(9999), False, "monitoring", "monitoring")
    before, after = rendered(), rendered([*default_endpoints(), exporter])
    assert before == after
    assert "new-exporter" in scraped_exporters([*default_endpoints(), exporter])


def test_alerts_go_to_alertmanager_by_alias_and_internal_port():
    assert rendered()["alerting"] == {"alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]}


def test_disabled_services_leave_no_job_behind():
    endpoints = default_endpoints({"services": {"kong": {"enabled": False}, "blackbox-exporter": {"enabled": False}}})
    names = [job["job_name"] for job in rendered(endpoints)["scrape_configs"]]
    assert names == ["consul-services", "consul"]


def test_retention_flags_come_from_config():
    monitoring = parse_mesh_config({"monitoring": {"retention": "30d", "retentionSize": "20GB"}}).monitoring
    flags = prometheus_command(monitoring)
    assert "--storage.tsdb.retention.time=30d" in flags
    assert "--storage.tsdb.retention.size=20GB" in flags
    assert "--config.file=/etc/prometheus/prometheus.yml" in flags


def test_prometheus_flags_are_exactly_config_storage_and_retention_without_the_lifecycle_api():
    monitoring = parse_mesh_config({"monitoring": {"retention": "7d"}}).monitoring
    assert prometheus_command(monitoring, config_file="/c.yml", storage_path="/d") == [
        "--config.file=/c.yml",
        "--storage.tsdb.path=/d",
        "--storage.tsdb.retention.time=7d",
    ]
    assert prometheus_command(monitoring)[:2] == ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]


def write_prometheus_dir(directory: Path, prometheus_yml: str, rules_yml: str) -> Path:
    (directory / "prometheus.yml").write_text(prometheus_yml)
    (directory / RULES_FILE).write_text(rules_yml)
    (directory / CONSUL_TOKEN_FILE).write_text("token\n")
    return directory / "prometheus.yml"


def promtool_check_config(path: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL
    return subprocess.run([PROMTOOL, "check", "config", str(path)], capture_output=True, text=True, timeout=60)


def without_consul_sd(prometheus_yml: str) -> str:
    """The same file with Consul SD swapped for HTTP SD carrying the same authorization (for a build without Consul SD)."""
    document = yaml.safe_load(prometheus_yml)
    for scrape in document["scrape_configs"]:
        if "consul_sd_configs" in scrape:
            consul = scrape.pop("consul_sd_configs")[0]
            scrape["http_sd_configs"] = [{"url": f"http://{consul['server']}/", "authorization": consul["authorization"]}]
    return yaml.safe_dump(document, sort_keys=False)


@needs("promtool")
def test_promtool_accepts_the_stack_rendered_config_and_rules(plan, tmp_path):
    prometheus_yml, rules_yml = plan.rendered_files["prometheus/prometheus.yml"], plan.rendered_files[f"prometheus/{RULES_FILE}"]
    result = promtool_check_config(write_prometheus_dir(tmp_path, prometheus_yml, rules_yml))
    if "field consul_sd_configs not found" in result.stdout + result.stderr:
        # Debian 2.42 is built without Consul SD ("Disable Consul SD until its Debian package is back in shape")
        result = promtool_check_config(write_prometheus_dir(tmp_path, without_consul_sd(prometheus_yml), rules_yml))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "9 rules found" in result.stdout


@needs("promtool")
def test_promtool_rejects_a_config_whose_rule_file_is_missing(plan, tmp_path):
    path = write_prometheus_dir(tmp_path, without_consul_sd(plan.rendered_files["prometheus/prometheus.yml"]), "")
    (tmp_path / RULES_FILE).unlink()
    assert promtool_check_config(path).returncode != 0


@needs("prometheus-blackbox-exporter")
def test_blackbox_exporter_accepts_its_rendered_modules(plan, tmp_path):
    assert BLACKBOX
    path = tmp_path / "config.yml"
    path.write_text(plan.rendered_files["blackbox-exporter/config.yml"])
    result = subprocess.run([BLACKBOX, f"--config.file={path}", "--config.check"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert set(yaml.safe_load(render_blackbox_yml())["modules"]) == {"http_2xx", "tcp_connect"}


def test_replicated_blackbox_exporter_is_reached_through_its_shared_alias():
    endpoints = default_endpoints({"services": {"blackbox-exporter": {"replicas": 2}}})
    probes = job(rendered(endpoints), "blackbox-http")
    assert {"target_label": "__address__", "replacement": "blackbox-exporter:9115"} in probes["relabel_configs"]
    assert [endpoint.address for endpoint in endpoints if endpoint.service == "blackbox-exporter"] == [
        "blackbox-exporter-1",
        "blackbox-exporter-2",
    ]


def test_kong_metrics_port_comes_from_the_catalog():
    moved = [replace(e, metrics=Metrics(9542)) if e.service == "kong" else e for e in default_endpoints()]
    assert job(rendered(moved), "kong")["static_configs"][0]["targets"] == ["kong:9542"]


def test_the_rendered_jobs_carry_every_relabel_the_live_prometheus_test_relies_on():
    """What tests/test_prometheus_live.py proves with a real Prometheus, checked value by value in milliseconds."""
    document = yaml.safe_load(render_prometheus_yml(mesh_prometheus_config(default_endpoints())))
    assert document["global"] == {"scrape_interval": "15s", "evaluation_interval": "15s", "external_labels": {"mesh": "service-mesh"}}
    jobs = {job["job_name"]: job for job in document["scrape_configs"]}
    meta = "__meta_consul_service_metadata_"
    assert jobs["consul-services"]["relabel_configs"] == [
        {"source_labels": ["__meta_consul_service"], "regex": "consul|kong", "action": "drop"},
        {"source_labels": [f"{meta}metrics_path"], "regex": "(.+)", "target_label": "__metrics_path__"},
        {"regex": f"{meta}metrics_param_(.+)", "replacement": "__param_$1", "action": "labelmap"},
        {
            "source_labels": ["__address__", f"{meta}metrics_port"],
            "separator": ";",
            "regex": r"([^:;]+)(?::\d+)?;(\d+)",
            "target_label": "__address__",
            "replacement": "$1:$2",
        },
        {"source_labels": ["__meta_consul_service"], "target_label": "mesh_service"},
        {"source_labels": ["__meta_consul_health"], "target_label": "consul_health"},
        {"source_labels": ["__meta_consul_service_id"], "target_label": "instance"},
        {"source_labels": [f"{meta}category"], "target_label": "category"},
        {"source_labels": [f"{meta}kind"], "target_label": "kind"},
    ]
    assert jobs["consul"]["static_configs"] == [
        {"targets": ["consul:8500"], "labels": {"mesh_service": "consul", "instance": "consul", "category": "core", "kind": "mesh"}}
    ]
    blackbox = jobs["blackbox-http"]
    assert (blackbox["metrics_path"], blackbox["params"]) == ("/probe", {"module": ["http_2xx"]})
    assert blackbox["relabel_configs"] == [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"target_label": "__address__", "replacement": "blackbox-exporter:9115"},
    ]
    assert blackbox["static_configs"][0] == {
        "targets": ["http://neo4j:7474/"],
        "labels": {"mesh_service": "neo4j", "instance": "neo4j", "category": "core", "kind": "database"},
    }


def test_the_blackbox_exporter_counts_as_scraped_only_when_deployed_and_something_is_probed():
    endpoints = default_endpoints()
    without_exporter = [endpoint for endpoint in endpoints if endpoint.service != "blackbox-exporter"]
    nothing_probed = [replace(endpoint, blackbox=False) for endpoint in endpoints]
    assert "blackbox-exporter" in scraped_exporters(endpoints)
    assert "blackbox-exporter" not in scraped_exporters(without_exporter)
    assert "blackbox-exporter" not in scraped_exporters(nothing_probed)
    assert "redis-exporter" in scraped_exporters(nothing_probed)


def test_the_blackbox_modules_probe_over_ipv4_in_five_seconds_and_http_takes_any_2xx():
    modules = yaml.safe_load(render_blackbox_yml())["modules"]
    assert modules == {
        "http_2xx": {
            "prober": "http",
            "timeout": "5s",
            "http": {"valid_status_codes": [], "method": "GET", "preferred_ip_protocol": "ip4"},
        },
        "tcp_connect": {"prober": "tcp", "timeout": "5s", "tcp": {"preferred_ip_protocol": "ip4"}},
    }


def test_prometheus_loads_the_mesh_rules_and_only_consuls_own_job_sends_the_token():
    document = rendered()
    assert document["rule_files"] == ["mesh.rules.yml"]
    assert job(document, "consul")["authorization"] == {"type": "Bearer", "credentials_file": "consul-token"}
    # the token opens Consul's ACLs: no other static target may receive it
    assert "authorization" not in job(document, "kong")


def test_a_probe_targets_the_check_port_and_path_or_else_the_service_port():
    def endpoint(check: Check | None) -> Endpoint:
        return Endpoint("svc", "svc", "svc-1", 8080, check, None, True, "core", "core")

    assert probe_target(endpoint(Check("http", 8081, ""))) == ("http_2xx", "http://svc-1:8081/")
    assert probe_target(endpoint(Check("http", 8081, "/ready"))) == ("http_2xx", "http://svc-1:8081/ready")
    assert probe_target(endpoint(Check("tcp", 8082, ""))) == ("tcp_connect", "svc-1:8082")
    assert probe_target(endpoint(None)) == ("tcp_connect", "svc-1:8080")
