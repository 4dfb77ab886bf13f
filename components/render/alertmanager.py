"""`alertmanager.yml` as typed objects: a route tree by severity, the configured receivers, inhibitions.

With no receiver configured the tree ends in a receiver with no integrations (`null`), so Alertmanager
still loads and shows alerts in its UI; the wiring warns at `pulumi up`. The rendered text holds
receiver URLs and passwords: callers treat it as a secret. This module imports no Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.catalog.metrics import SERVICE_LABEL
from components.model.monitoring import AlertingConfig
from components.render.alert_rules import CRITICAL, WARNING
from components.render.yaml_text import dump_yaml

MESH_RECEIVER = "mesh"
NULL_RECEIVER = "null"
CONFIG_PATH = "/etc/alertmanager/alertmanager.yml"
GROUP_BY = ("alertname", SERVICE_LABEL)


@dataclass(frozen=True)
class Route:
    receiver: str
    matchers: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ()
    group_wait: str | None = None
    group_interval: str | None = None
    repeat_interval: str | None = None
    routes: tuple[Route, ...] = ()

    def render(self) -> dict[str, object]:
        rendered: dict[str, object] = {"receiver": self.receiver}
        if self.matchers:
            rendered["matchers"] = list(self.matchers)
        if self.group_by:
            rendered["group_by"] = list(self.group_by)
        for key in ("group_wait", "group_interval", "repeat_interval"):
            value = getattr(self, key)
            if value is not None:
                rendered[key] = value
        if self.routes:
            rendered["routes"] = [route.render() for route in self.routes]
        return rendered


@dataclass(frozen=True)
class Inhibition:
    source_matchers: tuple[str, ...]
    target_matchers: tuple[str, ...]
    equal: tuple[str, ...]

    def render(self) -> dict[str, object]:
        return {"source_matchers": list(self.source_matchers), "target_matchers": list(self.target_matchers), "equal": list(self.equal)}


@dataclass(frozen=True)
class AlertmanagerConfig:
    route: Route
    receivers: tuple[dict[str, object], ...]
    inhibitions: tuple[Inhibition, ...]

    @property
    def delivers(self) -> bool:
        """Whether any alert leaves Alertmanager (a receiver with at least one integration)."""
        return any(len(receiver) > 1 for receiver in self.receivers)


def _mesh_receiver(alerting: AlertingConfig) -> dict[str, object]:
    receiver: dict[str, object] = {"name": MESH_RECEIVER}
    if alerting.webhook_url is not None:
        receiver["webhook_configs"] = [{"url": alerting.webhook_url, "send_resolved": True}]
    if alerting.slack is not None:
        slack: dict[str, object] = {
            "api_url": alerting.slack.webhook_url,
            "send_resolved": True,
            "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.mesh_service }})",
            "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}",
        }
        if alerting.slack.channel is not None:
            slack["channel"] = alerting.slack.channel
        receiver["slack_configs"] = [slack]
    if alerting.email is not None:
        email = alerting.email
        mail: dict[str, object] = {
            "to": email.to,
            "from": email.sender,
            "smarthost": email.smarthost,
            "require_tls": email.require_tls,
            "send_resolved": True,
        }
        if email.username is not None:
            mail["auth_username"] = email.username
        if email.password is not None:
            mail["auth_password"] = email.password
        receiver["email_configs"] = [mail]
    return receiver


def mesh_alertmanager_config(alerting: AlertingConfig) -> AlertmanagerConfig:
    target = MESH_RECEIVER if alerting.has_receiver else NULL_RECEIVER
    receivers: list[dict[str, object]] = [{"name": NULL_RECEIVER}]
    if alerting.has_receiver:
        receivers.insert(0, _mesh_receiver(alerting))
    route = Route(
        receiver=target,
        group_by=GROUP_BY,
        group_wait="30s",
        group_interval="5m",
        repeat_interval="4h",
        routes=(
            # a page goes out fast and is repeated hourly; a warning waits for its group and repeats twice a day
            Route(receiver=target, matchers=(f'severity="{CRITICAL}"',), group_wait="10s", repeat_interval="1h"),
            Route(receiver=target, matchers=(f'severity="{WARNING}"',), repeat_interval="12h"),
        ),
    )
    inhibitions = (
        # a service that is down explains every other alert about it
        Inhibition(('alertname="ServiceDown"',), ('alertname!="ServiceDown"',), (SERVICE_LABEL,)),
        Inhibition((f'severity="{CRITICAL}"',), (f'severity="{WARNING}"',), (SERVICE_LABEL,)),
    )
    return AlertmanagerConfig(route=route, receivers=tuple(receivers), inhibitions=inhibitions)


def render_alertmanager_yml(config: AlertmanagerConfig) -> str:
    document = {
        "global": {"resolve_timeout": "5m"},
        "route": config.route.render(),
        "receivers": list(config.receivers),
        "inhibit_rules": [inhibition.render() for inhibition in config.inhibitions],
    }
    return dump_yaml(document, width=1000)
