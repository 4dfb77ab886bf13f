"""Which metric names each exporter of the mesh really produces, with the upstream source that lists them.

Keyed by the catalog service that exposes them (a service with `metrics` in the catalog is scraped,
the blackbox exporter probes the `blackbox` ones; `prometheus` holds what Prometheus records for every
target). Dashboards and alert rules may only query names listed here for a deployed exporter; tests hold
them to it. Lists name series as exposed: a histogram contributes `_bucket`, `_sum` and `_count`. Pure: no Pulumi.
"""

from __future__ import annotations

import re

SERVICE_LABEL = "mesh_service"
"""The target label every scraped and probed series carries: the catalog (and Consul) name of the service it is
about. Not `service`: Kong's own series carry `service` (the Kong service), which a target label would rename.
Every mesh alert carries it too (Alertmanager groups and inhibits by it)."""

CONSUL_HEALTH_LABEL = "consul_health"
"""On targets discovered through Consul: the service's aggregated check status (`__meta_consul_health`)."""

SCRAPER = "prometheus"
"""Prometheus itself: the series it records for every scrape target, whatever the target exposes."""


def _histogram(name: str) -> tuple[str, ...]:
    return (f"{name}_bucket", f"{name}_sum", f"{name}_count")


SOURCES: dict[str, str] = {
    SCRAPER: "https://prometheus.io/docs/concepts/jobs_instances/#automatically-generated-labels-and-time-series",
    "blackbox-exporter": "https://github.com/prometheus/blackbox_exporter/blob/v0.27.0/prober/handler.go (probe_* of every probe)",
    # the names need the plugin's status_code_metrics, latency_metrics, bandwidth_metrics and upstream_health_metrics
    # options on (all off by default since 3.0)
    "kong": "https://github.com/Kong/kong/blob/3.9.1/kong/plugins/prometheus/exporter.lua",
    "consul-exporter": "https://github.com/prometheus/consul_exporter/blob/v0.13.0/consul_exporter.go (README 'Exported Metrics')",
    "cadvisor": "https://github.com/google/cadvisor/blob/v0.52.1/docs/storage/prometheus.md",
    "node-exporter": "https://github.com/prometheus/node_exporter/tree/v1.9.1/collector: meminfo, filesystem_common, cpu_linux, loadavg",
    "postgres-exporter": "https://github.com/prometheus-community/postgres_exporter/tree/v0.18.1/collector (pg_stat_database, pg_database)",
    "redis-exporter": "https://github.com/oliver006/redis_exporter/blob/v1.74.0/exporter/exporter.go (namespace redis)",
    "qdrant": "https://qdrant.tech/documentation/guides/monitoring/ (the /metrics endpoint)",
    "rabbitmq": "https://www.rabbitmq.com/docs/prometheus (aggregated metrics, the default of rabbitmq_prometheus)",
    # Jaeger v2 is an OpenTelemetry Collector: its internal telemetry on :8888
    "jaeger": "https://opentelemetry.io/docs/collector/internal-telemetry/#lists-of-internal-metrics",
}

EXPORTER_METRICS: dict[str, frozenset[str]] = {
    SCRAPER: frozenset(
        {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"}
    ),
    "blackbox-exporter": frozenset({"probe_success", "probe_duration_seconds", "probe_http_status_code", "probe_http_duration_seconds"}),
    "kong": frozenset(
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
    "consul-exporter": frozenset(
        {
            "consul_up",
            "consul_raft_peers",
            "consul_serf_lan_members",
            "consul_serf_lan_member_status",
            "consul_catalog_services",
            "consul_catalog_service_node_healthy",
            "consul_health_node_status",
            "consul_health_service_status",
            "consul_service_checks",
        }
    ),
    "cadvisor": frozenset(
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
    "node-exporter": frozenset(
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
    "postgres-exporter": frozenset(
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
    "redis-exporter": frozenset(
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
    "qdrant": frozenset({"collections_total", "rest_responses_total"}),
    "rabbitmq": frozenset({"rabbitmq_queue_messages_ready", "rabbitmq_queue_messages_unacked", "rabbitmq_connections"}),
    "jaeger": frozenset({"otelcol_receiver_accepted_spans_total", "otelcol_receiver_refused_spans_total"}),
}


def producers(metric: str) -> set[str]:
    """The exporters whose list holds this metric name."""
    return {exporter for exporter, names in EXPORTER_METRICS.items() if metric in names}


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
