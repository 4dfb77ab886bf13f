"""The backend's settings, from the environment the stack gives its container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mesh_status.targets import MeshTargets, targets_from_env


def with_secret_files(environ: Mapping[str, str]) -> dict[str, str]:
    """`NAME_FILE=/run/secrets/...` (a swarm secret) becomes `NAME=<the file's content>`; a set `NAME` wins."""
    resolved = dict(environ)
    for key, path in environ.items():
        name = key.removesuffix("_FILE")
        if key.endswith("_FILE") and name.startswith("MESH_"):
            del resolved[key]
            if name not in environ:
                with open(path, encoding="utf-8") as secret:
                    resolved[name] = secret.read().strip()
    return resolved


class SettingsError(ValueError):
    """A required variable is missing: the container must not start half-configured."""


@dataclass(frozen=True)
class Settings:
    jwt_secret: str = field(repr=False)
    """HS256 secret shared with Kong's jwt consumer credential."""
    jwt_key: str | None
    """The credential's key: when set, a token's `iss` claim must equal it (Kong's `key_claim_name`)."""
    targets: MeshTargets
    otlp_endpoint: str | None
    """OTLP/HTTP base URL (Jaeger's :4318); spans go to `<endpoint>/v1/traces`. None: no export."""
    service_name: str = "backend"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        environ = with_secret_files(environ)
        secret = environ.get("MESH_JWT_SECRET", "")
        if len(secret) < 16:
            raise SettingsError("MESH_JWT_SECRET must be set to the gateway's JWT secret (16 characters or more)")
        return cls(
            jwt_secret=secret,
            jwt_key=environ.get("MESH_JWT_KEY") or None,
            targets=targets_from_env(environ),
            otlp_endpoint=(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "").rstrip("/") or None,
            service_name=environ.get("OTEL_SERVICE_NAME") or "backend",
        )
