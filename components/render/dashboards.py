"""The mesh's Grafana dashboards, built as typed objects (grafana-foundation-sdk) from the endpoints.

Panels are generated from what the stack deploys: a new service with metrics gets its own query on
the overview without code here. Queries name only metrics listed in `components.catalog.metrics`
and data sources from `components.render.datasources`. Pure: no Pulumi.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import dashboard, logs, loki, prometheus, stat, statetimeline, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.common import BigValueColorMode, BigValueGraphMode

from components.catalog import names
from components.catalog.endpoint import Endpoint
from components.catalog.metrics import CONSUL_HEALTH_LABEL, SERVICE_LABEL
from components.render.datasources import LOKI_UID, PROMETHEUS_UID
from components.render.telemetry import LOG_SERVICE_LABEL

OVERVIEW_UID = "mesh-overview"
DATABASES_UID = "mesh-databases"
GATEWAY_UID = "mesh-gateway"
RATE_WINDOW = "5m"

PROMETHEUS = model.DataSourceRef(type_val="prometheus", uid=PROMETHEUS_UID)
LOKI = model.DataSourceRef(type_val="loki", uid=LOKI_UID)


@dataclass(frozen=True)
class DashboardSpec:
    uid: str
    title: str
    model: dict[str, Any]
    """The dashboard JSON model, as Grafana's API takes it."""

    @property
    def config_json(self) -> str:
        return json.dumps(self.model, sort_keys=True)


@dataclass(frozen=True)
class Query:
    """One panel query: its data source and expression (PromQL or LogQL)."""

    datasource: model.DataSourceRef
    expr: str
    legend: str = ""


def selector(metric: str, **labels: str) -> str:
    matchers = ",".join(f'{name}="{value}"' for name, value in labels.items())
    return f"{metric}{{{matchers}}}" if matchers else metric


def _targets(queries: Sequence[Query]) -> list[Builder[Any]]:
    targets: list[Builder[Any]] = []
    for index, query in enumerate(queries):
        ref = _ref_id(index)
        if query.datasource.type_val == "loki":
            targets.append(loki.Dataquery().expr(query.expr).ref_id(ref).datasource(query.datasource))
        else:
            targets.append(prometheus.Dataquery().expr(query.expr).legend_format(query.legend).ref_id(ref).datasource(query.datasource))
    return targets


