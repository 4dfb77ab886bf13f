"""`prometheus.yml` and the blackbox exporter's modules, as typed objects built from the mesh's endpoints.

Services that expose metrics are found through Consul (tag `metrics`, path and port from service
meta), so a new one needs no code here; Consul and Kong are also scraped statically (they must be
watched even when discovery is down); services without metrics are probed through the blackbox
exporter. The rendered file is accepted by Prometheus 2.42 (Debian's promtool) and 3.x (the image).
This module imports no Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from components.catalog.endpoint import Endpoint
from components.catalog.metrics import CONSUL_HEALTH_LABEL, SERVICE_LABEL
from components.catalog.names import ALERTMANAGER, BLACKBOX_EXPORTER, CONSUL, KONG
from components.model.monitoring import MonitoringConfig
from components.render.yaml_text import dump_yaml

SCRAPE_INTERVAL = "15s"
CONFIG_DIR = "/etc/prometheus"
STORAGE_DIR = "/prometheus"
RULES_FILE = "mesh.rules.yml"
"""Relative to the config file, so the same prometheus.yml loads in the container and in a test's temp dir."""
CONSUL_TOKEN_FILE = "consul-token"
"""The Consul ACL token Prometheus presents (service:read, node:read, agent:read), beside prometheus.yml."""

# What the discovery side registers (components of the Consul registration use exactly these names).
METRICS_TAG = "metrics"
META_METRICS_PATH = "metrics_path"
META_METRICS_PORT = "metrics_port"
META_METRICS_PARAM_PREFIX = "metrics_param_"
META_CATEGORY = "category"
META_KIND = "kind"

STATIC_SCRAPES = (CONSUL, KONG)
"""Scraped by address, not through discovery: a Consul outage must not hide Consul's or the gateway's metrics."""
TOKEN_PROTECTED = frozenset({CONSUL})
"""Metrics endpoints behind Consul's ACLs (`/v1/agent/metrics` needs agent:read)."""

BLACKBOX_CONFIG_PATH = "/etc/blackbox_exporter/config.yml"
HTTP_MODULE = "http_2xx"
TCP_MODULE = "tcp_connect"


@dataclass(frozen=True)
class Relabel:
    """One `relabel_configs` step (Prometheus' defaults where a field is None)."""

    source_labels: tuple[str, ...] = ()
    target_label: str | None = None
    regex: str | None = None
    replacement: str | None = None
    separator: str | None = None
    action: str | None = None

    def render(self) -> dict[str, object]:
        rendered: dict[str, object] = {}
        if self.source_labels:
            rendered["source_labels"] = list(self.source_labels)
        for key in ("separator", "regex", "target_label", "replacement", "action"):
            value = getattr(self, key)
            if value is not None:
                rendered[key] = value
        return rendered


@dataclass(frozen=True)
class TargetGroup:
    targets: tuple[str, ...]
    labels: tuple[tuple[str, str], ...] = ()

    def render(self) -> dict[str, object]:
        rendered: dict[str, object] = {"targets": list(self.targets)}
        if self.labels:
            rendered["labels"] = dict(self.labels)
        return rendered


@dataclass(frozen=True)
class ConsulDiscovery:
    server: str
    tags: tuple[str, ...]
    credentials_file: str
    refresh_interval: str = "30s"

    def render(self) -> dict[str, object]:
        return {
            "server": self.server,
            "tags": list(self.tags),
            "refresh_interval": self.refresh_interval,
            # Consul takes `Authorization: Bearer <token>` like X-Consul-Token; the token stays in its own file.
            # `type` is explicit: Prometheus 2.42's HTTP SD sends no scheme without it
            "authorization": {"type": "Bearer", "credentials_file": self.credentials_file},
        }


@dataclass(frozen=True)
class ScrapeJob:
    name: str
    metrics_path: str = "/metrics"
    params: tuple[tuple[str, tuple[str, ...]], ...] = ()
    static: tuple[TargetGroup, ...] = ()
    consul: ConsulDiscovery | None = None
    credentials_file: str | None = None
    relabel: tuple[Relabel, ...] = ()

    def render(self) -> dict[str, object]:
        rendered: dict[str, object] = {"job_name": self.name, "metrics_path": self.metrics_path}
        if self.params:
            rendered["params"] = {key: list(values) for key, values in self.params}
        if self.credentials_file is not None:
            rendered["authorization"] = {"type": "Bearer", "credentials_file": self.credentials_file}
        if self.consul is not None:
            rendered["consul_sd_configs"] = [self.consul.render()]
        if self.static:
            rendered["static_configs"] = [group.render() for group in self.static]
        if self.relabel:
            rendered["relabel_configs"] = [step.render() for step in self.relabel]
        return rendered


