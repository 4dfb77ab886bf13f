"""What a source reports about a service, before the collector folds it into `ServiceStatus`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mesh_status.model import Verdict


@dataclass(frozen=True)
class Observation:
    service: str
    source: str
    verdict: Verdict
    detail: str
    fields: dict[str, Any] = field(default_factory=dict)
    """`ServiceStatus` attributes this observation sets (registered, consul_check, ...)."""
