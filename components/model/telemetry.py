"""`mesh:telemetry`: where the stack reaches Grafana, how long logs are kept, how many traces Jaeger holds.

Validated with the rest of `MeshConfig` before any resource is registered. Pure: no Pulumi.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DURATION = re.compile(r"^[1-9][0-9]*(h|d|w)$")


class TelemetryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, frozen=True)

    grafana_url: str | None = Field(default=None, alias="grafanaUrl")
    """Where the Grafana provider reaches Grafana; default: the bind address and Grafana's host port."""
    log_retention: str = Field(default="168h", alias="logRetention")
    """How long Loki keeps logs (its compactor deletes older chunks): hours, days or weeks, e.g. 168h, 14d."""
    max_traces: int = Field(default=100000, alias="maxTraces", ge=1000, le=10_000_000)
    """How many traces Jaeger keeps in memory (oldest dropped first)."""

    @field_validator("grafana_url")
    @classmethod
    def _is_http_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s) URL (e.g. http://127.0.0.1:10201)")
        return url.rstrip("/")

    @field_validator("log_retention")
    @classmethod
    def _is_duration(cls, retention: str) -> str:
        if not _DURATION.match(retention):
            raise ValueError(f"{retention!r} is not a duration in hours, days or weeks (e.g. 168h, 14d, 2w)")
        return retention

    def log_retention_hours(self) -> int:
        """Loki's `retention_period` wants a Prometheus duration; hours are exact for every unit we accept."""
        amount, unit = int(self.log_retention[:-1]), self.log_retention[-1]
        return amount * {"h": 1, "d": 24, "w": 168}[unit]
