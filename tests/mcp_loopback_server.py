"""A small real MCP server (the `mcp` package) on loopback, speaking streamable HTTP: the probe's test target.

python -m tests.mcp_loopback_server PORT sse|json
"""

from __future__ import annotations

import sys

import anyio
from mcp.server.mcpserver import MCPServer

server = MCPServer("loopback-test-server")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


if __name__ == "__main__":
    if sys.argv[1:] == ["stdio"]:
        server.run("stdio")
    else:
        port, mode = int(sys.argv[1]), sys.argv[2]
        anyio.run(lambda: server.run_streamable_http_async(host="127.0.0.1", port=port, json_response=mode == "json"))
