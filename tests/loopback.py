"""Real servers on loopback for the status tests: canned API answers, Prometheus, Redis, MCP.

Canned bodies follow the shapes in each API's documentation (cited where they are defined).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

FIXTURES = Path(__file__).parent / "fixtures"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} not within {timeout_s}s")


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, what: str, timeout_s: float = 20) -> None:
    """Poll a server's readiness URL until it answers 200; fail with the tail of its log if it dies or stalls."""
    started = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() - started > timeout_s:
            pytest.fail(f"{what} did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.1)


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


@dataclass
class Reply:
    body: Any
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class CannedApi:
    """An HTTP server answering `routes[(method, path)]` (path with its query, else without)."""

    def __init__(self, routes: dict[tuple[str, str], Reply]) -> None:
        self.routes = dict(routes)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.bodies: list[bytes] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                api.requests.append((self.command, self.path, dict(self.headers)))
                api.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                reply = api.routes.get((self.command, self.path)) or api.routes.get((self.command, self.path.split("?")[0]))
                if reply is None:
                    reply = Reply({"message": "Not found"}, 404)
                body = reply.body if isinstance(reply.body, bytes | str) else json.dumps(reply.body)
                data = body.encode() if isinstance(body, str) else body
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @contextlib.contextmanager
    def replaced(self, **changes: Reply) -> Iterator[None]:
        """Temporarily answer other bodies: `replaced(**{"GET /status": Reply(...)})`."""
        saved = dict(self.routes)
        for key, reply in changes.items():
            method, path = key.split(" ", 1)
            self.routes[(method, path)] = reply
        try:
            yield
        finally:
            self.routes = saved

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SilentServer:
    """Accepts TCP connections and never answers: the endpoint that would hang a careless client."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._hold, daemon=True)
        self.thread.start()

    def _hold(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self.sock.accept()
                self.held.append(connection)

    def close(self) -> None:
        self.sock.close()
        for connection in self.held:
            connection.close()


class Daemon:
    """A subprocess that must come up on `port` (see `wait_ready`) and is stopped on `close`."""

    def __init__(
        self, argv: list[str], port: int, timeout_s: float, user: str | None = None, ready: Callable[[int], bool] = port_open
    ) -> None:
        """`ready(port)` says when it serves; an open port by default (PostgreSQL accepts connections before logins)."""
        self.argv, self.port, self.timeout_s, self.ready = argv, port, timeout_s, ready
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the daemon; closed in close())
        self.process = subprocess.Popen(
            argv, stdout=self.log, stderr=subprocess.STDOUT, user=user, group=user, extra_groups=[] if user else None
        )

    def wait_ready(self) -> Daemon:
        try:
            wait_until(lambda: self.ready(self.port) or self.process.poll() is not None, self.timeout_s, f"{self.argv[0]} on {self.port}")
        except TimeoutError:
            self.close()
            raise
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.argv[0]} exited: {self.output()}")
        return self

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def start_redis(password: str) -> Daemon:
    port = free_port()
    argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--requirepass", password, "--save", "", "--appendonly", "no"]
    return Daemon(argv, port, timeout_s=15)


def start_postgres(workdir: Path, user: str, password: str) -> Daemon:
    """Debian's PostgreSQL in a temporary cluster with SCRAM passwords (as the `postgres` user when run as root)."""
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
    owner = "postgres" if os.geteuid() == 0 else None
    if owner:
        shutil.chown(workdir, owner, owner)
    (workdir / "pwfile").write_text(password)
    initdb = [
        str(bindir / "initdb"),
        "-D",
        str(workdir / "data"),
        "-U",
        user,
        "--pwfile",
        str(workdir / "pwfile"),
        "--auth",
        "scram-sha-256",
    ]
    done = subprocess.run(initdb, capture_output=True, text=True, timeout=120, user=owner, group=owner, extra_groups=[] if owner else None)
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
    port = free_port()
    argv = [
        str(bindir / "postgres"),
        "-D",
        str(workdir / "data"),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-k",
        str(workdir),
        "-c",
        "fsync=off",
    ]

    # the port opens while the server still answers "the database system is starting up"
    def accepts_logins(port: int) -> bool:
        return subprocess.run([str(bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)], timeout=10).returncode == 0

    return Daemon(argv, port, timeout_s=30, user=owner, ready=accepts_logins)


def start_mcp_servers() -> tuple[Daemon, int]:
    """The SSE-replying MCP server (the daemon, on its port) and the JSON-replying one's port."""
    sse_port, json_port = free_port(), free_port()
    return Daemon([sys.executable, str(FIXTURES / "mcp_server.py"), str(sse_port), str(json_port)], sse_port, timeout_s=40), json_port


def start_prometheus(workdir: Path, jobs: dict[str, list[str]]) -> Daemon:
    """Debian's Prometheus scraping `jobs` (job name -> host:port targets) every second."""
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "500ms"},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": targets}]} for job, targets in jobs.items()],
    }
    (workdir / "prometheus.yml").write_text(json.dumps(config))
    port = free_port()
    argv = [
        "prometheus",
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    return Daemon(argv, port, timeout_s=30)


class MetricsTarget:
    """A real prometheus_client exporter that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.registry = CollectorRegistry()
        Counter("mesh_test_requests", "requests seen by the test target", registry=self.registry).inc()
        self.server: Any = None
        self.start()

    def start(self) -> None:
        self.server, _ = start_http_server(self.port, addr="127.0.0.1", registry=self.registry)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


REDIS_PASSWORD = "loopback-redis-secret"


class LoopbackMesh:
    """A mesh's observable parts, all on 127.0.0.1: canned Consul/Kong/Grafana/Jaeger answers, a real
    Prometheus scraping a real exporter, a real Redis with a password, two real MCP servers (SSE and
    JSON replies) and a web server that is not MCP."""

    def __init__(self) -> None:
        from tests import api_answers

        self.workdir = Path(tempfile.mkdtemp(prefix="mesh-loopback-"))
        self.closers: list[Callable[[], None]] = [lambda: shutil.rmtree(self.workdir, ignore_errors=True)]
        try:
            self.consul = self._api(api_answers.consul_routes())
            self.kong = self._api(api_answers.kong_routes())
            self.grafana = self._api(api_answers.grafana_routes())
            self.jaeger = self._api(api_answers.jaeger_routes())
            self.not_mcp = self._api(api_answers.not_mcp_routes())
            self.metrics = MetricsTarget()
            self.closers.append(self.metrics.stop)
            mcp, self.mcp_json_port = start_mcp_servers()
            daemons = [start_prometheus(self.workdir, {"backend": [f"127.0.0.1:{self.metrics.port}"]}), start_redis(REDIS_PASSWORD), mcp]
            for daemon in daemons:
                self.closers.append(daemon.close)
            self.prometheus, self.redis, self.mcp = (daemon.wait_ready() for daemon in daemons)
            wait_until(lambda: port_open(self.mcp_json_port), 10, "the JSON-replying MCP server")
            self.wait_for_scrape("up")
        except BaseException:
            self.close()
            raise

    def _api(self, routes: dict[tuple[str, str], Reply]) -> CannedApi:
        api = CannedApi(routes)
        self.closers.append(api.close)
        return api

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus.port}"

    def scrape_state(self) -> tuple[str, str]:
        """The exporter's target as Prometheus last saw it: health and last error."""
        with urllib.request.urlopen(f"{self.prometheus_url}/api/v1/targets", timeout=2) as answer:
            targets = json.load(answer)["data"]["activeTargets"]
        return (str(targets[0]["health"]), str(targets[0]["lastError"])) if targets else ("none", "")

    def wait_for_scrape(self, health: str, error: str = "") -> None:
        def seen() -> bool:
            with contextlib.suppress(OSError, ValueError, KeyError):
                found_health, found_error = self.scrape_state()
                return found_health == health and error in found_error
            return False

        wait_until(seen, 30, f"Prometheus target {health} {error}".strip())

    def stack_outputs(self) -> dict[str, Any]:
        """What `pulumi stack output --json --show-secrets` would print for this mesh."""
        return {
            "services": ["backend", "consul", "redis"],
            "accessPoints": {
                "consul": self.consul.url,
                "kong.admin": self.kong.url,
                "kong.proxy": "http://127.0.0.1:1",
                "prometheus": self.prometheus_url,
                "grafana": self.grafana.url,
                "jaeger.ui": self.jaeger.url,
                "redis": f"redis://127.0.0.1:{self.redis.port}",
            },
            "connectionStrings": {"redis": f"redis://:{REDIS_PASSWORD}@redis:6379/0"},
            "consulToken": "loopback-consul-token",
            "mcpServers": {
                "mcp-memory": f"http://127.0.0.1:{self.mcp.port}/mcp",
                "mcp-docs": f"http://127.0.0.1:{self.mcp_json_port}",
            },
        }

    def close(self) -> None:
        for close in reversed(self.closers):
            with contextlib.suppress(Exception):
                close()
