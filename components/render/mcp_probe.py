"""The MCP health probe every MCP container runs, as text to upload (`mcp_probe.mjs` beside this module).

The same script is the Docker healthcheck (`check URL`) and the HTTP face Consul checks (`serve PORT URL`);
the tests run this exact text with node against a real MCP server and against a plain HTTP server.
This module imports no Pulumi.
"""

from __future__ import annotations

from pathlib import Path

PROBE_SOURCE = Path(__file__).with_name("mcp_probe.mjs")
PROBE_SCRIPT = PROBE_SOURCE.read_text(encoding="utf-8")
