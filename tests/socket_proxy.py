"""The Docker socket proxy's catalog command as a host process runs it in tests: the container's privileges
(root with only CAP_SETGID and CAP_SETUID, no-new-privileges) and the paths of the test's own files."""

from __future__ import annotations

import http.client
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from components.catalog.names import DOCKER_SOCKET_PROXY
from components.catalog.services import CATALOG, DOCKER_SOCKET
from components.render.telemetry import render_docker_socket_proxy_cfg
from tests.loopback import free_port, wait_until

CONFIG_FILE = "/tmp/haproxy.cfg"
CONTAINER_PRIVILEGES = ("setpriv", "--no-new-privs", "--bounding-set", "-all,+setgid,+setuid", "--inh-caps", "-all")
"""The proxy container's privileges on this host: root, every capability dropped but the catalog's two, no-new-privileges."""


@dataclass(frozen=True)
class RunningProxy:
    port: int
    pid: int


def proxy_command(config_file: Path, socket_path: Path) -> list[str]:
    """The catalog's command under the container's privileges, unchanged but for where it writes the file (the
    container's tmpfs /tmp) and where the socket is."""
    replaced = (part.replace(CONFIG_FILE, str(config_file)) for part in CATALOG[DOCKER_SOCKET_PROXY].command)
    return [*CONTAINER_PRIVILEGES, *(part.replace(DOCKER_SOCKET, str(socket_path)) for part in replaced)]


@contextmanager
def host_proxy(socket_path: Path, workdir: Path) -> Iterator[RunningProxy]:
    """The catalog's command with the rendered config in front of `socket_path`, on a free loopback port, until it
    answers /_ping. HAProxy serves as uid 99, so the socket's directory is made passable (0711) while it runs."""
    directory = socket_path.parent
    directory_mode = directory.stat().st_mode
    directory.chmod(0o711)
    port = free_port()
    config = render_docker_socket_proxy_cfg(listen_port=port, socket_path=str(socket_path))
    log = workdir / "haproxy.log"
    with log.open("w") as output:
        command = proxy_command(workdir / "haproxy.cfg", socket_path)
        process = subprocess.Popen(command, env={**os.environ, "HAPROXY_CFG": config}, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: process.poll() is not None or pings(port), 15, "the proxy answers /_ping")
        assert process.poll() is None, log.read_text()
        yield RunningProxy(port, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)
        directory.chmod(directory_mode)


def pings(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/_ping")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()
