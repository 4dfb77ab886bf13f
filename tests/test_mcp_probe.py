"""The MCP health probe is real: the exact script every MCP container runs passes against a real MCP server
(the `mcp` package on loopback, SSE and JSON replies) and fails against HTTP servers that are not MCP.

`MESH_MCP_PROBE=path` runs these tests against another copy of the probe: `make mutate` hands them its mutants.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from components.catalog.mcp_servers import MCP_CATALOG, PROBE_PATH, container_command, health_test, launch_script, serve_step
from components.render.mcp_probe import PROBE_SCRIPT
from tests.mcp_probe_mutants import MUTANTS, mutate

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def probe_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The exact text uploaded to every MCP container, written out as the containers get it."""
    path = tmp_path_factory.mktemp("probe") / Path(PROBE_PATH).name
    mutant = os.environ.get("MESH_MCP_PROBE")
    path.write_text(Path(mutant).read_text(encoding="utf-8") if mutant else PROBE_SCRIPT, encoding="utf-8")
    return path


def _start(command: list[str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, process)
    except Exception:
        process.kill()
        process.wait()
        raise
    return process


@pytest.fixture(scope="module", params=["sse", "json"])
def mcp_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A real MCP server (streamable HTTP) replying with an SSE stream or with plain JSON."""
    port = _free_port()
    process = _start([sys.executable, "-m", "tests.mcp_loopback_server", str(port), request.param], port)
    yield f"http://127.0.0.1:{port}/mcp"
    process.terminate()
    process.wait(timeout=10)


class _CannedMcp(BaseHTTPRequestHandler):
    """Answers every POST with one canned reply, like a bridge's static /healthz or a broken server; keeps what it was sent."""

    reply = b'{"status": "ok"}'
    content_type = "application/json"
    status = 200
    headers_out: dict[str, str] = {}
    requests: list[tuple[str, dict[str, str]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.requests.append((self.command, dict(self.headers)))
        self.send_response(self.status)
        self.send_header("content-type", self.content_type)
        self.send_header("content-length", str(len(self.reply)))
        for name, value in self.headers_out.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(self.reply)

    do_GET = do_POST = do_DELETE = _answer  # noqa: N815 (http.server's handler names)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _canned_server(
    reply: bytes, content_type: str, status: int = 200, headers: dict[str, str] | None = None
) -> Iterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    """A canned server's MCP URL and the (method, headers) of every request it got."""
    requests: list[tuple[str, dict[str, str]]] = []
    attributes = {"reply": reply, "content_type": content_type, "status": status, "headers_out": headers or {}, "requests": requests}
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_CannedMcp,), attributes))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/mcp", requests
    finally:
        server.shutdown()
        server.server_close()


def _reply(**fields: object) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 1, **fields}).encode()


SERVER_INFO = {"name": "canned-server", "version": "1.0"}
VALID_RESULT = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": SERVER_INFO}


def _without(key: str) -> dict[str, object]:
    return {name: value for name, value in VALID_RESULT.items() if name != key}


