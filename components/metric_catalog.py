"""The metric names each scraped exporter really produces, with where that list comes from.

Alert rules (and dashboard panels) may only query names listed here for an exporter the stack
scrapes; `metric_names` pulls the names out of a PromQL expression so tests can check that.
Lists name series as they are exposed (a histogram contributes `_bucket`, `_sum` and `_count`).
This module imports no Pulumi.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ExporterMetrics:
    exporter: str
    """The catalog service that exposes them (or `scrape` for what Prometheus records per target)."""
    source: str
    """Where the names were read: the upstream file or document."""
    metrics: frozenset[str]


def _histogram(name: str) -> tuple[str, ...]:
    return (f"{name}_bucket", f"{name}_sum", f"{name}_count")


SCRAPE = "scrape"
"""Series Prometheus writes for every target it scrapes, whatever the target exposes."""

EXPORTER_METRICS: dict[str, ExporterMetrics] = {
    entry.exporter: entry
    for entry in (
        ExporterMetrics(
            SCRAPE,
            "https://prometheus.io/docs/concepts/jobs_instances/#automatically-generated-labels-and-time-series",
            frozenset(
                {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"}
            ),
        ),
        ExporterMetrics(
            "kong",
            # Kong 3.x names (3.0 renamed kong_latency/kong_http_status); labels service, route, code, source, consumer
            "https://github.com/Kong/kong/blob/3.9.1/kong/plugins/prometheus/exporter.lua",
            frozenset(
                {
                    "kong_http_requests_total",
                    *_histogram("kong_request_latency_ms"),
                    *_histogram("kong_upstream_latency_ms"),
                    *_histogram("kong_kong_latency_ms"),
                    "kong_bandwidth_bytes",
                    "kong_upstream_target_health",
                    "kong_nginx_connections_total",
                    "kong_nginx_requests_total",
                    "kong_nginx_timers",
                    "kong_datastore_reachable",
                    "kong_node_info",
                    "kong_memory_workers_lua_vms_bytes",
                    "kong_memory_lua_shared_dict_bytes",
                    "kong_memory_lua_shared_dict_total_bytes",
                }
            ),
        ),
        ExporterMetrics(
            "consul-exporter",
            "https://github.com/prometheus/consul_exporter/blob/v0.13.0/consul_exporter.go (README 'Exported Metrics')",
            frozenset(
                {
                    "consul_up",
                    "consul_raft_peers",
                    "consul_serf_lan_members",
                    "consul_serf_lan_member_status",
                    "consul_serf_wan_member_status",
                    "consul_catalog_services",
                    "consul_catalog_service_node_healthy",
                    "consul_health_node_status",
                    "consul_health_service_status",
                    "consul_service_checks",
                }
            ),
        ),
        ExporterMetrics(
            "cadvisor",
            "https://github.com/google/cadvisor/blob/v0.52.1/docs/storage/prometheus.md",
            frozenset(
                {
                    "container_cpu_usage_seconds_total",
                    "container_cpu_cfs_throttled_seconds_total",
                    "container_last_seen",
                    "container_memory_usage_bytes",
                    "container_memory_working_set_bytes",
                    "container_memory_rss",
                    "container_network_receive_bytes_total",
                    "container_network_transmit_bytes_total",
                    "container_fs_usage_bytes",
                    "container_fs_limit_bytes",
                    "container_spec_memory_limit_bytes",
                    "container_start_time_seconds",
                    "container_tasks_state",
                    "machine_cpu_cores",
                    "machine_memory_bytes",
                }
            ),
        ),
        ExporterMetrics(
            "node-exporter",
            "https://github.com/prometheus/node_exporter/tree/v1.9.1/collector: meminfo, filesystem_common, cpu_linux, loadavg",
            frozenset(
                {
                    "node_memory_MemAvailable_bytes",
                    "node_memory_MemTotal_bytes",
                    "node_memory_MemFree_bytes",
                    "node_filesystem_avail_bytes",
                    "node_filesystem_size_bytes",
                    "node_filesystem_free_bytes",
                    "node_filesystem_readonly",
                    "node_cpu_seconds_total",
                    "node_load1",
                    "node_load5",
                    "node_load15",
                }
            ),
        ),
        ExporterMetrics(
            "redis-exporter",
            # namespace `redis` + the names mapped in NewRedisExporter (metricMapGauges, metricMapCounters, metricDescriptions)
            "https://github.com/oliver006/redis_exporter/blob/v1.74.0/exporter/exporter.go",
            frozenset(
                {
                    "redis_up",
                    "redis_uptime_in_seconds",
                    "redis_connected_clients",
                    "redis_blocked_clients",
                    "redis_memory_used_bytes",
                    "redis_memory_max_bytes",
                    "redis_commands_processed_total",
                    "redis_connections_received_total",
                    "redis_keyspace_hits_total",
                    "redis_keyspace_misses_total",
                    "redis_evicted_keys_total",
                    "redis_expired_keys_total",
                    "redis_db_keys",
                }
            ),
        ),
        ExporterMetrics(
            "postgres-exporter",
            "https://github.com/prometheus-community/postgres_exporter/tree/v0.18.1/collector (pg_stat_database.go, pg_database.go)",
            frozenset(
                {
                    "pg_up",
                    "pg_stat_database_numbackends",
                    "pg_stat_database_xact_commit",
                    "pg_stat_database_xact_rollback",
                    "pg_stat_database_blks_read",
                    "pg_stat_database_blks_hit",
                    "pg_stat_database_deadlocks",
                    "pg_database_size_bytes",
                }
            ),
        ),
        ExporterMetrics(
            "blackbox-exporter",
            # what a /probe answer carries (prober/handler.go, prober/http.go, prober/tcp.go)
            "https://github.com/prometheus/blackbox_exporter/blob/v0.27.0/prober/handler.go",
            frozenset(
                {"probe_success", "probe_duration_seconds", "probe_http_status_code", "probe_http_duration_seconds", "probe_ip_protocol"}
            ),
        ),
    )
}


def producers(metric: str) -> set[str]:
    """The exporters whose list holds this metric name."""
    return {entry.exporter for entry in EXPORTER_METRICS.values() if metric in entry.metrics}


_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_RANGES = re.compile(r"\[[^\]]*\]")
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "inf", "nan", "by", "without", "on", "ignoring", "group_left", "group_right"}
)


def metric_names(expr: str) -> set[str]:
    """Every metric name a PromQL expression selects (functions, label names, keywords and durations left out)."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("{}", text)
    text = _LABEL_LISTS.sub(" ", text)
    text = _RANGES.sub("[]", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        token = match.group(0)
        before = text[match.start() - 1] if match.start() else " "
        if before.isdigit() or before == ".":
            continue  # a unit of a duration or an exponent (5m, 1e3)
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if token.lower() in _KEYWORDS:
            continue
        names.add(token)
    return names
