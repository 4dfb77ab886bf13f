"""The healthchecks and rendered data-store configs, run for real on loopback.

The bash /dev/tcp probe (for images with neither curl nor wget) is executed by bash against real
HTTP servers; Redis's rendered config is loaded by a real redis-server and the healthcheck command
runs against it with the same REDISCLI_AUTH the container gets.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from components.catalog.services import CATALOG, bash_http_probe
from components.render.datastores import rabbitmq_password_hash, render_rabbitmq_definitions, render_redis_conf


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def http_server(status: int) -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def run_probe(script: str) -> int:
    return subprocess.run(["bash", "-c", script], timeout=10, capture_output=True).returncode


def test_bash_probe_passes_on_a_200_answer():
    with http_server(200) as port:
        assert run_probe(bash_http_probe(port, "/api/v2/heartbeat")) == 0


def test_bash_probe_fails_on_an_error_status():
    with http_server(503) as port:
        assert run_probe(bash_http_probe(port, "/readyz")) != 0


def test_bash_probe_fails_when_nothing_listens():
    assert run_probe(bash_http_probe(free_port(), "/readyz")) != 0


def test_images_without_curl_or_wget_are_probed_with_bash():
    for name in ("chromadb", "qdrant"):
        assert CATALOG[name].probe.tool == "bash"
        assert CATALOG[name].probe.test[:2] == ("CMD", "bash")


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (.ci/run installs Debian's redis-server)")
    port = free_port()
    password = "s3cret-from-pulumi-random"
    conf = render_redis_conf(password).replace("port 6379", f"port {port}").replace("dir /data", f"dir {tmp_path}")
    conf = conf.replace("bind * -::*", "bind 127.0.0.1")
    (tmp_path / "redis.conf").write_text(conf)
    process = subprocess.Popen(["redis-server", str(tmp_path / "redis.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port, password
    finally:
        process.terminate()
        process.wait(timeout=10)


def redis_healthcheck(port: int, auth: str | None) -> int:
    command = CATALOG["redis"].probe.test[1].replace("redis-cli", f"redis-cli -p {port}")
    env = {key: value for key, value in os.environ.items() if key != "REDISCLI_AUTH"}
    if auth is not None:
        env["REDISCLI_AUTH"] = auth
    return subprocess.run(["sh", "-c", command], env=env, timeout=10, capture_output=True).returncode


def test_rendered_redis_conf_requires_the_password_and_the_healthcheck_authenticates(redis_server):
    port, password = redis_server
    assert redis_healthcheck(port, password) == 0
    assert redis_healthcheck(port, None) != 0
    assert redis_healthcheck(port, "wrong") != 0


def test_rabbitmq_password_hash_is_salted_sha256_as_rabbitmq_checks_it():
    salt = bytes.fromhex("908d2f1a")
    decoded = base64.b64decode(rabbitmq_password_hash("pw", salt))
    assert decoded[:4] == salt
    assert decoded[4:] == hashlib.sha256(salt + b"pw").digest()
    assert "password_hash" in render_rabbitmq_definitions("mesh", "pw", salt, "mesh", admin_password="admin-pw")
    assert '"pw"' not in render_rabbitmq_definitions("mesh", "pw", salt, "mesh", admin_password="admin-pw")