# each reply is wrong in exactly one way, so each check of the probe is the only one that can catch it
NOT_MCP_REPLIES = {
    "static-ok-json": (b'{"status": "ok"}', "application/json", 200),
    "plain-text-ok": (b"ok", "text/plain", 200),
    "json-rpc-error": (_reply(error={"code": -32601, "message": "Method not found"}), "application/json", 200),
    "json-rpc-error-beside-a-result": (_reply(result=VALID_RESULT, error={"code": -1, "message": "x"}), "application/json", 200),
    "reply-to-another-request": (json.dumps({"jsonrpc": "2.0", "id": 2, "result": VALID_RESULT}).encode(), "application/json", 200),
    "not-json-rpc-2": (json.dumps({"jsonrpc": "1.0", "id": 1, "result": VALID_RESULT}).encode(), "application/json", 200),
    "result-without-server-info": (_reply(result=_without("serverInfo")), "application/json", 200),
    "result-with-a-nameless-server-info": (_reply(result={**VALID_RESULT, "serverInfo": {"version": "1"}}), "application/json", 200),
    "result-without-capabilities": (_reply(result=_without("capabilities")), "application/json", 200),
    "result-with-null-capabilities": (_reply(result={**VALID_RESULT, "capabilities": None}), "application/json", 200),
    "result-without-protocol-version": (_reply(result=_without("protocolVersion")), "application/json", 200),
    "valid-result-with-http-500": (_reply(result=VALID_RESULT), "application/json", 500),
    "sse-without-reply": (b"event: message\ndata: {}\n\n", "text/event-stream", 200),
    "sse-reply-to-another-request": (
        b"data: " + json.dumps({"jsonrpc": "2.0", "id": 2, "result": VALID_RESULT}).encode() + b"\n\n",
        "text/event-stream",
        200,
    ),
    # an event's data lines join with a newline (the SSE spec; the MCP SDK's client parses it so): split inside a
    # JSON string, the reply a client reads is not JSON, so the probe must not call the server healthy either
    "sse-reply-split-inside-a-string": (
        b"data: " + _reply(result=VALID_RESULT).replace(b"canned-server", b"canned-\ndata: server") + b"\n\n",
        "text/event-stream",
        200,
    ),
}


@pytest.fixture(params=sorted(NOT_MCP_REPLIES))
def not_mcp_url(request: pytest.FixtureRequest) -> Iterator[str]:
    with _canned_server(*NOT_MCP_REPLIES[request.param]) as (url, _):
        yield url


def _check(probe_file: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(probe_file), "check", url], capture_output=True, text=True, timeout=30)


def test_probe_passes_against_a_real_mcp_server(probe_file: Path, mcp_url: str) -> None:
    result = _check(probe_file, mcp_url)
    assert result.returncode == 0, result.stderr
    assert "loopback-test-server" in result.stdout


def test_probe_fails_against_an_http_server_that_is_not_mcp(probe_file: Path, not_mcp_url: str) -> None:
    result = _check(probe_file, not_mcp_url)
    assert result.returncode == 1
    assert "unhealthy" in result.stderr


def test_probe_fails_when_nothing_listens(probe_file: Path) -> None:
    assert _check(probe_file, f"http://127.0.0.1:{_free_port()}/mcp").returncode == 1


def test_probe_says_why_a_reply_is_not_mcp(probe_file: Path) -> None:
    with _canned_server(b"ok", "text/plain") as (url, _):
        assert "unhealthy: not an MCP reply: content-type text/plain" in _check(probe_file, url).stderr
    with _canned_server(b"{}", "application/json", 503) as (url, _):
        assert "unhealthy: HTTP 503" in _check(probe_file, url).stderr


def test_probe_finds_its_reply_among_other_events_of_an_sse_stream(probe_file: Path) -> None:
    reply = json.dumps({"jsonrpc": "2.0", "id": 1, "result": VALID_RESULT}, indent=1).replace("\n", "\r\ndata: ")
    stream = f"event: ping\r\ndata: not json\r\n\r\ndata: {json.dumps({'jsonrpc': '2.0', 'method': 'notifications/message'})}\r\n\r\n"
    with _canned_server(f"{stream}: a comment\r\ndata: {reply}\r\n\r\n".encode(), "text/event-stream") as (url, _):
        result = _check(probe_file, url)
    assert result.returncode == 0, result.stderr
    assert "ok: canned-server 1.0 (protocol 2025-06-18)" in result.stdout


def test_probe_asks_for_initialize_and_ends_the_session_it_opened(probe_file: Path) -> None:
    with _canned_server(_reply(result=VALID_RESULT), "application/json", headers={"mcp-session-id": "session-7"}) as (url, requests):
        assert _check(probe_file, url).returncode == 0
    assert [method for method, _ in requests] == ["POST", "DELETE"]
    assert "text/event-stream" in requests[0][1]["accept"] and "application/json" in requests[0][1]["accept"]
    assert requests[1][1]["mcp-session-id"] == "session-7"


