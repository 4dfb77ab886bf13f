"""The Docker socket proxy's rendered haproxy.cfg, run by a real HAProxy in front of a fake Docker socket.

Debian's `haproxy` (bookworm: 2.6.12) runs the catalog's own command (`sh -c` reading the socket's group, writing
`$HAPROXY_CFG` to a file, then `haproxy -db -f`) with the rendered config, under the container's privileges (root
with only CAP_SETGID and CAP_SETUID, no-new-privileges: `setpriv`), its socket path pointed at a unix-socket HTTP
server that records every request it receives; the socket is `root:<group> 0660`, as the daemon's is.
The image is `haproxy:3.4.3-alpine`: the directives used (`uid`, `gid`, `mode http`, `acl ... method`,
`path -m reg`, `http-request deny deny_status`, `server ... unix@`, the timeouts) mean the same in 2.6 and
3.4 (HAProxy's configuration.txt of both lines), so the version difference changes nothing tested here.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socketserver
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from components.catalog.names import DOCKER_SOCKET_PROXY
from components.catalog.services import DOCKER_SOCKET, DOCKER_SOCKET_PROXY_PORT
from components.offline.types import CONTAINER
from components.render.telemetry import DOCKER_SOCKET_GID_ENV, render_docker_socket_proxy_cfg
from tests.host_tools import needs
from tests.socket_proxy import RunningProxy, host_proxy

pytestmark = needs("haproxy")


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


SOCKET_GROUP = 2390
"""The fake socket's group: an id no user here has, so only a switch to the socket's group reaches it."""


@pytest.fixture(scope="module")
def proxy() -> Iterator[RunningProxy]:
    if os.geteuid() != 0:
        message = "the proxy starts as root and switches to uid 99: run this module as root"
        # .ci/run runs as root (it installs with apt-get): there, a non-root run is a broken setup, not a skip
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    # a directory uid 99 may pass through (pytest's own tmp root is 0700)
    workdir = Path(tempfile.mkdtemp(prefix="socket-proxy-"))
    workdir.chmod(0o711)
    socket_path = workdir / "docker.sock"
    daemon = UnixHTTPServer(str(socket_path), FakeDockerd)
    os.chown(socket_path, 0, SOCKET_GROUP)
    socket_path.chmod(0o660)
    threading.Thread(target=daemon.serve_forever, daemon=True).start()
    try:
        with host_proxy(socket_path, workdir) as proxy:
            yield proxy
    finally:
        daemon.shutdown()
        daemon.server_close()
        shutil.rmtree(workdir, ignore_errors=True)


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
    assert status(method, path, proxy.port) == 200
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
    assert status(method, path, proxy.port) == 403
    assert FakeDockerd.seen == []


def test_haproxy_serves_as_uid_99_with_only_the_sockets_group_and_no_capability(proxy):
    """No root process and no capability remain in the proxy: the fake socket answers only its group, so every
    read above proves the switch to it; the identity itself is read from the kernel."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{proxy.pid}/status").read_text().splitlines())
    assert fields["Uid"].split() == ["99"] * 4
    assert fields["Gid"].split() == [str(SOCKET_GROUP)] * 4
    assert fields["Groups"].split() == []
    assert int(fields["CapPrm"], 16) == int(fields["CapEff"], 16) == 0
    assert Path(f"/proc/{proxy.pid}/comm").read_text().strip() == "haproxy"


def test_the_config_passes_haproxys_own_check(tmp_path: Path):
    (tmp_path / "haproxy.cfg").write_text(render_docker_socket_proxy_cfg())
    environment = {**os.environ, DOCKER_SOCKET_GID_ENV: str(SOCKET_GROUP)}
    command = ["haproxy", "-c", "-f", str(tmp_path / "haproxy.cfg")]
    checked = subprocess.run(command, capture_output=True, text=True, timeout=30, env=environment)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_rendered_config_reaches_the_proxy_unchanged_and_it_listens_where_its_clients_dial(plan):
    proxy = plan.one(CONTAINER, DOCKER_SOCKET_PROXY)
    rendered = plan.rendered_files[f"{DOCKER_SOCKET_PROXY}/haproxy.cfg"]
    assert rendered == render_docker_socket_proxy_cfg()
    assert f"HAPROXY_CFG={rendered}" in proxy.plain["envs"]
    assert f"    bind :{DOCKER_SOCKET_PROXY_PORT}" in rendered.splitlines()
    assert f"    server dockerd unix@{DOCKER_SOCKET}" in rendered.splitlines()
    assert plan.one(CONTAINER, "cadvisor").plain["command"] == [f"--docker=tcp://{DOCKER_SOCKET_PROXY}:{DOCKER_SOCKET_PROXY_PORT}"]