def _ref_id(index: int) -> str:
    """A, B, ... Z, AA, AB, ...: one per query however many services there are."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


_UP_DOWN: list[model.ValueMapping] = [
    model.ValueMap(
        {
            "0": model.ValueMappingResult(text="down", color="red"),
            "1": model.ValueMappingResult(text="up", color="green"),
        }
    )
]
_CIRCUIT: list[model.ValueMapping] = [
    model.ValueMap(
        {
            "0": model.ValueMappingResult(text="closed", color="green"),
            "1": model.ValueMappingResult(text="open", color="red"),
        }
    )
]


def _red_below_one() -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=None, color="red"), model.Threshold(value=1, color="green")])
    )


class _Board:
    """Accumulates rows and panels with stable ids."""

    def __init__(self, uid: str, title: str, description: str) -> None:
        self.builder = (
            dashboard.Dashboard(title)
            .uid(uid)
            .description(description)
            .tags(["service-mesh", "generated"])
            .refresh("30s")
            .time("now-1h", "now")
            .timezone("browser")
            .editable()
        )
        self.uid, self.title = uid, title
        self._next_id = 1

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def row(self, title: str) -> None:
        self.builder.with_row(dashboard.Row(title).id(self._id()))

    def stat(self, title: str, queries: Sequence[Query], *, mappings: list[model.ValueMapping] | None = None, width: int = 24) -> None:
        panel = (
            stat.Panel()
            .id(self._id())
            .title(title)
            .datasource(queries[0].datasource)
            .targets(_targets(queries))
            .graph_mode(BigValueGraphMode.NONE)
            .color_mode(BigValueColorMode.BACKGROUND)
            .thresholds(_red_below_one())
            .height(4)
            .span(width)
        )
        if mappings:
            panel = panel.mappings(mappings)
        self.builder.with_panel(panel)

    def timeseries(self, title: str, queries: Sequence[Query], *, unit: str, width: int = 12) -> None:
        self.builder.with_panel(
            timeseries.Panel()
            .id(self._id())
            .title(title)
            .datasource(queries[0].datasource)
            .targets(_targets(queries))
            .unit(unit)
            .height(8)
            .span(width)
        )

    def state_timeline(self, title: str, queries: Sequence[Query], *, mappings: list[model.ValueMapping], width: int = 24) -> None:
        self.builder.with_panel(
            statetimeline.Panel()
            .id(self._id())
            .title(title)
            .datasource(queries[0].datasource)
            .targets(_targets(queries))
            .mappings(mappings)
            .height(8)
            .span(width)
        )

    def logs(self, title: str, expr: str) -> None:
        self.builder.with_panel(
            logs.Panel()
            .id(self._id())
            .title(title)
            .datasource(LOKI)
            .targets(_targets([Query(LOKI, expr)]))
            .show_time(True)
            .wrap_log_message(True)
            .enable_log_details(True)
            .height(10)
            .span(24)
        )

    def spec(self) -> DashboardSpec:
        encoded = json.dumps(self.builder.build(), cls=JSONEncoder)
        return DashboardSpec(uid=self.uid, title=self.title, model=json.loads(encoded))


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _rate(metric: str, by: str, **labels: str) -> str:
    return f"sum by ({by}) (rate({selector(metric, **labels)}[{RATE_WINDOW}]))"


def _kong_panels(board: _Board) -> None:
    board.timeseries(
        "Kong request rate by service", [Query(PROMETHEUS, _rate("kong_http_requests_total", "service"), "{{service}}")], unit="reqps"
    )
    error_ratio = (
        f'sum by (service) (rate(kong_http_requests_total{{code=~"5.."}}[{RATE_WINDOW}]))'
        f" / sum by (service) (rate(kong_http_requests_total[{RATE_WINDOW}]))"
    )
    board.timeseries("Kong 5xx ratio by service", [Query(PROMETHEUS, error_ratio, "{{service}}")], unit="percentunit")
    board.timeseries(
        "Kong p95 latency by service",
        [
            Query(
                PROMETHEUS,
                f"histogram_quantile(0.95, sum by (service, le) (rate(kong_request_latency_ms_bucket[{RATE_WINDOW}])))",
                "{{service}}",
            )
        ],
        unit="ms",
    )
    # a target Kong's health checks marked unhealthy receives no traffic: the breaker is open
    board.state_timeline(
        "Upstream circuit state (Kong target health)",
        [Query(PROMETHEUS, 'max by (upstream, target) (kong_upstream_target_health{state="unhealthy"})', "{{upstream}} {{target}}")],
        mappings=_CIRCUIT,
        width=12,
    )


def overview(endpoints: Sequence[Endpoint], deployed: set[str]) -> DashboardSpec:
    board = _Board(
        OVERVIEW_UID,
        "Mesh overview",
        "Every deployed service: scrape health, Consul health, probes, the gateway and MCP servers. Generated from the catalog.",
    )
    scraped = _unique(endpoint.service for endpoint in endpoints if endpoint.metrics is not None)
    probed = _unique(endpoint.service for endpoint in endpoints if endpoint.blackbox)
    registered = _unique(endpoint.service for endpoint in endpoints if endpoint.metrics is not None and endpoint.check is not None)

    board.row("Services")
    board.stat(
        "Scrape target up (per service)",
        [Query(PROMETHEUS, f"min({selector('up', **{SERVICE_LABEL: name})})", name) for name in scraped],
        mappings=_UP_DOWN,
    )
    if names.CONSUL in deployed and registered:
        board.stat(
            "Consul health: passing instances (per service)",
            [
                Query(
                    PROMETHEUS, f"count({selector('up', **{SERVICE_LABEL: name, CONSUL_HEALTH_LABEL: 'passing'})}) or on() vector(0)", name
                )
                for name in registered
            ],
        )
    if names.BLACKBOX_EXPORTER in deployed:
        if probed:
            board.stat(
                "Blackbox probe success (services without metrics)",
                [Query(PROMETHEUS, f"min({selector('probe_success', **{SERVICE_LABEL: name})})", name) for name in probed],
                mappings=_UP_DOWN,
            )
        board.row("MCP servers")
        board.state_timeline(
            "MCP server health (blackbox probe)",
            [Query(PROMETHEUS, f'min by ({SERVICE_LABEL}) (probe_success{{{SERVICE_LABEL}=~"mcp-.+"}})', f"{{{{{SERVICE_LABEL}}}}}")],
            mappings=_UP_DOWN,
        )
    if names.KONG in deployed:
        board.row("Gateway")
        _kong_panels(board)
    if names.LOKI in deployed:
        board.row("Logs")
        board.logs("Errors across the mesh", f'{{{LOG_SERVICE_LABEL}=~".+"}} |~ "(?i)(error|fatal|panic)"')
    return board.spec()


@dataclass(frozen=True)
class _StorePanels:
    exporter: str
    """The service that exports these metrics (it must be deployed too)."""
    panels: Callable[[_Board], None]


def _postgres(board: _Board) -> None:
    board.timeseries(
        "PostgreSQL connections", [Query(PROMETHEUS, "sum by (datname) (pg_stat_database_numbackends)", "{{datname}}")], unit="short"
    )
    board.timeseries(
        "PostgreSQL transactions",
        [
            Query(PROMETHEUS, _rate("pg_stat_database_xact_commit", "datname"), "commit {{datname}}"),
            Query(PROMETHEUS, _rate("pg_stat_database_xact_rollback", "datname"), "rollback {{datname}}"),
        ],
        unit="ops",
    )
    board.timeseries(
        "PostgreSQL database size", [Query(PROMETHEUS, "sum by (datname) (pg_database_size_bytes)", "{{datname}}")], unit="bytes"
    )


def _redis(board: _Board) -> None:
    board.timeseries("Redis clients", [Query(PROMETHEUS, "sum(redis_connected_clients)", "clients")], unit="short")
    board.timeseries("Redis memory", [Query(PROMETHEUS, "sum(redis_memory_used_bytes)", "used")], unit="bytes")
    board.timeseries(
        "Redis commands", [Query(PROMETHEUS, f"sum(rate(redis_commands_processed_total[{RATE_WINDOW}]))", "commands")], unit="ops"
    )


def _qdrant(board: _Board) -> None:
    board.timeseries("Qdrant collections", [Query(PROMETHEUS, "sum(collections_total)", "collections")], unit="short")
    board.timeseries("Qdrant REST responses", [Query(PROMETHEUS, _rate("rest_responses_total", "status"), "{{status}}")], unit="reqps")


def _rabbitmq(board: _Board) -> None:
    board.timeseries(
        "RabbitMQ messages",
        [
            Query(PROMETHEUS, "sum(rabbitmq_queue_messages_ready)", "ready"),
            Query(PROMETHEUS, "sum(rabbitmq_queue_messages_unacked)", "unacked"),
        ],
        unit="short",
    )
    board.timeseries("RabbitMQ connections", [Query(PROMETHEUS, "sum(rabbitmq_connections)", "connections")], unit="short")


STORE_PANELS: dict[str, _StorePanels] = {
    names.POSTGRES: _StorePanels(names.POSTGRES_EXPORTER, _postgres),
    names.REDIS: _StorePanels(names.REDIS_EXPORTER, _redis),
    names.QDRANT: _StorePanels(names.QDRANT, _qdrant),
    names.RABBITMQ: _StorePanels(names.RABBITMQ, _rabbitmq),
}


def databases(endpoints: Sequence[Endpoint], deployed: set[str]) -> DashboardSpec:
    board = _Board(DATABASES_UID, "Databases", "Data stores and messaging: availability and load.")
    stores = _unique(endpoint.service for endpoint in endpoints if endpoint.kind in {"database", "messaging"})
    board.row("Availability")
    availability = []
    for name in stores:
        endpoint = next(e for e in endpoints if e.service == name)
        if endpoint.blackbox and names.BLACKBOX_EXPORTER in deployed:
            availability.append(Query(PROMETHEUS, f"min({selector('probe_success', **{SERVICE_LABEL: name})})", name))
        elif name in STORE_PANELS and STORE_PANELS[name].exporter in deployed:
            availability.append(Query(PROMETHEUS, f"min({selector('up', **{SERVICE_LABEL: STORE_PANELS[name].exporter})})", name))
    if availability:
        board.stat("Reachable (exporter up or probe success)", availability, mappings=_UP_DOWN)
    for name in stores:
        panels = STORE_PANELS.get(name)
        if panels is not None and panels.exporter in deployed:
            board.row(name)
            panels.panels(board)
    return board.spec()


def gateway(deployed: set[str]) -> DashboardSpec:
    board = _Board(GATEWAY_UID, "Gateway", "Kong: traffic, errors, latency, upstream circuit state; traces received by Jaeger.")
    board.row("Traffic")
    _kong_panels(board)
    board.timeseries(
        "Kong requests by status code", [Query(PROMETHEUS, _rate("kong_http_requests_total", "code"), "{{code}}")], unit="reqps"
    )
    board.timeseries(
        "Kong latency p95: upstream vs Kong",
        [
            Query(PROMETHEUS, f"histogram_quantile(0.95, sum by (le) (rate(kong_upstream_latency_ms_bucket[{RATE_WINDOW}])))", "upstream"),
            Query(PROMETHEUS, f"histogram_quantile(0.95, sum by (le) (rate(kong_kong_latency_ms_bucket[{RATE_WINDOW}])))", "kong"),
        ],
        unit="ms",
    )
    board.timeseries("Kong bandwidth", [Query(PROMETHEUS, _rate("kong_bandwidth_bytes", "direction"), "{{direction}}")], unit="Bps")
    board.timeseries("Kong connections", [Query(PROMETHEUS, "sum by (state) (kong_nginx_connections_total)", "{{state}}")], unit="short")
    if names.JAEGER in deployed:
        board.row("Tracing")
        board.timeseries(
            "Spans received by Jaeger",
            [
                Query(PROMETHEUS, _rate("otelcol_receiver_accepted_spans_total", "transport"), "accepted {{transport}}"),
                Query(PROMETHEUS, _rate("otelcol_receiver_refused_spans_total", "transport"), "refused {{transport}}"),
            ],
            unit="ops",
        )
    if names.LOKI in deployed:
        board.row("Logs")
        board.logs("Kong logs", f'{{{LOG_SERVICE_LABEL}="kong"}}')
    return board.spec()


def mesh_dashboards(endpoints: Sequence[Endpoint]) -> list[DashboardSpec]:
    """The dashboards this stack can feed: none without Prometheus; the gateway board only with Kong."""
    deployed = {endpoint.service for endpoint in endpoints}
    if names.PROMETHEUS not in deployed:
        return []
    boards = [overview(endpoints, deployed), databases(endpoints, deployed)]
    if names.KONG in deployed:
        boards.append(gateway(deployed))
    return boards


def panels(spec: DashboardSpec) -> list[dict[str, Any]]:
    """Every panel of a dashboard (rows excluded), for inspection."""
    return [panel for panel in spec.model.get("panels", []) if panel.get("type") != "row"]
