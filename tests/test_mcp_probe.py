"""The MCP health probe is real: the exact script every MCP container runs passes against a real MCP server
(the `mcp` package on loopback, SSE and JSON replies) and fails against HTTP servers that are not MCP."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from components.catalog.mcp_servers import MCP_CATALOG, PROBE_PATH, container_command, health_test, launch_script, serve_step
from components.render.mcp_probe import PROBE_SCRIPT

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
    path.write_text(PROBE_SCRIPT, encoding="utf-8")
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


class _NotMcp(BaseHTTPRequestHandler):
    """Answers 200 to everything, like a bridge's static /healthz; `reply` is the body it sends."""

    reply = b'{"status": "ok"}'
    content_type = "application/json"

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("content-type", self.content_type)
        self.send_header("content-length", str(len(self.reply)))
        self.end_headers()
        self.wfile.write(self.reply)

    do_GET = do_POST = _answer  # noqa: N815 (http.server's handler names)

    def log_message(self, *args: object) -> None:
        pass


def _plain_server(reply: bytes, content_type: str) -> Iterator[str]:
    handler = type("Handler", (_NotMcp,), {"reply": reply, "content_type": content_type})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/mcp"
    server.shutdown()
    server.server_close()


NOT_MCP_REPLIES = {
    "static-ok-json": (b'{"status": "ok"}', "application/json"),
    "plain-text-ok": (b"ok", "text/plain"),
    "json-rpc-error": (b'{"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "Method not found"}}', "application/json"),
    "result-without-server-info": (b'{"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-06-18"}}', "application/json"),
    "sse-without-reply": (b"event: message\ndata: {}\n\n", "text/event-stream"),
}


@pytest.fixture(params=sorted(NOT_MCP_REPLIES))
def not_mcp_url(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _plain_server(*NOT_MCP_REPLIES[request.param])


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


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


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


def test_consul_health_face_is_critical_in_front_of_a_non_mcp_server(health_face: Callable[[str], str]) -> None:
    for url in _plain_server(*NOT_MCP_REPLIES["static-ok-json"]):
        status, body = _get(health_face(url))
        assert (status, body["status"]) == (503, "critical")


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
