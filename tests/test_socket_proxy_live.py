"""The Docker socket proxy's rendered haproxy.cfg, run by a real HAProxy in front of a fake Docker socket.

Debian's `haproxy` (bookworm: 2.6.12) runs the catalog's own command (`sh -c` writing `$HAPROXY_CFG` to a file,
then `haproxy -W -db -f`) with the rendered config, its socket path pointed at a unix-socket HTTP server that
records every request it receives. The image is `haproxy:3.4.3-alpine`: the directives used (`mode http`, `acl ...
method`, `path -m reg`, `http-request deny deny_status`, `server ... unix@`, the timeouts) mean the same in 2.6
and 3.4 (HAProxy's configuration.txt of both lines), so the version difference changes nothing tested here.
"""

from __future__ import annotations

import http.client
import os
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from components.catalog.names import DOCKER_SOCKET_PROXY
from components.catalog.services import CATALOG, DOCKER_SOCKET, DOCKER_SOCKET_PROXY_PORT
from components.offline.types import CONTAINER
from components.render.telemetry import render_docker_socket_proxy_cfg
from tests.host_tools import needs
from tests.loopback import free_port, wait_until

pytestmark = needs("haproxy")

CONFIG_FILE = "/tmp/haproxy.cfg"


class FakeDockerd(BaseHTTPRequestHandler):
    """Answers every request 200 with a JSON body and records (method, path): what reached the daemon."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str]] = []

    def log_message(self, format: str, *args: Any) -> None:
        return

    def address_string(self) -> str:
        return "unix"

    def _answer(self) -> None:
        self.seen.append((self.command, self.path))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b"[]" if self.command != "HEAD" else b""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    workdir = tmp_path_factory.mktemp("socket-proxy")
    socket_path = workdir / "docker.sock"
    daemon = UnixHTTPServer(str(socket_path), FakeDockerd)
    threading.Thread(target=daemon.serve_forever, daemon=True).start()
    port = free_port()
    config = render_docker_socket_proxy_cfg(listen_port=port, socket_path=str(socket_path))
    # the catalog's command, unchanged but for where it writes the file (the container's tmpfs /tmp)
    command = [part.replace(CONFIG_FILE, str(workdir / "haproxy.cfg")) for part in CATALOG[DOCKER_SOCKET_PROXY].command]
    log = (workdir / "haproxy.log").open("w")
    process = subprocess.Popen(command, env={**os.environ, "HAPROXY_CFG": config}, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: status("HEAD", "/_ping", port) == 200 or process.poll() is not None, 15, "haproxy answers")
        assert process.poll() is None, (workdir / "haproxy.log").read_text()
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        daemon.shutdown()
        daemon.server_close()


def status(method: str, path: str, port: int) -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body=b"{}" if method in ("POST", "PUT") else None)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("HEAD", "/_ping"),
        ("GET", "/_ping"),
        ("GET", "/v1.41/version"),
        ("GET", "/v1.41/info"),
        ("GET", "/v1.41/containers/json?filters=%7B%7D"),
        ("GET", "/v1.41/networks"),
        ("GET", "/v1.41/containers/0123abcd/json"),
        ("GET", "/v1.51/containers/sutazai-postgres/logs?follow=1&stdout=1&stderr=1&timestamps=1&since=0"),
    ],
)
def test_the_reads_alloy_and_cadvisor_make_reach_the_daemon(proxy, method, path):
    FakeDockerd.seen.clear()
    assert status(method, path, proxy) == 200
    assert FakeDockerd.seen == [(method, path)]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1.41/containers/create"),
        ("POST", "/containers/create?name=evil"),
        ("DELETE", "/v1.41/containers/sutazai-postgres?force=1"),
        ("POST", "/v1.41/containers/sutazai-postgres/exec"),
        ("POST", "/v1.41/exec/0123abcd/start"),
        ("POST", "/v1.41/containers/sutazai-postgres/kill"),
        ("POST", "/v1.41/containers/sutazai-postgres/stop"),
        ("PUT", "/v1.41/containers/sutazai-postgres/archive?path=/"),
        ("POST", "/v1.41/containers/json"),
        ("POST", "/v1.41/images/create?fromImage=alpine"),
        ("GET", "/v1.41/containers/sutazai-postgres/archive?path=/var/lib/postgresql"),
        ("GET", "/v1.41/containers/sutazai-postgres/export"),
        ("GET", "/v1.41/containers/sutazai-postgres/attach/ws"),
        ("GET", "/v1.41/events"),
        ("GET", "/v1.41/secrets"),
        ("GET", "/v1.41/containers/../images/json"),
        ("GET", "/v1.41/containers/%2e%2e/exec/x/json"),
        ("GET", "/v1.41/containers/json/../create"),
        ("get", "/v1.41/containers/json"),
    ],
)
def test_everything_else_is_refused_by_the_proxy_and_never_reaches_the_daemon(proxy, method, path):
    FakeDockerd.seen.clear()
    assert status(method, path, proxy) == 403
    assert FakeDockerd.seen == []


def test_the_config_passes_haproxys_own_check(tmp_path: Path):
    (tmp_path / "haproxy.cfg").write_text(render_docker_socket_proxy_cfg())
    checked = subprocess.run(["haproxy", "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_rendered_config_reaches_the_proxy_unchanged_and_it_listens_where_its_clients_dial(plan):
    proxy = plan.one(CONTAINER, DOCKER_SOCKET_PROXY)
    rendered = plan.rendered_files[f"{DOCKER_SOCKET_PROXY}/haproxy.cfg"]
    assert rendered == render_docker_socket_proxy_cfg()
    assert f"HAPROXY_CFG={rendered}" in proxy.plain["envs"]
    assert f"    bind :{DOCKER_SOCKET_PROXY_PORT}" in rendered.splitlines()
    assert f"    server dockerd unix@{DOCKER_SOCKET}" in rendered.splitlines()
    assert plan.one(CONTAINER, "cadvisor").plain["command"] == [f"--docker=tcp://{DOCKER_SOCKET_PROXY}:{DOCKER_SOCKET_PROXY_PORT}"]
