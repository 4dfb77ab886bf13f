"""Every metric a rule queries is produced by an exporter this stack scrapes (names per exporter, with sources)."""

from __future__ import annotations

import yaml

from components.catalog.metrics import EXPORTER_METRICS, SCRAPER, SOURCES, metric_names, producers
from components.catalog.services import CATALOG
from components.model.mesh import parse_mesh_config
from components.model.monitoring import AlertThresholds
from components.plan.endpoints import service_endpoints
from components.plan.services import resolve_services
from components.render.alert_rules import all_alert_rules
from components.render.prometheus import RULES_FILE, scraped_exporters


def test_metric_names_are_read_out_of_promql():
    expr = (
        'sum by (service, le) (rate(kong_request_latency_ms_bucket{route=~"a|b", code="5xx"}[5m] offset 1m))'
        " / on(instance) group_left(name) node_load1 > bool 1e3 and up unless absent(foo_total)"
    )
    assert metric_names(expr) == {"kong_request_latency_ms_bucket", "node_load1", "up", "foo_total"}
    assert metric_names('label_replace(x_total == 1, "mesh_service", "$1", "upstream", "(.+)")') == {"x_total"}
    assert metric_names("histogram_quantile(0.95, sum(rate(h_bucket[5m])) by (le)) > 1000") == {"h_bucket"}


def test_every_exporter_list_names_its_source_and_a_catalog_service():
    assert set(SOURCES) == set(EXPORTER_METRICS)
    for exporter, names in EXPORTER_METRICS.items():
        assert exporter in CATALOG and CATALOG[exporter].metrics is not None, exporter
        assert SOURCES[exporter].startswith("https://"), exporter
        assert names, exporter


def test_every_metric_a_rule_queries_comes_from_a_scraped_exporter(plan):
    scraped = scraped_exporters(service_endpoints(resolve_services(parse_mesh_config({})))) | {SCRAPER}
    rules = yaml.safe_load(plan.rendered_files[f"prometheus/{RULES_FILE}"])
    for group in rules["groups"]:
        for rule in group["rules"]:
            for metric in metric_names(rule["expr"]):
                assert producers(metric) & scraped, f"{rule['alert']} queries {metric}, which no scraped exporter produces"


def test_each_rule_reads_only_its_own_exporter():
    for rule in all_alert_rules(AlertThresholds()):
        for metric in metric_names(rule.expr):
            assert rule.exporter in producers(metric), f"{rule.name}: {metric} is not listed for {rule.exporter}"


def test_a_misspelled_metric_is_caught():
    assert not producers("kong_latency_bucket")  # the Kong 2.x name, gone in 3.x
    assert not producers("consul_health_service_status_total")
