"""The healthchecks and rendered data-store configs, run for real on loopback.

The bash /dev/tcp probe (for images with neither curl nor wget) is executed by bash against real
HTTP servers; Redis's rendered config is loaded by a real redis-server and the healthcheck command
runs against it with exactly the environment the registered container gets (its REDISCLI_AUTH).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from components.catalog.services import CATALOG, Probe, bash_http_probe, http_probe
from components.offline.synth import Capture
from components.offline.types import CONTAINER
from components.render.datastores import rabbitmq_password_hash, render_rabbitmq_definitions, render_redis_conf
from tests.host_tools import require


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


@contextmanager
def running_redis(conf: str, directory: Path) -> Iterator[int]:
    """A real redis-server on a free loopback port, loading `conf` (the container's port, bind and dir moved to the test's)."""
    require("redis-server", "redis-cli")
    port = free_port()
    conf = conf.replace("port 6379", f"port {port}").replace("dir /data", f"dir {directory}").replace("bind * -::*", "bind 127.0.0.1")
    (directory / "redis.conf").write_text(conf)
    process = subprocess.Popen(["redis-server", str(directory / "redis.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path):
    password = "s3cret-from-pulumi-random"
    with running_redis(render_redis_conf(password), tmp_path) as port:
        yield port, password


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


def test_the_redis_container_gets_the_password_its_healthcheck_needs(plan: Capture, tmp_path: Path) -> None:
    """The container as registered: its uploaded redis.conf, its healthcheck and exactly its environment."""
    redis = plan.one(CONTAINER, "redis").plain
    (conf,) = [upload["content"] for upload in redis["uploads"] if upload["file"].endswith("/redis.conf")]
    kind, command = redis["healthcheck"]["tests"]
    assert kind == "CMD-SHELL"
    container_env = dict(env.split("=", 1) for env in redis.get("envs") or [])
    env = {"PATH": os.environ["PATH"], **container_env}
    with running_redis(conf, tmp_path) as port:
        on_test_port = command.replace("redis-cli", f"redis-cli -p {port}")
        healthcheck = subprocess.run(["sh", "-c", on_test_port], env=env, timeout=10, capture_output=True)
    assert healthcheck.returncode == 0, f"the redis healthcheck fails with the container's environment {sorted(container_env)}"


def test_rabbitmq_password_hash_is_salted_sha256_as_rabbitmq_checks_it():
    salt = bytes.fromhex("908d2f1a")
    decoded = base64.b64decode(rabbitmq_password_hash("pw", salt))
    assert decoded[:4] == salt
    assert decoded[4:] == hashlib.sha256(salt + b"pw").digest()
    assert "password_hash" in render_rabbitmq_definitions("mesh", "pw", salt, "mesh", admin_password="admin-pw")
    assert '"pw"' not in render_rabbitmq_definitions("mesh", "pw", salt, "mesh", admin_password="admin-pw")


@contextmanager
def http_server_at(path: str) -> Iterator[int]:
    """200 on `path`, 404 anywhere else: a probe that asks for another path fails."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == path else 404)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def run_exec_probe(probe: Probe) -> int:
    """Run a CMD (exec form) healthcheck as Docker does; `python` is this interpreter (images ship their own)."""
    kind, program, *args = probe.test
    assert kind == "CMD"
    argv = [sys.executable if program == "python" else program, *args]
    return subprocess.run(argv, timeout=20, capture_output=True).returncode


@pytest.mark.parametrize("tool", ["curl", "wget", "python", "bash"])
def test_each_http_probe_passes_only_on_a_200_at_its_own_path(tool):
    if tool in {"curl", "wget"}:
        require(tool)
    with http_server_at("/ready") as port:
        assert run_exec_probe(http_probe(tool, port, "/ready")) == 0
        assert run_exec_probe(http_probe(tool, port, "/other")) != 0
    assert run_exec_probe(http_probe(tool, free_port(), "/ready")) != 0


def test_http_probes_are_exactly_the_documented_commands_with_the_given_timing():
    url = "http://127.0.0.1:8080/ready"
    assert http_probe("curl", 8080, "/ready") == Probe(("CMD", "curl", "-fsS", "-o", "/dev/null", url), "curl")
    assert http_probe("wget", 8080, "/ready", retries=3) == Probe(
        ("CMD", "wget", "-q", "-T", "4", "-O", "/dev/null", url), "wget", retries=3
    )
    script = f"import sys,urllib.request; sys.exit(0 if urllib.request.urlopen({url!r}, timeout=4).status == 200 else 1)"
    assert http_probe("python", 8080, "/ready", interval_s=30) == Probe(("CMD", "python", "-c", script), "python", interval_s=30)
    assert http_probe("bash", 8080, "/ready") == Probe(("CMD", "bash", "-c", bash_http_probe(8080, "/ready")), "bash")
    with pytest.raises(ValueError, match=r"^redis-cli cannot make an HTTP probe$"):
        http_probe("redis-cli", 8080, "/ready")


@pytest.mark.parametrize("tool", ["curl", "wget", "bash", "python"])
def test_an_http_probe_keeps_the_timing_its_service_gives_whatever_the_tool(tool: str) -> None:
    # a slow starter's start period and retries must reach its healthcheck, or Docker marks it unhealthy while it boots
    probe = http_probe(tool, 8080, "/ready", interval_s=3, timeout_s=2, retries=9, start_period_s=120)  # type: ignore[arg-type]
    assert (probe.interval_s, probe.timeout_s, probe.retries, probe.start_period_s) == (3, 2, 9, 120)
    assert probe.tool == tool


def test_a_services_mesh_address_is_its_alias_and_main_port_unless_a_port_is_named() -> None:
    rabbitmq = CATALOG["rabbitmq"]
    assert rabbitmq.mesh_address() == f"rabbitmq:{rabbitmq.main_port.internal}"
    named = rabbitmq.ports[-1]
    assert rabbitmq.mesh_address(named.name) == f"rabbitmq:{named.internal}"


def test_asking_a_service_for_a_port_it_lacks_names_the_service_the_port_and_the_ports_it_has() -> None:
    rabbitmq = CATALOG["rabbitmq"]
    with pytest.raises(KeyError) as raised:
        rabbitmq.port("nope")
    names = ", ".join(port.name for port in rabbitmq.ports)
    assert raised.value.args == (f"rabbitmq has no port named 'nope' (ports: {names})",)
