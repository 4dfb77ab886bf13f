"""Wiring of Prometheus, Alertmanager, the blackbox exporter and consul-exporter: rendered files and secrets.

Each function returns the `Wiring` a `MeshService` needs beyond its catalog entry; the files come
from the pure renderers (`prometheus_config`, `alert_rules`, `alertmanager_config`).
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_docker as docker

from components.catalog.names import ALERTMANAGER, BLACKBOX_EXPORTER, CONSUL_EXPORTER, PROMETHEUS
from components.render.alert_rules import mesh_alert_rules, render_rules_yml
from components.render.alertmanager import CONFIG_PATH as ALERTMANAGER_CONFIG_PATH
from components.render.alertmanager import mesh_alertmanager_config, render_alertmanager_yml
from components.render.prometheus import (
    BLACKBOX_CONFIG_PATH,
    CONFIG_DIR,
    CONSUL_TOKEN_FILE,
    RULES_FILE,
    mesh_prometheus_config,
    prometheus_command,
    render_blackbox_yml,
    render_prometheus_yml,
    scraped_exporters,
)
from components.wiring.base import Need, ServiceWiring, Wiring, WiringContext, secret_env, upload

NO_RECEIVER_WARNING = (
    "alertmanager: no alert receiver is configured, so alerts are only shown in Alertmanager's UI and sent nowhere; "
    "set one with `pulumi config set --secret --path mesh:monitoring.alerting.webhookUrl <url>` (or .slack / .email)"
)


def prometheus(context: WiringContext) -> Wiring:
    monitoring = context.config.monitoring
    prometheus_yml = render_prometheus_yml(mesh_prometheus_config(context.endpoints))
    rules_yml = render_rules_yml([mesh_alert_rules(monitoring.thresholds, scraped_exporters(context.endpoints))])
    uploads = [upload(f"{CONFIG_DIR}/prometheus.yml", prometheus_yml), upload(f"{CONFIG_DIR}/{RULES_FILE}", rules_yml)]
    discovery = context.discovery
    if discovery is not None:  # None only when the stack deploys no Consul: then there is no Consul job to present a token to
        # Prometheus runs as nobody and uploads belong to root: the file must be world-readable inside the container
        token: pulumi.Output[str] = pulumi.Output.secret(discovery.prometheus_token)
        uploads.append(docker.ContainerUploadArgs(file=f"{CONFIG_DIR}/{CONSUL_TOKEN_FILE}", content=token, permissions="0644"))
    return Wiring(
        uploads=uploads,
        rendered={"prometheus/prometheus.yml": prometheus_yml, f"prometheus/{RULES_FILE}": rules_yml},
        command=prometheus_command(monitoring),
    )


def alertmanager(context: WiringContext) -> Wiring:
    config = mesh_alertmanager_config(context.config.monitoring.alerting)
    text = render_alertmanager_yml(config)
    if not config.delivers:
        pulumi.log.warn(NO_RECEIVER_WARNING)
    # receiver URLs and SMTP passwords come from secret config: the file is as secret as they are
    content: pulumi.Input[str] = pulumi.Output.secret(text) if config.delivers else text
    return Wiring(uploads=[upload(ALERTMANAGER_CONFIG_PATH, content)], rendered={"alertmanager/alertmanager.yml": content})


def blackbox_exporter(context: WiringContext) -> Wiring:
    text = render_blackbox_yml()
    return Wiring(uploads=[upload(BLACKBOX_CONFIG_PATH, text)], rendered={"blackbox-exporter/config.yml": text})


def consul_exporter(context: WiringContext) -> Wiring:
    discovery = context.discovery
    # the catalog makes consul-exporter need consul, so the plan never deploys it alone
    assert discovery is not None, "consul-exporter is deployed without Consul"
    # Prometheus' token: the same read-only rights (services, nodes, agent)
    return Wiring(envs=[secret_env("CONSUL_HTTP_TOKEN", discovery.prometheus_token)])


_DISCOVERY = frozenset({Need.DISCOVERY})
MONITORING_WIRING: Mapping[str, ServiceWiring] = {
    # Prometheus finds its targets in Consul (consul_sd_configs) with its token
    PROMETHEUS: ServiceWiring(prometheus, _DISCOVERY),
    ALERTMANAGER: ServiceWiring(alertmanager),
    BLACKBOX_EXPORTER: ServiceWiring(blackbox_exporter),
    CONSUL_EXPORTER: ServiceWiring(consul_exporter, _DISCOVERY),
}
