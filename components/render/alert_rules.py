"""The mesh's alert rules as typed objects, rendered to a Prometheus rules file.

Each rule names the exporter whose metrics it reads; `mesh_alert_rules` keeps only the rules whose
exporter this stack runs, so every rule can fire. Every alert carries `mesh_service` (the inhibition
rules of Alertmanager match on it) and `severity` (its route). This module imports no Pulumi.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from components.catalog.metrics import SCRAPER, SERVICE_LABEL
from components.catalog.names import BLACKBOX_EXPORTER, CADVISOR, CONSUL_EXPORTER, KONG, NODE_EXPORTER
from components.model.monitoring import AlertThresholds
from components.render.yaml_text import dump_yaml

CRITICAL = "critical"
WARNING = "warning"
RULE_GROUP = "mesh"


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    exporter: str
    """The exporter whose metrics `expr` reads (a key of `metric_catalog.EXPORTER_METRICS`)."""

    def render(self) -> dict[str, object]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity},
            "annotations": {"summary": self.summary, "description": self.description},
        }


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[AlertRule, ...]
    interval: str | None = None

    def render(self) -> dict[str, object]:
        rendered: dict[str, object] = {"name": self.name}
        if self.interval is not None:
            rendered["interval"] = self.interval
        rendered["rules"] = [rule.render() for rule in self.rules]
        return rendered


def _as_service(expr: str, label: str, regex: str = "(.+)") -> str:
    """Name the mesh service an alert is about from one of the exporter's own labels (Alertmanager groups by it)."""
    return f'label_replace({expr}, "{SERVICE_LABEL}", "$1", "{label}", "{regex}")'


def all_alert_rules(thresholds: AlertThresholds) -> tuple[AlertRule, ...]:
    """Every rule the mesh knows, whatever runs; `mesh_alert_rules` picks the ones this stack can fire."""
    error_percent = f"{thresholds.error_ratio:.0%}"
    return (
        AlertRule(
            name="ServiceDown",
            # blackbox jobs' `up` is the exporter answering, not the service: ProbeFailing covers those
            expr='up{job!~"blackbox-.+"} == 0',
            for_="1m",
            severity=CRITICAL,
            summary="{{ $labels.mesh_service }} is down",
            description="Prometheus cannot scrape {{ $labels.instance }} (job {{ $labels.job }}) for 1 minute.",
            exporter=SCRAPER,
        ),
        AlertRule(
            name="ConsulCheckCritical",
            expr=_as_service('consul_health_service_status{status="critical"} == 1', "service_name"),
            for_="1m",
            severity=CRITICAL,
            summary="Consul check {{ $labels.check }} of {{ $labels.mesh_service }} is critical",
            description="Consul reports check {{ $labels.check }} of {{ $labels.service_id }} on {{ $labels.node }} critical for 1 minute.",
            exporter=CONSUL_EXPORTER,
        ),
        AlertRule(
            name="KongHighErrorRatio",
            # Kong's own `service` label is the Kong service, named after the mesh service it proxies
            expr=_as_service(
                'sum by (service) (rate(kong_http_requests_total{code=~"5.."}[5m]))'
                " / sum by (service) (rate(kong_http_requests_total[5m]))"
                f" > {thresholds.error_ratio:g}",
                "service",
            ),
            for_="5m",
            severity=WARNING,
            summary=f"More than {error_percent} of requests to {{{{ $labels.service }}}} fail through Kong",
            description=(
                "{{ $value | humanizePercentage }} of the requests Kong proxied to {{ $labels.service }} returned 5xx over 5 minutes."
            ),
            exporter=KONG,
        ),
        AlertRule(
            name="KongUpstreamTargetUnhealthy",
            # the circuit breaker is open: Kong's health checker stopped sending traffic to this target
            # the gateway names each upstream `<service>-upstream` (components/plan/gateway.py)
            expr=_as_service('kong_upstream_target_health{state=~"unhealthy|dns_error"} == 1', "upstream", "(.+?)(?:-upstream)?"),
            for_="1m",
            severity=WARNING,
            summary="Kong took {{ $labels.target }} out of upstream {{ $labels.upstream }}",
            description=(
                "Target {{ $labels.target }} ({{ $labels.address }}) of {{ $labels.upstream }} is {{ $labels.state }}: its circuit is open."
            ),
            exporter=KONG,
        ),
        AlertRule(
            name="KongHighLatencyP95",
            expr=_as_service(
                f"histogram_quantile(0.95, sum by (service, le) (rate(kong_request_latency_ms_bucket[5m]))) > {thresholds.latency_p95_ms}",
                "service",
            ),
            for_="10m",
            severity=WARNING,
            summary=f"p95 latency of {{{{ $labels.service }}}} through Kong is above {thresholds.latency_p95_ms} ms",
            description='95% of requests to {{ $labels.service }} complete within {{ $value | printf "%.0f" }} ms (10 minutes).',
            exporter=KONG,
        ),
        AlertRule(
            name="ProbeFailing",
            expr="probe_success == 0",
            for_="2m",
            severity=CRITICAL,
            summary="{{ $labels.mesh_service }} fails its blackbox probe",
            description="The blackbox exporter's probe of {{ $labels.instance }} has failed for 2 minutes.",
            exporter=BLACKBOX_EXPORTER,
        ),
        AlertRule(
            name="ContainerRestarting",
            # cAdvisor labels a container with Docker's restart count once it is above 0: a new value is a restart
            expr=_as_service(
                "count by (name, container_label_mesh_service) ("
                "count by (name, container_label_mesh_service, container_label_restartcount) ("
                'count_over_time(container_start_time_seconds{container_label_mesh_service!=""}[15m])'
                ")) > 1",
                "container_label_mesh_service",
            ),
            for_="0m",
            severity=WARNING,
            summary="Container {{ $labels.name }} restarted in the last 15 minutes",
            description="Docker restarted {{ $labels.name }} ({{ $labels.mesh_service }}): see its logs for why it exited.",
            exporter=CADVISOR,
        ),
        AlertRule(
            name="HostDiskSpaceLow",
            expr=(
                'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs|nsfs"}'
                ' / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs|nsfs"}'
                f" < {thresholds.disk_free_ratio:g}"
            ),
            for_="10m",
            severity=WARNING,
            summary=f"Less than {thresholds.disk_free_ratio:.0%} free on {{{{ $labels.mountpoint }}}}",
            description=(
                "Only {{ $value | humanizePercentage }} of {{ $labels.mountpoint }} ({{ $labels.device }}) is free on the Docker host."
            ),
            exporter=NODE_EXPORTER,
        ),
        AlertRule(
            name="HostMemoryLow",
            expr=f"node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < {thresholds.memory_available_ratio:g}",
            for_="5m",
            severity=WARNING,
            summary=f"Less than {thresholds.memory_available_ratio:.0%} of the host's memory is available",
            description="Only {{ $value | humanizePercentage }} of the Docker host's memory is available.",
            exporter=NODE_EXPORTER,
        ),
    )


def mesh_alert_rules(thresholds: AlertThresholds, scraped: Iterable[str]) -> RuleGroup:
    """The rules whose exporter is among `scraped` (service names the stack scrapes or probes through)."""
    present = {SCRAPER, *scraped}
    return RuleGroup(RULE_GROUP, tuple(rule for rule in all_alert_rules(thresholds) if rule.exporter in present))


def render_rules_yml(groups: Iterable[RuleGroup]) -> str:
    return dump_yaml({"groups": [group.render() for group in groups]}, width=1000)
