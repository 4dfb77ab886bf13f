// MCP health probe: an `initialize` JSON-RPC exchange over streamable HTTP, passing only on a valid result.
//   node mcp-probe.mjs check URL        exit 0 when URL answers initialize with a valid result, 1 otherwise
//   node mcp-probe.mjs serve PORT URL   GET /health on PORT runs the same check (200 or 503), for Consul
import http from "node:http";

const PROTOCOL_VERSION = "2025-06-18";
const TIMEOUT_MS = 8000;
const REQUEST_ID = 1;

function validResult(message) {
  if (!message || message.jsonrpc !== "2.0" || message.id !== REQUEST_ID || "error" in message) return null;
  const result = message.result;
  if (!result || typeof result.protocolVersion !== "string" || typeof result.capabilities !== "object" || result.capabilities === null) {
    return null;
  }
  if (!result.serverInfo || typeof result.serverInfo.name !== "string") return null;
  return result;
}

// The reply to our request inside an SSE stream: the first `data:` event that is a JSON-RPC message with our id.
async function fromEventStream(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (value) buffer += decoder.decode(value, { stream: true });
      const events = buffer.replace(/\r\n/g, "\n").split("\n\n");
      buffer = done ? "" : events.pop();
      for (const event of events) {
        const data = event
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).replace(/^ /, ""))
          .join("\n");
        if (!data) continue;
        let message;
        try {
          message = JSON.parse(data);
        } catch {
          continue;
        }
        if (message && message.id === REQUEST_ID) return message;
      }
      if (done) return null;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

export async function initialize(url) {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: REQUEST_ID,
      method: "initialize",
      params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "mesh-health-probe", version: "1.0.0" } },
    }),
    signal,
  });
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${url}`);
  const type = (response.headers.get("content-type") || "").toLowerCase();
  let message;
  if (type.startsWith("application/json")) message = await response.json();
  else if (type.startsWith("text/event-stream")) message = await fromEventStream(response);
  else throw new Error(`not an MCP reply: content-type ${type || "(none)"}`);
  const result = validResult(message);
  if (!result) throw new Error(`not a valid initialize result: ${JSON.stringify(message).slice(0, 200)}`);
  // end the session we opened: a stateful bridge keeps one stdio child per session
  const session = response.headers.get("mcp-session-id");
  if (session) {
    await fetch(url, { method: "DELETE", headers: { "mcp-session-id": session }, signal: AbortSignal.timeout(TIMEOUT_MS) }).catch(() => {});
  }
  return result;
}

async function check(url) {
  try {
    const result = await initialize(url);
    console.log(`ok: ${result.serverInfo.name} ${result.serverInfo.version ?? ""} (protocol ${result.protocolVersion})`);
    process.exit(0);
  } catch (error) {
    console.error(`unhealthy: ${error.message}`);
    process.exit(1);
  }
}

function serve(port, url) {
  http
    .createServer(async (request, response) => {
      if (request.method !== "GET" || request.url !== "/health") {
        response.writeHead(404).end();
        return;
      }
      try {
        const result = await initialize(url);
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "passing", serverInfo: result.serverInfo }));
      } catch (error) {
        response.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ status: "critical", error: error.message }));
      }
    })
    .listen(port, "0.0.0.0");
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "check" && rest.length === 1) await check(rest[0]);
else if (mode === "serve" && rest.length === 2) serve(Number(rest[0]), rest[1]);
else {
  console.error("usage: mcp-probe.mjs check URL | serve PORT URL");
  process.exit(2);
}