@dataclass(frozen=True)
class PrometheusConfig:
    jobs: tuple[ScrapeJob, ...]
    alertmanagers: tuple[str, ...] = ()
    rule_files: tuple[str, ...] = (RULES_FILE,)
    scrape_interval: str = SCRAPE_INTERVAL
    evaluation_interval: str = SCRAPE_INTERVAL
    external_labels: tuple[tuple[str, str], ...] = (("mesh", "service-mesh"),)


def render_prometheus_yml(config: PrometheusConfig) -> str:
    document: dict[str, object] = {
        "global": {
            "scrape_interval": config.scrape_interval,
            "evaluation_interval": config.evaluation_interval,
            "external_labels": dict(config.external_labels),
        },
        "rule_files": list(config.rule_files),
    }
    if config.alertmanagers:
        document["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": list(config.alertmanagers)}]}]}
    document["scrape_configs"] = [job.render() for job in config.jobs]
    return dump_yaml(document)


def _endpoint_labels(endpoint: Endpoint) -> tuple[tuple[str, str], ...]:
    return ((SERVICE_LABEL, endpoint.service), ("instance", endpoint.instance), ("category", endpoint.category), ("kind", endpoint.kind))


def _static_job(service: str, endpoints: Sequence[Endpoint]) -> ScrapeJob | None:
    scraped = [endpoint for endpoint in endpoints if endpoint.service == service and endpoint.metrics is not None]
    if not scraped:
        return None
    metrics = scraped[0].metrics
    assert metrics is not None
    url = urlsplit(metrics.path)
    params = tuple((key, tuple(values)) for key, values in parse_qs(url.query).items())
    return ScrapeJob(
        name=service,
        metrics_path=url.path,
        params=params,
        credentials_file=CONSUL_TOKEN_FILE if service in TOKEN_PROTECTED else None,
        static=tuple(
            TargetGroup((f"{endpoint.address}:{endpoint.metrics.port}",), _endpoint_labels(endpoint))
            for endpoint in scraped
            if endpoint.metrics is not None
        ),
    )


def _consul_services_job(consul: Endpoint) -> ScrapeJob:
    meta = "__meta_consul_service_metadata_"
    return ScrapeJob(
        name="consul-services",
        consul=ConsulDiscovery(server=f"{consul.address}:{consul.port}", tags=(METRICS_TAG,), credentials_file=CONSUL_TOKEN_FILE),
        relabel=(
            Relabel(source_labels=("__meta_consul_service",), regex="|".join(STATIC_SCRAPES), action="drop"),
            Relabel(source_labels=(f"{meta}{META_METRICS_PATH}",), regex="(.+)", target_label="__metrics_path__"),
            # URL parameters of the metrics path arrive as `metrics_param_<name>` meta
            Relabel(regex=f"{meta}{META_METRICS_PARAM_PREFIX}(.+)", replacement="__param_$1", action="labelmap"),
            # the registered port is the service's main port; metrics may live on another one. The host is the one
            # Consul SD chose (service address, else node address)
            Relabel(
                source_labels=("__address__", f"{meta}{META_METRICS_PORT}"),
                separator=";",
                regex=r"([^:;]+)(?::\d+)?;(\d+)",
                replacement="$1:$2",
                target_label="__address__",
            ),
            Relabel(source_labels=("__meta_consul_service",), target_label=SERVICE_LABEL),
            Relabel(source_labels=("__meta_consul_health",), target_label=CONSUL_HEALTH_LABEL),
            Relabel(source_labels=("__meta_consul_service_id",), target_label="instance"),
            Relabel(source_labels=(f"{meta}{META_CATEGORY}",), target_label="category"),
            Relabel(source_labels=(f"{meta}{META_KIND}",), target_label="kind"),
        ),
    )


def probe_target(endpoint: Endpoint) -> tuple[str, str]:
    """(blackbox module, probe target) for an endpoint: its discovery check, over HTTP or TCP."""
    check = endpoint.check
    if check is not None and check.kind == "http":
        return HTTP_MODULE, f"http://{endpoint.address}:{check.port}{check.path or '/'}"
    port = check.port if check is not None else endpoint.port
    return TCP_MODULE, f"{endpoint.address}:{port}"