def test_probe_without_a_mode_prints_its_usage_and_exits_2(probe_file: Path) -> None:
    result = subprocess.run(["node", str(probe_file)], capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stderr.strip()) == (2, "usage: mcp-probe.mjs check URL | serve PORT URL")


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, json.loads(body) if body else {}


@pytest.fixture
def health_face(probe_file: Path) -> Iterator[Callable[[str], str]]:
    """Start the probe's HTTP face (what Consul checks) in front of a given MCP URL."""
    started: list[subprocess.Popen[bytes]] = []

    def start(target: str) -> str:
        port = _free_port()
        started.append(_start(["node", str(probe_file), "serve", str(port), target], port))
        return f"http://127.0.0.1:{port}/health"

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def test_consul_health_face_is_passing_only_after_a_real_initialize(health_face: Callable[[str], str], mcp_url: str) -> None:
    status, body = _get(health_face(mcp_url))
    assert (status, body["status"]) == (200, "passing")
    assert body["serverInfo"]["name"] == "loopback-test-server"  # type: ignore[index]


def test_consul_health_face_is_critical_in_front_of_a_non_mcp_server(health_face: Callable[[str], str], not_mcp_url: str) -> None:
    status, body = _get(health_face(not_mcp_url))
    assert (status, body["status"]) == (503, "critical")
    assert str(body["error"]).startswith(("not ", "HTTP "))


def test_consul_health_face_answers_only_get_health_on_every_interface(health_face: Callable[[str], str]) -> None:
    with _canned_server(_reply(result=VALID_RESULT), "application/json") as (url, _):
        health = health_face(url)
        # 127.0.0.2 is loopback too, but reaches only a socket bound to every interface, as Consul's agent needs
        assert _get(health.replace("127.0.0.1", "127.0.0.2"))[0] == 200
        assert _get(health.replace("/health", "/metrics"))[0] == 404
        post = urllib.request.Request(health, method="POST", data=b"")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(post, timeout=20)
        assert refused.value.code == 404


def test_every_mcp_container_runs_this_exact_probe() -> None:
    for server in MCP_CATALOG.values():
        assert health_test(server) == ("CMD", "node", PROBE_PATH, "check", server.local_url)
        assert f"node {PROBE_PATH} serve {server.health_port} {server.local_url} &" in launch_script(server)


def test_probe_script_is_valid_javascript(probe_file: Path) -> None:
    subprocess.run(["node", "--check", str(probe_file)], check=True, capture_output=True, timeout=30)


def test_launch_scripts_are_valid_shell_and_bridge_stdio_servers_with_a_stateful_supergateway() -> None:
    for server in MCP_CATALOG.values():
        shell, flag, script = container_command(server)
        assert (shell, flag) == ("sh", "-c")
        # the image holds the packages: the container installs nothing when it starts
        assert script == serve_step(server)
        assert "npm" not in shlex.split(script)
        subprocess.run(["sh", "-n", "-c", script], check=True, timeout=10)
        words = shlex.split(serve_step(server).split(" && exec ", 1)[1])
        if server.transport == "stdio":
            assert words[0] == "supergateway"
            assert words[words.index("--stdio") + 1].split()[0] == server.bin
            assert words[words.index("--outputTransport") + 1] == "streamableHttp"
            assert "--stateful" in words
            assert words[words.index("--port") + 1] == str(server.port)
            assert words[words.index("--streamableHttpPath") + 1] == server.mcp_path
        else:
            assert words[0] == server.bin and "supergateway" not in script
            assert str(server.port) in words


def test_every_hand_listed_probe_mutant_applies_once_and_is_valid_javascript(tmp_path: Path) -> None:
    """`make mutate` runs this file against each; a mutant that no longer applies, or does not parse, would prove nothing."""
    for name, original, replacement in MUTANTS:
        path = tmp_path / f"{name}.mjs"
        path.write_text(mutate(PROBE_SCRIPT, original, replacement), encoding="utf-8")
        syntax = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True, timeout=30)
        assert syntax.returncode == 0, f"{name}: {syntax.stderr}"
