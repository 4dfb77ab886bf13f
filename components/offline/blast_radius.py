"""What a change restarts: everyday edits of the stack config and exactly which resources `pulumi up` touches.

Each `Edit` is applied to a stack deployed into provider-faithful state and diffed with the providers' rules
(`components.offline.lifecycle`); tests/test_lifecycle.py asserts the measured plan is exactly the one written
here, and that the README's "What a change restarts" table is `render_markdown()` of this table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.offline import lifecycle
from components.offline.synth import synthesize

README_BEGIN = "<!-- blast-radius:begin (generated from components/offline/blast_radius.py; checked by tests/test_lifecycle.py) -->"
README_END = "<!-- blast-radius:end -->"


@dataclass(frozen=True)
class Edit:
    what: str
    config: Mapping[str, Any]
    """The stack config after the edit (the stack before it is `before`)."""
    concerns: frozenset[str]
    """The services the edit is about: only their stateful containers may be replaced."""
    replaced: frozenset[str] = frozenset()
    updated: frozenset[str] = frozenset()
    created: frozenset[str] = frozenset()
    deleted: frozenset[str] = frozenset()
    before: Mapping[str, Any] = field(default_factory=dict)
    why: str = ""
    """Why the replacements happen (which ForceNew input changes)."""

    def measure(self, deployed: lifecycle.Deployment | None = None) -> lifecycle.Plan:
        """The plan of `pulumi up` with `config` on the stack deployed from `before` (or on `deployed`, when given)."""
        state = deployed if deployed is not None else lifecycle.deploy(synthesize(dict(self.before)))
        return lifecycle.diff(state, synthesize(dict(self.config)))


def _names(*names: str) -> frozenset[str]:
    return frozenset(names)


SEVENTH_MCP_SERVER = {"port": 3020, "package": "@example/mcp-time@1.4.2", "bin": "mcp-time"}

EDITS: tuple[Edit, ...] = (
    Edit(
        "a service's memory",
        {"services": {"redis": {"memoryMb": 1024}}},
        concerns=_names("redis"),
        updated=_names("redis"),
        why="memory and memory_swap are updated in place (`docker update`): no restart",
    ),
    Edit(
        "one more backend replica",
        {"services": {"backend": {"replicas": 2}}},
        concerns=_names("backend", "kong"),
        replaced=_names("kong"),
        updated=_names("backend-registration"),
        created=_names("backend-2", "backend-2-registration"),
        why="Kong's kong.yml gains a target (uploads force a new container); the first replica is checked by its own alias",
    ),
    Edit(
        "a Kong breaker threshold",
        {"gateway": {"upstreams": {"backend": {"failures": 3}}}},
        concerns=_names("kong"),
        replaced=_names("kong"),
        why="kong.yml changes (DB-less Kong reads it at start)",
    ),
    Edit(
        "a new MCP server",
        {"mcpServers": {"time": SEVENTH_MCP_SERVER}},
        concerns=_names("mcp-time", "mcp-orchestrator", "kong", "prometheus", "backend"),
        replaced=_names("kong", "mcp-orchestrator", "prometheus", "backend"),
        updated=_names("mesh-discovery-consul-esm-policy", "mesh-grafana-mesh-overview"),
        created=_names("mcp-time", "mcp-time-image", "mcp-time-registration"),
        why="the orchestrator publishes one more port, Kong routes it, Prometheus probes it (static blackbox target), "
        "the backend lists it (MESH_MCP_SERVERS); data stays on their volumes",
    ),
    Edit(
        "Prometheus retention",
        {"monitoring": {"retention": "30d"}},
        concerns=_names("prometheus"),
        replaced=_names("prometheus"),
        why="a command-line flag (command forces a new container); the TSDB stays on its volume",
    ),
    Edit(
        "an alert receiver",
        {"monitoring": {"alerting": {"webhookUrl": "https://hooks.example.com/alerts"}}},
        concerns=_names("alertmanager"),
        replaced=_names("alertmanager"),
        why="alertmanager.yml changes; silences and the notification log stay on its volume",
    ),
    Edit(
        "a new image tag for one service",
        {"services": {"redis": {"image": "redis:8.2.1-alpine"}}},
        concerns=_names("redis"),
        replaced=_names("redis-image", "redis"),
        why="the pulled image is new, so is the container; the data stays on its volume",
    ),
    Edit(
        "disabling Ollama",
        {},
        before={"services": {"ollama": {"enabled": True}}},
        concerns=_names("ollama", "backend"),
        replaced=_names("backend"),
        updated=_names("mesh-discovery-consul-esm-policy"),
        deleted=_names("ollama", "ollama-image", "ollama-registration", "ollama-models"),
        why="the backend's environment lists the services; the models volume leaves the stack but stays on the host (retain_on_delete)",
    ),
)


def _cell(names: frozenset[str]) -> str:
    return ", ".join(f"`{name}`" for name in sorted(names)) or "-"


def _config_text(edit: Edit) -> str:
    before = f" (from {json.dumps(dict(edit.before))})" if edit.before else ""
    return f"`{json.dumps(dict(edit.config))}`{before}"


def render_markdown(edits: tuple[Edit, ...] = EDITS) -> str:
    """The README table: per edit, what `pulumi up` replaces (a restart), updates in place, creates and deletes."""
    lines = [
        "| edit | stack config after it | replaced (restarts) | updated in place | created | deleted | why |",
        "|---|---|---|---|---|---|---|",
    ]
    for edit in edits:
        cells = [edit.what, _config_text(edit), *(_cell(names) for names in (edit.replaced, edit.updated, edit.created, edit.deleted))]
        lines.append("| " + " | ".join([*cells, edit.why]) + " |")
    return "\n".join(lines) + "\n"
