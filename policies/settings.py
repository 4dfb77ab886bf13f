"""The pack's configuration: per policy, a JSON schema whose defaults reproduce docs/services.md.

The engine hands each policy its section of `--policy-pack-config` (or nothing); `policy_config`
fills what the user left out from the same defaults, so the pack behaves the same everywhere.
This module imports no Pulumi.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

# docs/services.md, "Host port ranges"; a test asserts these equal components.model.mesh.DEFAULT_PORT_RANGES.
PORT_RANGES: dict[str, list[int]] = {
    "core": [10000, 10099],
    "ai": [10100, 10199],
    "monitoring": [10200, 10299],
    "mcp": [3000, 3099],
    "orchestration": [12000, 12999],
}

_SERVICE_LIST = {"type": "array", "items": {"type": "string"}}
_EXEMPT = {
    "exemptServices": {
        **_SERVICE_LIST,
        "description": "Services (the mesh.service label) this policy does not apply to: the exception mechanism.",
        "default": [],
    }
}

# Per policy: JSON-schema properties, each with its default. Every policy accepts `exemptServices`.
SCHEMAS: dict[str, dict[str, dict[str, Any]]] = {
    "host-port-in-category-range": {
        "portRanges": {
            "type": "object",
            "description": "Inclusive [low, high] host port range per catalog category (the mesh.category label).",
            "additionalProperties": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
            "default": PORT_RANGES,
        },
        "sharedRanges": {
            "type": "object",
            "description": "Per category, other categories whose ranges its containers may publish in.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            # the DinD orchestrator publishes the MCP servers' ports (docs/services.md)
            "default": {"orchestration": ["mcp"]},
        },
    },
    "container-healthcheck": {
        "maxIntervalSeconds": {"type": "integer", "minimum": 1, "description": "Longest healthcheck interval allowed.", "default": 30}
    },
    "consul-service-check-interval": {
        "maxIntervalSeconds": {"type": "integer", "minimum": 1, "description": "Longest Consul check interval allowed.", "default": 10}
    },
    "privileged-allow-list": {
        "allowedServices": {**_SERVICE_LIST, "description": "Services that may run privileged.", "default": ["mcp-orchestrator"]}
    },
    "docker-socket-mount": {
        "allowedServices": {
            **_SERVICE_LIST,
            "description": "Services that may see the Docker socket (read-only), directly or through a parent directory.",
            # the socket proxy serves the read-only API subset to Alloy and cAdvisor; cadvisor and node-exporter
            # mount the host's / (at /rootfs), which holds the socket file (node-exporter runs as nobody: refused by it)
            "default": ["docker-socket-proxy", "cadvisor", "node-exporter"],
        },
        "swarmNodeAgents": {
            **_SERVICE_LIST,
            "description": "Services that may mount the socket as swarm services: a swarm has no node-local socket proxy "
            "(a global proxy's name resolves to any node's task), so these read their own node's socket read-only.",
            "default": ["alloy"],
        },
    },
    "published-port-loopback": {
        "allowedPorts": {
            **_SERVICE_LIST,
            "description": "`service:internalPort` entries that may bind wider than loopback.",
            "default": ["kong:8000"],
        },
        "edgePorts": {
            **_SERVICE_LIST,
            "description": "`service:internalPort` entries a swarm service may publish in host mode (it binds every interface "
            "of its node): the gateway's proxy and the two APIs the stack's own providers call (ACL token, admin password).",
            "default": ["kong:8000", "consul:8500", "grafana:3000"],
        },
    },
    "sensitive-port-loopback": {
        "ports": {
            **_SERVICE_LIST,
            "description": "`service:internalPort` entries (`*` for any service) that never bind wider than loopback.",
            "default": ["kong:8001", "*:2375", "*:2376"],
        }
    },
    "registered-in-consul": {
        "exemptServices": {
            **_SERVICE_LIST,
            "description": "Services this policy does not apply to (Consul registers itself; the Docker socket proxy is "
            "on its internal network only, where nothing on the mesh may find or reach it).",
            "default": ["consul", "docker-socket-proxy"],
        }
    },
    "restart-policy": {
        "required": {
            "type": "string",
            "enum": ["no", "on-failure", "always", "unless-stopped"],
            "description": "The restart policy every container must have.",
            "default": "unless-stopped",
        },
        "requiredCondition": {
            "type": "string",
            "enum": ["none", "on-failure", "any"],
            "description": "The restart condition every swarm service must have.",
            "default": "any",
        },
    },
    "swarm-secrets-as-files": {
        "namePattern": {
            "type": "string",
            "description": "Regular expression (case-insensitive) for environment variable names that hold credentials.",
            "default": r"(^|_)(PASSWORD|PASSWD|PASS|PWD|SECRET|TOKEN|KEY|AUTH|CREDENTIALS?)(_|$)",
        },
        "notCredentials": {
            **_SERVICE_LIST,
            "description": "Variable names that match namePattern but hold no credential.",
            # the backend's JWT key is the issuer's name (`iss`), public by design
            "default": ["MESH_JWT_KEY"],
        },
    },
    "credential-env-secret": {
        "namePattern": {
            "type": "string",
            "description": "Regular expression (case-insensitive) for environment variable names that hold credentials.",
            "default": r"(^|_)(PASSWORD|PASSWD|PASS|PWD|SECRET|TOKEN|KEY|AUTH|CREDENTIALS?)(_|$)",
        }
    },
}


def schema_properties(policy: str) -> dict[str, dict[str, Any]]:
    """The JSON-schema properties the engine validates this policy's config against."""
    return {**copy.deepcopy(_EXEMPT), **copy.deepcopy(SCHEMAS.get(policy, {}))}


def policy_config(policy: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The policy's effective config: what the user gave, over the schema defaults."""
    defaults = {key: copy.deepcopy(prop["default"]) for key, prop in schema_properties(policy).items()}
    return {**defaults, **{key: value for key, value in given.items() if key != "enforcementLevel"}}
