"""Grafana as code: provider wiring, data sources, the folder and the generated dashboards."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.catalog.metrics import EXPORTER_METRICS, SERVICE_LABEL
from components.catalog.services import CATALOG, Check, Metrics, Port, ServiceSpec, http_probe
from components.model.base import ConfigError
from components.model.telemetry import TelemetryConfig
from components.offline.synth import Capture, Registration
from components.offline.types import CONTAINER, GRAFANA_DASHBOARD, GRAFANA_DATASOURCE, GRAFANA_FOLDER, GRAFANA_PROVIDER
from components.plan.addresses import grafana_url
from components.render.dashboards import OVERVIEW_UID
from components.render.datasources import JAEGER_UID, LOKI_UID, PROMETHEUS_UID
from components.render.telemetry import LOG_SERVICE_LABEL

# PromQL words that are not metric names
_PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
    "sum", "min", "max", "avg", "count", "rate", "irate", "increase", "histogram_quantile", "vector", "time",
}  # fmt: skip


def provider(plan: Capture) -> Registration:
    return plan.one(GRAFANA_PROVIDER, "mesh-grafana-provider")


def dashboards(plan: Capture) -> dict[str, dict[str, Any]]:
    return {json.loads(r.plain["configJson"])["uid"]: json.loads(r.plain["configJson"]) for r in plan.all(GRAFANA_DASHBOARD)}


def datasource_uids(plan: Capture) -> set[str]:
    return {r.plain["uid"] for r in plan.all(GRAFANA_DATASOURCE)}


def panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in model["panels"]:
        if panel["type"] != "row":
            yield panel


def queries(plan: Capture, datasource_type: str) -> Iterator[tuple[str, str]]:
    """(panel title, expression) of every query that reads the given kind of data source."""
    for model in dashboards(plan).values():
        for panel in panels(model):
            for target in panel["targets"]:
                if target["datasource"]["type"] == datasource_type:
                    yield panel["title"], target["expr"]


def metric_names(promql: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers outside strings, label matchers, groupings and ranges."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", promql)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        if match.group() not in _PROMQL_WORDS and not following.startswith("("):
            names.add(match.group())
    return names


# --- the provider --------------------------------------------------------------------------------


def test_grafana_provider_depends_on_the_grafana_container(plan: Capture) -> None:
    container = plan.one(CONTAINER, "grafana")
    assert container.urn in provider(plan).dependencies


def test_grafana_provider_is_configured_from_stable_values(plan: Capture, synth: Callable[..., Capture]) -> None:
    assert provider(plan).plain["url"] == "http://127.0.0.1:10201"
    # bound to every address, Grafana is still reached on loopback; bound to one, on that one
    assert grafana_url(TelemetryConfig(), "0.0.0.0", 10201) == "http://127.0.0.1:10201"
    assert grafana_url(TelemetryConfig(), "192.0.2.10", 10201) == "http://192.0.2.10:10201"
    assert grafana_url(TelemetryConfig(), "::1", 10201) == "http://[::1]:10201"
    assert provider(synth({"services": {"grafana": {"hostPorts": [10250]}}})).plain["url"] == "http://127.0.0.1:10250"
    assert provider(synth({"telemetry": {"grafanaUrl": "https://grafana.example:3000/"}})).plain["url"] == "https://grafana.example:3000"


def test_grafana_provider_authenticates_as_admin_with_the_generated_password_as_a_secret(plan: Capture) -> None:
    grafana = provider(plan)
    assert "auth" in grafana.secret_paths()
    container_env = plan.one(CONTAINER, "grafana").plain["envs"]
    password = next(env.split("=", 1)[1] for env in container_env if env.startswith("GF_SECURITY_ADMIN_PASSWORD="))
    assert grafana.plain["auth"] == f"admin:{password}"
    env_index = container_env.index(f"GF_SECURITY_ADMIN_PASSWORD={password}")
    # the password is secret wherever it goes (the SDK marks the whole env list secret when one item is)
    assert plan.one(CONTAINER, "grafana").secret_paths() & {"envs", f"envs[{env_index}]"}


def test_every_grafana_resource_is_managed_through_the_mesh_provider(plan: Capture) -> None:
    managed = [r for r in plan.resources if r.type.startswith("grafana:")]
    assert managed
    assert {r.provider.split("::")[-1] for r in managed} == {"mesh-grafana-provider-id"}
    assert all(r.provider.startswith(provider(plan).urn) for r in managed)


def test_the_admin_password_is_a_secret_stack_output(plan: Capture) -> None:
    from components.offline.synth import Secret

    assert isinstance(plan.outputs["grafanaAdminPassword"], Secret)
    assert plan.outputs["grafana"]["url"] == "http://127.0.0.1:10201"
    assert plan.outputs["grafana"]["dashboards"]["Mesh overview"] == f"http://127.0.0.1:10201/d/{OVERVIEW_UID}"


def test_no_secret_leaks_into_grafana_content(plan: Capture) -> None:
    password = provider(plan).plain["auth"].split(":", 1)[1]
    for registration in plan.all(GRAFANA_DATASOURCE) + plan.all(GRAFANA_DASHBOARD) + plan.all(GRAFANA_FOLDER):
        assert password not in json.dumps(registration.plain)


# --- data sources --------------------------------------------------------------------------------


def test_datasources_have_fixed_uids_and_reach_their_service_by_its_mesh_alias(plan: Capture) -> None:
    by_uid = {r.plain["uid"]: r.plain for r in plan.all(GRAFANA_DATASOURCE)}
    assert {uid: (source["type"], source["url"]) for uid, source in by_uid.items()} == {
        "prometheus": ("prometheus", "http://prometheus:9090"),
        "loki": ("loki", "http://loki:3100"),
        "jaeger": ("jaeger", "http://jaeger:16686"),
        "alertmanager": ("alertmanager", "http://alertmanager:9093"),
    }
    for uid, source in by_uid.items():
        service = source["url"].split("//")[1].split(":")[0]
        port = int(source["url"].rsplit(":", 1)[1])
        assert port in {p.internal for p in CATALOG[service].ports}, uid
    assert [uid for uid, source in by_uid.items() if source.get("isDefault")] == [PROMETHEUS_UID]


def test_a_trace_jumps_to_its_service_logs_in_loki(plan: Capture) -> None:
    jaeger = json.loads(plan.one(GRAFANA_DATASOURCE, "mesh-grafana-jaeger").plain["jsonDataEncoded"])
    links = jaeger["tracesToLogsV2"]
    assert links["datasourceUid"] == LOKI_UID
    # the service's lines in the minute around the span (Kong's access log lines carry no trace id to filter on)
    assert (links["spanStartTimeShift"], links["spanEndTimeShift"], links["filterByTraceID"]) == ("-1m", "1m", False)
    # the span's service.name is looked up as the Loki label Alloy puts on every log line
    assert {"key": "service.name", "value": LOG_SERVICE_LABEL} in links["tags"]
    assert f'target_label  = "{LOG_SERVICE_LABEL}"' in plan.rendered_files["alloy/config.alloy"]


def test_a_trace_id_in_a_log_line_links_back_to_jaeger(plan: Capture) -> None:
    loki = json.loads(plan.one(GRAFANA_DATASOURCE, "mesh-grafana-loki").plain["jsonDataEncoded"])
    (field,) = loki["derivedFields"]
    assert field["datasourceUid"] == JAEGER_UID
    line = 'kong: GET /api 200 trace_id="4bf92f3577b34da6a3ce929d0e0e4736"'
    assert re.search(field["matcherRegex"], line).group(1) == "4bf92f3577b34da6a3ce929d0e0e4736"  # type: ignore[union-attr]


def test_a_service_left_out_takes_its_datasource_and_links_with_it(synth: Callable[..., Capture]) -> None:
    plan = synth({"services": {"loki": {"enabled": False}, "alloy": {"enabled": False}}})
    assert datasource_uids(plan) == {"prometheus", "jaeger", "alertmanager"}
    jaeger = json.loads(plan.one(GRAFANA_DATASOURCE, "mesh-grafana-jaeger").plain["jsonDataEncoded"])
    assert "tracesToLogsV2" not in jaeger
    assert not list(queries(plan, "loki"))


def test_without_grafana_there_is_no_grafana_provider(synth: Callable[..., Capture]) -> None:
    plan = synth({"services": {"grafana": {"enabled": False}}})
    assert not plan.all(GRAFANA_PROVIDER)
    assert not [r for r in plan.resources if r.type.startswith("grafana:")]
    assert "grafanaAdminPassword" not in plan.outputs


# --- folder and dashboards -----------------------------------------------------------------------


def test_the_three_dashboards_live_in_the_mesh_folder(plan: Capture) -> None:
    folder = plan.one(GRAFANA_FOLDER, "mesh-grafana-folder").plain
    assert set(dashboards(plan)) == {"mesh-overview", "mesh-databases", "mesh-gateway"}
    for registration in plan.all(GRAFANA_DASHBOARD):
        assert registration.plain["folder"] == folder["uid"]
        # dashboards need their data sources first
        assert set(registration.dependencies) >= {r.urn for r in plan.all(GRAFANA_DATASOURCE)}


def test_dashboards_are_rendered_for_review_as_grafana_receives_them(plan: Capture) -> None:
    for registration in plan.all(GRAFANA_DASHBOARD):
        uid = json.loads(registration.plain["configJson"])["uid"]
        assert plan.rendered_files[f"grafana/dashboards/{uid}.json"] == registration.plain["configJson"]


def test_every_panel_reads_a_datasource_that_exists(plan: Capture) -> None:
    uids = datasource_uids(plan)
    for uid, model in dashboards(plan).items():
        for panel in panels(model):
            assert panel["datasource"]["uid"] in uids, (uid, panel["title"])
            assert panel["targets"], (uid, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] in uids, (uid, panel["title"])


def test_every_metric_a_panel_queries_is_produced_by_a_configured_target(plan: Capture) -> None:
    deployed = set(plan.outputs["services"])
    # scraped: the exporter is deployed and has a metrics endpoint (blackbox probes come from the blackbox exporter,
    # `up` from Prometheus itself)
    produced: set[str] = set()
    for exporter, names in EXPORTER_METRICS.items():
        if exporter in deployed and CATALOG[exporter].metrics is not None:
            produced |= names
    queried = {name: title for title, expr in queries(plan, "prometheus") for name in metric_names(expr)}
    assert queried, "no panel queries Prometheus"
    missing = {name: title for name, title in queried.items() if name not in produced}
    assert not missing


def test_metric_name_extraction_sees_through_promql_syntax() -> None:
    expr = 'histogram_quantile(0.95, sum by (service, le) (rate(kong_request_latency_ms_bucket{code=~"5.."}[5m]))) / on() vector(1)'
    assert metric_names(expr) == {"kong_request_latency_ms_bucket"}
    assert metric_names('count(up{service="x",consul_health="passing"}) or on() vector(0)') == {"up"}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian's prometheus package) is not installed")
def test_every_panel_query_is_valid_promql(plan: Capture, tmp_path: Path) -> None:
    expressions = sorted({expr for _, expr in queries(plan, "prometheus")})
    rules = {"groups": [{"name": "panels", "rules": [{"record": f"panel:query{i}", "expr": e} for i, e in enumerate(expressions)]}]}
    path = tmp_path / "panels.rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(expressions)} rules found" in result.stdout


def test_the_overview_covers_services_consul_gateway_circuit_and_mcp(plan: Capture) -> None:
    overview = dashboards(plan)[OVERVIEW_UID]
    exprs = " ".join(target["expr"] for panel in panels(overview) for target in panel["targets"])
    for scraped in [name for name in plan.outputs["services"] if CATALOG[name].metrics is not None]:
        assert f'up{{{SERVICE_LABEL}="{scraped}"}}' in exprs
    assert 'consul_health="passing"' in exprs
    assert "kong_http_requests_total" in exprs and 'code=~"5.."' in exprs and "kong_request_latency_ms_bucket" in exprs
    assert 'kong_upstream_target_health{state="unhealthy"}' in exprs
    assert f'probe_success{{{SERVICE_LABEL}=~"mcp-.+"}}' in exprs
    circuit = next(panel for panel in panels(overview) if "circuit" in panel["title"])
    assert circuit["fieldConfig"]["defaults"]["mappings"][0]["options"]["1"]["text"] == "open"


def test_a_new_service_with_metrics_appears_on_the_overview_with_no_other_code(
    synth: Callable[..., Capture], monkeypatch: pytest.MonkeyPatch
) -> None:
    billing = ServiceSpec(
        name="billing",
        kind="core",
        category="core",
        image="example/billing:1.0",
        ports=(Port(8080, 10030),),
        probe=http_probe("wget", 8080, "/health"),
        check=Check("http", 8080, "/health"),
        metrics=Metrics(8080),
    )
    monkeypatch.setitem(CATALOG, "billing", billing)
    overview = dashboards(synth())[OVERVIEW_UID]
    up_panel = next(panel for panel in panels(overview) if panel["title"].startswith("Scrape target up"))
    assert {"expr": f'min(up{{{SERVICE_LABEL}="billing"}})', "legendFormat": "billing"}.items() <= next(
        target for target in up_panel["targets"] if target["legendFormat"] == "billing"
    ).items()


def test_a_data_store_left_out_leaves_the_databases_dashboard(synth: Callable[..., Capture]) -> None:
    plan = synth({"services": {"redis": {"enabled": False}, "redis-exporter": {"enabled": False}}})
    exprs = " ".join(expr for _, expr in queries(plan, "prometheus"))
    assert "redis_" not in exprs
    assert "pg_stat_database_numbackends" in exprs


# --- config --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("telemetry", "key"),
    [
        ({"grafanaUrl": "grafana:3000"}, "mesh:telemetry.grafanaUrl"),
        ({"logRetention": "7 days"}, "mesh:telemetry.logRetention"),
        ({"maxTraces": 10}, "mesh:telemetry.maxTraces"),
        ({"dashboards": []}, "mesh:telemetry.dashboards"),
    ],
)
def test_telemetry_mistakes_are_one_line_config_errors(synth: Callable[..., Capture], telemetry: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as error:
        synth({"telemetry": telemetry})
    assert error.value.key == key
    assert "\n" not in str(error.value)


def _panel_expr(plan: Capture, dashboard_uid: str, title_start: str, legend: str | None = None) -> str:
    panel = next(panel for panel in panels(dashboards(plan)[dashboard_uid]) if panel["title"].startswith(title_start))
    return str(next(target["expr"] for target in panel["targets"] if legend is None or target["legendFormat"] == legend))


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian's prometheus package) is not installed")
def test_overview_panels_show_circuit_consul_health_and_error_ratio_on_real_series(plan: Capture, tmp_path: Path) -> None:
    """promtool evaluates the overview's own queries over series shaped like the exporters' output."""
    circuit = _panel_expr(plan, OVERVIEW_UID, "Upstream circuit state")
    consul = _panel_expr(plan, OVERVIEW_UID, "Consul health", legend="kong")
    errors = _panel_expr(plan, OVERVIEW_UID, "Kong 5xx ratio")
    kong = f'{SERVICE_LABEL}="kong"'
    cases = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    # Kong's health checks mark the target unhealthy at minute 3: the circuit opens
                    {
                        "series": 'kong_upstream_target_health{upstream="backend",target="backend:8000",state="healthy"}',
                        "values": "1 1 1 0 0 0",
                    },
                    {
                        "series": 'kong_upstream_target_health{upstream="backend",target="backend:8000",state="unhealthy"}',
                        "values": "0 0 0 1 1 1",
                    },
                    # one Kong instance, critical in Consul
                    {"series": f'up{{{kong},consul_health="critical"}}', "values": "1x10"},
                    # 10% of backend requests fail with 503
                    {"series": 'kong_http_requests_total{service="backend",code="200"}', "values": "0+90x10"},
                    {"series": 'kong_http_requests_total{service="backend",code="503"}', "values": "0+10x10"},
                ],
                "promql_expr_test": [
                    {
                        "expr": circuit,
                        "eval_time": "1m",
                        "exp_samples": [{"labels": '{upstream="backend",target="backend:8000"}', "value": 0}],
                    },
                    {
                        "expr": circuit,
                        "eval_time": "4m",
                        "exp_samples": [{"labels": '{upstream="backend",target="backend:8000"}', "value": 1}],
                    },
                    {"expr": consul, "eval_time": "5m", "exp_samples": [{"labels": "{}", "value": 0}]},
                    {"expr": errors, "eval_time": "8m", "exp_samples": [{"labels": '{service="backend"}', "value": 0.1}]},
                ],
            }
        ],
    }
    path = tmp_path / "overview.test.yml"
    path.write_text(yaml.safe_dump(cases, sort_keys=False))
    result = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
