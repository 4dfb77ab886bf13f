"""Grafana's data sources, as plain typed values derived from the deployed services.

Each one has a fixed uid, so dashboards (built in `components.render.dashboards`) and the links between
data sources (trace -> logs, log line -> trace) can name them before Grafana exists. Pure: no Pulumi.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any

from components.catalog.names import ALERTMANAGER, JAEGER, LOKI, PROMETHEUS
from components.catalog.services import CATALOG
from components.render.telemetry import LOG_SERVICE_LABEL

PROMETHEUS_UID = "prometheus"
LOKI_UID = "loki"
JAEGER_UID = "jaeger"
ALERTMANAGER_UID = "alertmanager"


@dataclass(frozen=True)
class DatasourceSpec:
    uid: str
    name: str
    type: str
    """Grafana's plugin id."""
    service: str
    """The catalog service it reads from (the data source exists only when that service is deployed)."""
    url: str
    """On the mesh network: Grafana reaches it by its alias."""
    json_data: dict[str, Any] = field(default_factory=dict)
    is_default: bool = False

    @property
    def json_data_encoded(self) -> str:
        return json.dumps(self.json_data, sort_keys=True)


def _all_datasources() -> tuple[DatasourceSpec, ...]:
    return (
        DatasourceSpec(
            uid=PROMETHEUS_UID,
            name="Prometheus",
            type="prometheus",
            service=PROMETHEUS,
            url=f"http://{CATALOG[PROMETHEUS].mesh_address()}",
            json_data={"httpMethod": "POST", "timeInterval": "15s"},
            is_default=True,
        ),
        DatasourceSpec(
            uid=LOKI_UID,
            name="Loki",
            type="loki",
            service=LOKI,
            url=f"http://{CATALOG[LOKI].mesh_address()}",
            json_data={
                "maxLines": 1000,
                # a trace id in a log line (Kong and OTel loggers write trace_id=...) links to the trace
                "derivedFields": [
                    {
                        "name": "TraceID",
                        "matcherRegex": r"(?:trace_?id)[\"']?[=:]\s*[\"']?([0-9a-fA-F]{16,32})",
                        "url": "${__value.raw}",
                        "datasourceUid": JAEGER_UID,
                        "urlDisplayLabel": "Open trace",
                    }
                ],
            },
        ),
        DatasourceSpec(
            uid=JAEGER_UID,
            name="Jaeger",
            type="jaeger",
            service=JAEGER,
            url=f"http://{CATALOG[JAEGER].mesh_address('ui')}",
            json_data={
                # a span jumps to its service's log lines around the span's time; not filtered by trace id,
                # since Kong's access log lines (the main source of spans) carry none
                "tracesToLogsV2": {
                    "datasourceUid": LOKI_UID,
                    "spanStartTimeShift": "-1m",
                    "spanEndTimeShift": "1m",
                    "filterByTraceID": False,
                    "filterBySpanID": False,
                    "tags": [{"key": "service.name", "value": LOG_SERVICE_LABEL}],
                },
                "nodeGraph": {"enabled": True},
            },
        ),
        DatasourceSpec(
            uid=ALERTMANAGER_UID,
            name="Alertmanager",
            type="alertmanager",
            service=ALERTMANAGER,
            url=f"http://{CATALOG[ALERTMANAGER].mesh_address()}",
            json_data={"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
        ),
    )


def _without_links_to(spec: DatasourceSpec, present: set[str]) -> DatasourceSpec:
    """Drop the trace/log links whose target data source is not deployed."""
    json_data = dict(spec.json_data)
    if json_data.get("tracesToLogsV2", {}).get("datasourceUid") not in present:
        json_data.pop("tracesToLogsV2", None)
    fields = [item for item in json_data.get("derivedFields", []) if item["datasourceUid"] in present]
    if "derivedFields" in json_data:
        json_data["derivedFields"] = fields
    return replace(spec, json_data=json_data)


def mesh_datasources(deployed: Collection[str]) -> list[DatasourceSpec]:
    """The data sources whose service this stack deploys, linked to each other where both exist."""
    chosen = [spec for spec in _all_datasources() if spec.service in deployed]
    present = {spec.uid for spec in chosen}
    return [_without_links_to(spec, present) for spec in chosen]