def _blackbox_jobs(endpoints: Sequence[Endpoint], blackbox_address: str) -> list[ScrapeJob]:
    by_module: dict[str, list[TargetGroup]] = {}
    for endpoint in endpoints:
        if endpoint.blackbox:
            module, target = probe_target(endpoint)
            by_module.setdefault(module, []).append(TargetGroup((target,), _endpoint_labels(endpoint)))
    return [
        ScrapeJob(
            name=f"blackbox-{module.split('_')[0]}",
            metrics_path="/probe",
            params=(("module", (module,)),),
            static=tuple(groups),
            relabel=(
                Relabel(source_labels=("__address__",), target_label="__param_target"),
                Relabel(target_label="__address__", replacement=blackbox_address),
            ),
        )
        for module, groups in sorted(by_module.items())
    ]


def mesh_prometheus_config(endpoints: Sequence[Endpoint]) -> PrometheusConfig:
    """The scrape, probe and alerting setup for these endpoints (services absent from the stack are left out)."""
    by_service: dict[str, list[Endpoint]] = {}
    for endpoint in endpoints:
        by_service.setdefault(endpoint.service, []).append(endpoint)

    jobs: list[ScrapeJob] = []
    if CONSUL in by_service:
        jobs.append(_consul_services_job(by_service[CONSUL][0]))
    for service in STATIC_SCRAPES:
        job = _static_job(service, endpoints)
        if job is not None:
            jobs.append(job)
    if BLACKBOX_EXPORTER in by_service:
        blackbox = by_service[BLACKBOX_EXPORTER][0]
        # the shared alias when there are replicas (Docker's DNS spreads the probes)
        blackbox_host = blackbox.service if len(by_service[BLACKBOX_EXPORTER]) > 1 else blackbox.address
        jobs.extend(_blackbox_jobs(endpoints, f"{blackbox_host}:{blackbox.port}"))
    alertmanagers = tuple(f"{endpoint.address}:{endpoint.port}" for endpoint in by_service.get(ALERTMANAGER, []))
    return PrometheusConfig(jobs=tuple(jobs), alertmanagers=alertmanagers)


def prometheus_command(
    monitoring: MonitoringConfig, *, config_file: str = f"{CONFIG_DIR}/prometheus.yml", storage_path: str = STORAGE_DIR
) -> list[str]:
    """Flags for the Prometheus binary (the same set for the image and the Debian binary in tests).

    No `--web.enable-lifecycle`: without it Prometheus answers POST/PUT `/-/quit` and `/-/reload` with 403
    (prometheus web/web.go, `forbiddenAPINotEnabled`), so no container on the mesh network can stop or reload it.
    Nothing needs a reload: the config files are container uploads, and a changed upload replaces the container.
    """
    flags = [
        f"--config.file={config_file}",
        f"--storage.tsdb.path={storage_path}",
        f"--storage.tsdb.retention.time={monitoring.retention}",
    ]
    if monitoring.retention_size is not None:
        flags.append(f"--storage.tsdb.retention.size={monitoring.retention_size}")
    return flags


@dataclass(frozen=True)
class BlackboxModule:
    name: str
    prober: str
    settings: Mapping[str, object] = field(default_factory=dict)


BLACKBOX_MODULES = (
    BlackboxModule(HTTP_MODULE, "http", {"valid_status_codes": [], "method": "GET", "preferred_ip_protocol": "ip4"}),
    BlackboxModule(TCP_MODULE, "tcp", {"preferred_ip_protocol": "ip4"}),
)


def render_blackbox_yml(modules: Sequence[BlackboxModule] = BLACKBOX_MODULES) -> str:
    """The exporter's `config.yml`: one module per probe kind used by `probe_target` (empty status list = any 2xx)."""
    document = {
        "modules": {module.name: {"prober": module.prober, "timeout": "5s", module.prober: dict(module.settings)} for module in modules}
    }
    return dump_yaml(document)


def scraped_exporters(endpoints: Sequence[Endpoint]) -> set[str]:
    """Services whose metrics reach Prometheus: every endpoint with metrics, and the blackbox exporter
    only when it has something to probe (its `probe_*` series come from the probe jobs)."""
    services = {endpoint.service for endpoint in endpoints}
    scraped = {endpoint.service for endpoint in endpoints if endpoint.metrics is not None} - {BLACKBOX_EXPORTER}
    if BLACKBOX_EXPORTER in services and any(endpoint.blackbox for endpoint in endpoints):
        scraped.add(BLACKBOX_EXPORTER)
    return scraped
