"""Hand-listed mutants of the MCP health probe (JavaScript), in the style of Stryker's operators.

`make mutate` writes each mutant beside the real probe and runs tests/test_mcp_probe.py against it
(`MESH_MCP_PROBE`); a mutant is killed when that file fails. Each is (name, exact original text, replacement).
"""

from __future__ import annotations

MUTANTS: list[tuple[str, str, str]] = [
    ("no-server-info-check", '  if (!result.serverInfo || typeof result.serverInfo.name !== "string") return null;\n', ""),
    ("server-info-name-not-checked", '|| typeof result.serverInfo.name !== "string"', ""),
    ("no-capabilities-check", 'typeof result.capabilities !== "object" || result.capabilities === null', "false"),
    ("null-capabilities-accepted", " || result.capabilities === null", ""),
    ("no-protocol-version-check", 'typeof result.protocolVersion !== "string" || ', ""),
    ("no-jsonrpc-version-check", 'message.jsonrpc !== "2.0" || ', ""),
    ("no-request-id-check", "message.id !== REQUEST_ID || ", ""),
    ("error-beside-result-accepted", ' || "error" in message', ""),
    ("sse-takes-any-message", "if (message && message.id === REQUEST_ID) return message;", "if (message) return message;"),
    ("sse-stops-at-unparsable-data", "        } catch {\n          continue;", "        } catch {\n          return null;"),
    ("sse-ignores-crlf", '.replace(/\\r\\n/g, "\\n")', ""),
    ("sse-joins-data-lines-without-newline", '.join("\\n")', '.join("")'),
    ("http-error-status-accepted", "  if (!response.ok) throw new Error(`HTTP ${response.status} from ${url}`);\n", ""),
    ("any-content-type-is-json", 'if (type.startsWith("application/json"))', "if (true)"),
    ("no-content-type-diagnosis", 'else throw new Error(`not an MCP reply: content-type ${type || "(none)"}`);', ""),
    ("session-not-ended", "  if (session) {\n", "  if (false) {\n"),
    ("no-accept-header", 'accept: "application/json, text/event-stream" ', ""),
    ("wrong-method", 'method: "initialize"', 'method: "ping"'),
    ("check-exits-1-on-success", "    process.exit(0);", "    process.exit(1);"),
    ("check-exits-0-on-failure", "    process.exit(1);\n  }\n}", "    process.exit(0);\n  }\n}"),
    ("health-face-answers-any-path", ' || request.url !== "/health"', ""),
    ("health-face-answers-any-method", 'request.method !== "GET" || ', ""),
    ("health-face-passing-is-503", "response.writeHead(200, {", "response.writeHead(503, {"),
    ("health-face-critical-is-200", "response.writeHead(503, {", "response.writeHead(200, {"),
    ("health-face-on-loopback-only", '.listen(port, "0.0.0.0")', '.listen(port, "127.0.0.1")'),
    ("usage-exits-0", "  process.exit(2);", "  process.exit(0);"),
]


def mutate(source: str, original: str, replacement: str) -> str:
    """The probe with this one change; the original text must occur exactly once."""
    if source.count(original) != 1:
        raise ValueError(f"{original!r} occurs {source.count(original)} times in the probe")
    return source.replace(original, replacement)
