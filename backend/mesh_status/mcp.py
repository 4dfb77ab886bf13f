"""MCP over streamable HTTP: a real `initialize` exchange, then `notifications/initialized` and
`tools/list`, answered as JSON or as an SSE stream. Answering HTTP is not enough to pass.

Spec: https://modelcontextprotocol.io/specification/2025-06-18/basic/transports#streamable-http
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

import requests

from mesh_status.http import Limits, UnreachableError, request

PROTOCOL_VERSION = "2025-06-18"
CLIENT_INFO = {"name": "mesh-status", "version": "0.1.0"}
SESSION_HEADER = "Mcp-Session-Id"
_ACCEPT = "application/json, text/event-stream"


class NotMcpError(Exception):
    """The endpoint answered, but not as an MCP server."""


@dataclass(frozen=True)
class McpHandshake:
    server_name: str
    server_version: str
    protocol_version: str
    tools: int | None
    """How many tools `tools/list` returned (None: the server has no tools capability)."""


def _rpc_reply(response: requests.Response, request_id: int) -> dict[str, Any]:
    """The JSON-RPC response with this id, from a JSON body or from the events of an SSE stream."""
    if response.status_code != 200:
        raise NotMcpError(f"answered HTTP {response.status_code} to a JSON-RPC POST")
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        messages = _as_messages(_parse_json(response.text))
    elif content_type == "text/event-stream":
        messages = [message for data in _sse_data(response.text) for message in _as_messages(_parse_json(data))]
    else:
        raise NotMcpError(f"answered HTTP 200 with {content_type or 'no content type'}, not JSON-RPC (JSON or SSE)")
    for message in messages:
        if message.get("jsonrpc") == "2.0" and message.get("id") == request_id:
            if "error" in message:
                error = message["error"] if isinstance(message["error"], dict) else {}
                raise NotMcpError(f"JSON-RPC error {error.get('code')}: {error.get('message')}")
            result = message.get("result")
            if not isinstance(result, dict):
                raise NotMcpError("JSON-RPC reply without a result object")
            return result
    raise NotMcpError(f"no JSON-RPC reply with id {request_id} in the answer")


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise NotMcpError(f"body is not JSON: {' '.join(text.split())[:80]!r}") from None


def _as_messages(body: Any) -> list[dict[str, Any]]:
    items = body if isinstance(body, list) else [body]
    return [item for item in items if isinstance(item, dict)]


def _sse_data(stream: str) -> list[str]:
    """The `data:` payload of every event (multi-line data joined with newlines)."""
    events: list[str] = []
    lines: list[str] = []
    for line in stream.replace("\r\n", "\n").split("\n"):
        if not line:
            if lines:
                events.append("\n".join(lines))
                lines = []
        elif line.startswith("data:"):
            lines.append(line[5:].removeprefix(" "))
    if lines:
        events.append("\n".join(lines))
    return events


def _post(session: requests.Session, url: str, payload: dict[str, Any], limits: Limits, headers: dict[str, str]) -> requests.Response:
    return request(
        session,
        "POST",
        url,
        limits,
        headers={"Content-Type": "application/json", "Accept": _ACCEPT, **headers},
        body=json.dumps(payload).encode(),
    )


def handshake(session: requests.Session, url: str, limits: Limits) -> McpHandshake:
    """initialize -> notifications/initialized -> tools/list. Raises `UnreachableError` or `NotMcpError`."""
    response = _post(
        session,
        url,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": CLIENT_INFO},
        },
        limits,
        {},
    )
    result = _rpc_reply(response, 1)
    server = result.get("serverInfo")
    if (
        not isinstance(server, dict)
        or not isinstance(result.get("protocolVersion"), str)
        or not isinstance(result.get("capabilities"), dict)
    ):
        raise NotMcpError("initialize result lacks protocolVersion, capabilities or serverInfo")
    negotiated = result["protocolVersion"]
    session_headers = {"MCP-Protocol-Version": negotiated}
    if response.headers.get(SESSION_HEADER):
        session_headers[SESSION_HEADER] = response.headers[SESSION_HEADER]

    tools: int | None = None
    try:
        notified = _post(session, url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, limits, session_headers)
        if notified.status_code not in (200, 202, 204):
            raise NotMcpError(f"answered HTTP {notified.status_code} to notifications/initialized")
        if "tools" in result["capabilities"]:
            listed = _rpc_reply(_post(session, url, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, limits, session_headers), 2)
            tools = len(listed.get("tools") or [])
    finally:
        if SESSION_HEADER in session_headers:
            _close(session, url, limits, session_headers)
    return McpHandshake(str(server.get("name")), str(server.get("version")), negotiated, tools)


def _close(session: requests.Session, url: str, limits: Limits, headers: dict[str, str]) -> None:
    """End the session (servers may answer 405 when clients cannot end sessions: that is fine)."""
    with contextlib.suppress(UnreachableError):
        request(session, "DELETE", url, Limits(limits.connect_timeout_s, limits.read_timeout_s, 0), headers=headers)
