"""The Docker socket proxy's catalog command as a host process runs it in tests: the container's privileges
(root with only CAP_SETGID and CAP_SETUID, no-new-privileges) and the paths of the test's own files."""

from __future__ import annotations

from pathlib import Path

from components.catalog.names import DOCKER_SOCKET_PROXY
from components.catalog.services import CATALOG, DOCKER_SOCKET

CONFIG_FILE = "/tmp/haproxy.cfg"
CONTAINER_PRIVILEGES = ("setpriv", "--no-new-privs", "--bounding-set", "-all,+setgid,+setuid", "--inh-caps", "-all")
"""The proxy container's privileges on this host: root, every capability dropped but the catalog's two, no-new-privileges."""


def proxy_command(config_file: Path, socket_path: Path) -> list[str]:
    """The catalog's command under the container's privileges, unchanged but for where it writes the file (the
    container's tmpfs /tmp) and where the socket is."""
    replaced = (part.replace(CONFIG_FILE, str(config_file)) for part in CATALOG[DOCKER_SOCKET_PROXY].command)
    return [*CONTAINER_PRIVILEGES, *(part.replace(DOCKER_SOCKET, str(socket_path)) for part in replaced)]
