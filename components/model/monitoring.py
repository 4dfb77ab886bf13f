"""`mesh:monitoring`: Prometheus retention, alert thresholds and where Alertmanager sends alerts.

A pydantic section of `MeshConfig` (one field there). Receiver URLs and passwords arrive here as
plain strings (Pulumi decrypts secret config for the program); the wiring marks every file that
carries them secret. Validation messages never repeat a receiver value. This module imports no Pulumi.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Prometheus' duration syntax (model.ParseDuration), largest unit first: `15d`, `1w`, `12h30m`
_DURATION = re.compile(r"^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$")
# Prometheus' byte-size syntax for --storage.tsdb.retention.size
_BYTE_SIZE = re.compile(r"^\d+(?:B|KB|MB|GB|TB|PB|EB)$")


def check_prometheus_duration(value: str) -> str:
    if not value or not _DURATION.match(value) or not re.search(r"[1-9]", value):
        raise ValueError(f"{value!r} is not a Prometheus duration (e.g. 15d, 12h, 4w)")
    return value


def _check_url(value: str, what: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        # the value itself is a secret: never echo it
        raise ValueError(f"{what} must be an http(s) URL (value not shown: set it with `pulumi config set --secret`)")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, frozen=True)


class SlackReceiver(_Section):
    """`mesh:monitoring.alerting.slack`: an incoming-webhook URL (secret) and an optional channel."""

    webhook_url: str = Field(alias="webhookUrl")
    channel: str | None = None

    @field_validator("webhook_url")
    @classmethod
    def _is_url(cls, value: str) -> str:
        return _check_url(value, "the Slack webhook URL")


class EmailReceiver(_Section):
    """`mesh:monitoring.alerting.email`: SMTP delivery; the password is a secret."""

    to: str
    sender: str = Field(alias="from")
    smarthost: str
    """`host:port` of the SMTP server."""
    username: str | None = None
    password: str | None = None
    require_tls: bool = Field(default=True, alias="requireTls")

    @field_validator("to", "sender")
    @classmethod
    def _is_address(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError(f"{value!r} is not an email address")
        return value

    @field_validator("smarthost")
    @classmethod
    def _is_host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"{value!r} is not host:port (e.g. smtp.example.com:587)")
        return value


class AlertingConfig(_Section):
    """`mesh:monitoring.alerting`: where Alertmanager delivers. None configured: alerts are only visible in its UI."""

    webhook_url: str | None = Field(default=None, alias="webhookUrl")
    slack: SlackReceiver | None = None
    email: EmailReceiver | None = None

    @field_validator("webhook_url")
    @classmethod
    def _is_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value, "the webhook URL")

    @property
    def has_receiver(self) -> bool:
        return self.webhook_url is not None or self.slack is not None or self.email is not None


class AlertThresholds(_Section):
    """`mesh:monitoring.thresholds`: where the alert rules draw the line."""

    error_ratio: float = Field(default=0.05, alias="errorRatio", gt=0, le=1)
    """Share of 5xx responses Kong returns for one service (over 5 minutes)."""
    latency_p95_ms: int = Field(default=1000, alias="latencyP95Ms", ge=1)
    """95th percentile of Kong's total request latency for one service, in milliseconds."""
    disk_free_ratio: float = Field(default=0.10, alias="diskFreeRatio", gt=0, lt=1)
    memory_available_ratio: float = Field(default=0.10, alias="memoryAvailableRatio", gt=0, lt=1)


class MonitoringConfig(_Section):
    """`mesh:monitoring`: everything Prometheus and Alertmanager take from the stack config."""

    retention: str = "15d"
    """How long Prometheus keeps samples (`--storage.tsdb.retention.time`)."""
    retention_size: str | None = Field(default=None, alias="retentionSize")
    """Optional cap on the TSDB size (`--storage.tsdb.retention.size`, e.g. 10GB)."""
    alerting: AlertingConfig = Field(default_factory=AlertingConfig)
    thresholds: AlertThresholds = Field(default_factory=AlertThresholds)

    @field_validator("retention")
    @classmethod
    def _is_duration(cls, value: str) -> str:
        return check_prometheus_duration(value)

    @field_validator("retention_size")
    @classmethod
    def _is_byte_size(cls, value: str | None) -> str | None:
        if value is not None and not _BYTE_SIZE.match(value):
            raise ValueError(f"{value!r} is not a size Prometheus understands (e.g. 512MB, 10GB)")
        return value
