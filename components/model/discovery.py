"""`mesh:discovery`: where the stack reaches Consul's HTTP API, validated with the rest of the config.

Pure: no Pulumi. `MeshConfig.discovery` holds it; `ServiceDiscovery` reads it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, field_validator

_DATACENTER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class DiscoveryConfig(BaseModel):
    """`mesh:discovery.*`. `address` defaults to Consul's published port on the bind address."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False, frozen=True)

    address: str | None = None
    """Consul's HTTP API as the machine running `pulumi up` reaches it: `http://127.0.0.1:10006`."""
    datacenter: str = "dc1"

    @field_validator("address")
    @classmethod
    def _is_http_url(cls, address: str | None) -> str | None:
        if address is None:
            return None
        parts = urlsplit(address)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{address!r} is not an http(s) URL with a host (e.g. http://127.0.0.1:10006)")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"{address!r} has an invalid port") from None
        if port is None:
            raise ValueError(f"{address!r} has no port (e.g. http://127.0.0.1:10006)")
        if parts.path not in {"", "/"} or parts.query or parts.fragment:
            raise ValueError(f"{address!r} must be scheme://host:port only")
        return address

    @field_validator("datacenter")
    @classmethod
    def _is_datacenter_name(cls, datacenter: str) -> str:
        if not _DATACENTER.match(datacenter):
            raise ValueError(f"{datacenter!r} is not a datacenter name (lowercase letters, digits, - and _)")
        return datacenter
