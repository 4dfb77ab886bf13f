"""Which metric names each exporter of the mesh really produces, with the upstream page that lists them.

Keyed by the catalog service that exposes them (a service with `metrics` in the catalog is scraped,
the blackbox exporter probes the `blackbox` ones). Dashboards (and alert rules) may only query
names listed here for a deployed exporter; tests hold them to it. Pure: no Pulumi.
"""

from __future__ import annotations

SERVICE_LABEL = "mesh_service"
"""The target label every scraped and probed series carries: the catalog (and Consul) name of the service it is
about. Not `service`: Kong's own series carry `service` (the Kong service), which a target label would rename."""

CONSUL_HEALTH_LABEL = "consul_health"
"""On targets discovered through Consul: the service's aggregated check status (`__meta_consul_health`)."""

EXPORTER_METRICS: dict[str, frozenset[str]] = {
    # Series Prometheus itself records for every scrape target (the `prometheus` service is the scraper):
    # https://prometheus.io/docs/concepts/jobs_instances/#automatically-generated-labels-and-time-series
    "prometheus": frozenset({"up"}),
    # https://github.com/prometheus/blackbox_exporter#prometheus-configuration (probe_* of every probe)
    "blackbox-exporter": frozenset({"probe_success"}),
    # Kong 3.x prometheus plugin; these need its `status_code_metrics`, `latency_metrics`, `bandwidth_metrics`
    # and `upstream_health_metrics` options on (all off by default since 3.0):
    # https://developer.konghq.com/plugins/prometheus/#metrics
    "kong": frozenset(
        {
            "kong_http_requests_total",
            "kong_request_latency_ms_bucket",
            "kong_upstream_latency_ms_bucket",
            "kong_kong_latency_ms_bucket",
            "kong_bandwidth_bytes",
            "kong_upstream_target_health",
            "kong_nginx_connections_total",
        }
    ),
    # https://github.com/prometheus-community/postgres_exporter (pg_stat_database_* and pg_database_size_bytes
    # from its default `stat_database` and `database` collectors)
    "postgres-exporter": frozenset(
        {
            "pg_stat_database_numbackends",
            "pg_stat_database_xact_commit",
            "pg_stat_database_xact_rollback",
            "pg_database_size_bytes",
        }
    ),
    # https://github.com/oliver006/redis_exporter#whats-exported (INFO fields, prefixed redis_)
    "redis-exporter": frozenset({"redis_connected_clients", "redis_memory_used_bytes", "redis_commands_processed_total"}),
    # https://qdrant.tech/documentation/guides/monitoring/ (the /metrics endpoint)
    "qdrant": frozenset({"collections_total", "rest_responses_total"}),
    # https://www.rabbitmq.com/docs/prometheus (aggregated metrics, the default of rabbitmq_prometheus)
    "rabbitmq": frozenset({"rabbitmq_queue_messages_ready", "rabbitmq_queue_messages_unacked", "rabbitmq_connections"}),
    # Jaeger v2 is an OpenTelemetry Collector: its internal telemetry on :8888
    # https://opentelemetry.io/docs/collector/internal-telemetry/#lists-of-internal-metrics
    "jaeger": frozenset({"otelcol_receiver_accepted_spans_total", "otelcol_receiver_refused_spans_total"}),
}
