"""The DinD orchestrator speaks TLS for real: the program's certificates (real keys, the program's parameters)
let a client in through the published port, anything else is refused, and nothing listens on 2375.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from components.offline.engine.replay import create_network, host_daemon
from components.offline.types import NETWORK
from tests.engine.conftest import ReplayedMesh

ORCHESTRATOR = "mcp-orchestrator"


def tls_port(mesh: ReplayedMesh) -> int:
    port = next(p for p in mesh.spec(ORCHESTRATOR).registration.plain["ports"] if int(p["internal"]) == 2376)
    assert port["ip"] == "127.0.0.1"
    return int(port["external"])


def uploaded(mesh: ReplayedMesh, path: str) -> bytes:
    """A file as the replay uploaded it into the orchestrator (the program's upload, real PEM substituted)."""
    return next(content for file, content, _ in mesh.spec(ORCHESTRATOR).uploads if file == path)


@pytest.fixture
def client_files(mesh: ReplayedMesh, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The stack's client material (what the nested docker.Provider is configured with), on disk for a TLS client."""
    # requests lets a machine-wide CA bundle override the client's own `verify` (psf/requests#3829)
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(variable, raising=False)
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        for name in ("ca.pem", "cert.pem", "key.pem"):
            (folder / name).write_bytes(uploaded(mesh, f"/certs/client/{name}"))
        yield folder


def tls_client(mesh: ReplayedMesh, ca: Path, cert: Path | None, key: Path | None) -> Any:
    tls = docker.tls.TLSConfig(client_cert=(str(cert), str(key)) if cert and key else None, ca_cert=str(ca), verify=str(ca))
    return docker.DockerClient(base_url=f"tcp://127.0.0.1:{tls_port(mesh)}", tls=tls, timeout=120)


def test_the_orchestrator_is_healthy_on_its_own_docker_info_over_tls(mesh: ReplayedMesh) -> None:
    state = mesh.client.api.inspect_container(mesh.spec(ORCHESTRATOR).name)["State"]
    assert state["Health"]["Status"] == "healthy"
    last = state["Health"]["Log"][-1]
    assert last["ExitCode"] == 0 and "Server Version" in last["Output"]


def test_the_stacks_client_certificate_starts_an_inner_container_through_the_published_port(mesh: ReplayedMesh, client_files: Path) -> None:
    inner = tls_client(mesh, client_files / "ca.pem", client_files / "cert.pem", client_files / "key.pem")
    assert inner.ping()
    # the program's inner network, created through the nested daemon as its provider would
    for network in mesh.capture.all(NETWORK):
        if not host_daemon(network):
            create_network(inner, network)
    redis_ref = mesh.images[mesh.spec("redis").image_ref]
    inner.images.load(b"".join(mesh.client.images.get(redis_ref).save(named=True)))
    inner_network = next(r.plain["name"] for r in mesh.capture.all(NETWORK) if not host_daemon(r))
    container = inner.containers.run(redis_ref, ["redis-server"], name="inner-probe", network=inner_network, detach=True)
    try:
        exit_code, output = container.exec_run(["redis-cli", "ping"])
        assert (exit_code, output.strip()) == (0, b"PONG")
    finally:
        container.remove(force=True)


def _refused(mesh: ReplayedMesh, context: ssl.SSLContext) -> None:
    with (
        socket.create_connection(("127.0.0.1", tls_port(mesh)), timeout=10) as raw,
        pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)),
        context.wrap_socket(raw, server_hostname="127.0.0.1") as wrapped,
    ):
        wrapped.sendall(b"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        # TLS 1.3 reports a missing or foreign client certificate on the first read
        if not wrapped.recv(1024):
            raise ConnectionResetError("closed without an answer")


def test_a_client_without_a_certificate_is_refused(mesh: ReplayedMesh, client_files: Path) -> None:
    context = ssl.create_default_context(cafile=str(client_files / "ca.pem"))
    _refused(mesh, context)


def test_a_client_certificate_from_another_ca_is_refused(mesh: ReplayedMesh, client_files: Path, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not the stack's CA")])
    now = datetime.datetime.now(datetime.UTC)
    foreign = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(foreign.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(cafile=str(client_files / "ca.pem"))
    context.load_cert_chain(str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))
    _refused(mesh, context)


def test_nothing_listens_on_2375(mesh: ReplayedMesh) -> None:
    """Read the orchestrator's own listening sockets: 2376 is there, the plaintext 2375 is not."""
    container = mesh.client.containers.get(mesh.spec(ORCHESTRATOR).name)
    exit_code, output = container.exec_run(["cat", "/proc/net/tcp", "/proc/net/tcp6"])
    assert exit_code == 0
    listening = {int(line.split()[1].rsplit(":", 1)[1], 16) for line in output.decode().splitlines()[1:] if line.split()[3:4] == ["0A"]}
    assert 2376 in listening
    assert 2375 not in listening
    assert all(int(port["internal"]) != 2375 for port in mesh.spec(ORCHESTRATOR).registration.plain["ports"])
