"""Replacement keeps data: write, delete the container, create it again from the same spec and volume, read back.

That is what `pulumi up` does when a container input changes (`delete_before_replace`, the named volume kept).
Writes go through the network with the program's generated credentials, so a wrong password fails here too.
"""

from __future__ import annotations

import base64
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from components.offline.engine.replay import replace_container
from components.offline.synth import reveal
from tests.engine.conftest import ReplayedMesh


def connection(mesh: ReplayedMesh, service: str) -> urllib.parse.SplitResult:
    return urllib.parse.urlsplit(str(reveal(mesh.capture.outputs)["connectionStrings"][service]))


def run_in(mesh: ReplayedMesh, service: str, command: list[str], environment: dict[str, str] | None = None) -> str:
    exit_code, output = mesh.client.containers.get(mesh.spec(service).name).exec_run(command, environment=environment)
    text = output.decode(errors="replace")
    assert exit_code == 0, f"{command[0]} in {service} exited {exit_code}: {text}"
    return str(text)


def replace(mesh: ReplayedMesh, service: str) -> str:
    spec = mesh.spec(service)
    before = mesh.client.containers.get(spec.name).id
    replace_container(mesh.client, spec, mesh.images[spec.image_ref])
    after = mesh.client.containers.get(spec.name).id
    assert after != before, "the container must really be a new one"
    return str(after)


def test_postgres_keeps_its_rows_across_a_replacement(mesh: ReplayedMesh) -> None:
    # the program's own connection string: the alias over the mesh network, the generated password (SCRAM);
    # the trusted local socket and 127.0.0.1 are not used
    dsn = connection(mesh, "postgres").geturl()
    run_in(
        mesh, "postgres", ["psql", dsn, "-v", "ON_ERROR_STOP=1", "-c", "CREATE TABLE kept (note text); INSERT INTO kept VALUES ('day 2')"]
    )
    replace(mesh, "postgres")
    assert "day 2" in run_in(mesh, "postgres", ["psql", dsn, "-tA", "-c", "SELECT note FROM kept"])


def test_redis_keeps_its_keys_across_a_replacement(mesh: ReplayedMesh) -> None:
    password = connection(mesh, "redis").password or ""
    auth = {"REDISCLI_AUTH": password}
    assert run_in(mesh, "redis", ["redis-cli", "SET", "kept", "day 2"], auth).strip() == "OK"
    replace(mesh, "redis")
    assert run_in(mesh, "redis", ["redis-cli", "GET", "kept"], auth).strip() == "day 2"


def _management(mesh: ReplayedMesh, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    # the application user has no management tag: the management API takes the stack's rabbitmqAdmin output
    admin = reveal(mesh.capture.outputs["rabbitmqAdmin"])
    port = next(p for p in mesh.spec("rabbitmq").registration.plain["ports"] if int(p["internal"]) == 15672)
    request = urllib.request.Request(
        f"http://{port['ip']}:{int(port['external'])}/api/{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={
            "content-type": "application/json",
            "authorization": "Basic " + base64.b64encode(f"{admin['user']}:{admin['password']}".encode()).decode(),
        },
    )
    with urllib.request.urlopen(request, timeout=15) as answer:
        text = answer.read().decode()
    return json.loads(text) if text else None


def test_a_healthy_rabbitmq_accepts_amqp_at_once(mesh: ReplayedMesh) -> None:
    """`healthy` must mean the broker answers: right after a (re)start turns healthy, the AMQP port accepts."""
    replace(mesh, "rabbitmq")
    port = next(p for p in mesh.spec("rabbitmq").registration.plain["ports"] if int(p["internal"]) == 5672)
    with socket.create_connection((port["ip"], int(port["external"])), timeout=5) as amqp:
        amqp.sendall(b"AMQP\x00\x00\x09\x01")
        assert amqp.recv(8)[:1] == b"\x01", "no connection.start frame from the broker"


def _rabbitmq_node_is_fixed(mesh: ReplayedMesh) -> bool:
    props = mesh.spec("rabbitmq").registration.plain
    return "hostname" in props or any(str(env).startswith("RABBITMQ_NODENAME=") for env in props.get("envs") or [])


def test_rabbitmq_keeps_a_durable_queue_and_its_message_across_a_replacement(mesh: ReplayedMesh, request: pytest.FixtureRequest) -> None:
    if not _rabbitmq_node_is_fixed(mesh):
        # the node's data dir is mnesia/rabbit@<hostname>: a new container id is a new, empty node (issue #13)
        request.applymarker(pytest.mark.xfail(strict=True, reason="no fixed hostname/RABBITMQ_NODENAME yet (#13)"))
    vhost = connection(mesh, "rabbitmq").path.lstrip("/")
    # the management administrator has no rights on the application's vhost (issue #15); this test writes through
    # the management API, so it lends them for the test, in the broker (the grant itself is data kept on the volume)
    admin = reveal(mesh.capture.outputs["rabbitmqAdmin"])["user"]
    run_in(mesh, "rabbitmq", ["rabbitmqctl", "set_permissions", "-p", vhost, admin, ".*", ".*", ".*"])
    _management(mesh, "PUT", f"queues/{vhost}/kept", {"durable": True})
    published = _management(
        mesh,
        "POST",
        f"exchanges/{vhost}/amq.default/publish",
        {"routing_key": "kept", "payload": "day 2", "payload_encoding": "string", "properties": {"delivery_mode": 2}},
    )
    assert published["routed"] is True
    replace(mesh, "rabbitmq")
    try:
        messages = _management(mesh, "POST", f"queues/{vhost}/kept/get", {"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto"})
    except urllib.error.HTTPError as error:
        pytest.fail(f"the queue is gone after the replacement: HTTP {error.code}")
    assert [message["payload"] for message in messages] == ["day 2"]


def _chromadb(mesh: ReplayedMesh, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    port = next(p for p in mesh.spec("chromadb").registration.plain["ports"] if int(p["internal"]) == 8000)
    request = urllib.request.Request(
        f"http://{port['ip']}:{int(port['external'])}/api/v2/tenants/default_tenant/databases/default_database/{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read().decode() or "null")


def test_chromadb_keeps_a_collection_and_its_records_across_a_replacement(mesh: ReplayedMesh) -> None:
    """The stand-in's ChromaDB persists to the program's /data volume (persist_path in the image's /config.yaml)."""
    collection = _chromadb(mesh, "POST", "collections", {"name": "kept"})["id"]
    _chromadb(mesh, "POST", f"collections/{collection}/add", {"ids": ["day-2"], "embeddings": [[0.1, 0.2, 0.3]], "documents": ["day 2"]})
    replace(mesh, "chromadb")
    kept = _chromadb(mesh, "GET", "collections/kept")
    assert kept["id"] == collection
    records = _chromadb(mesh, "POST", f"collections/{collection}/get", {"ids": ["day-2"], "include": ["documents"]})
    assert records["documents"] == ["day 2"]
