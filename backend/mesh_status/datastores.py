"""Databases: a TCP connect to each, then, where the password is known, an authenticated exchange
(Redis `AUTH` + `PING`, a PostgreSQL login). An open port alone is reported as such, never as "authenticated"."""

from __future__ import annotations

import socket
import time

from mesh_status.model import Verdict
from mesh_status.observation import Observation
from mesh_status.postgres import LoginRejectedError, login
from mesh_status.targets import DatabaseTarget


def _resp_command(*parts: str) -> bytes:
    encoded = [part.encode() for part in parts]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded)


def _read_line(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("closed before a full reply")
        data += chunk
        if len(data) > 4096:
            raise ConnectionError("reply line too long")
    return data[:-2].decode(errors="replace")


def redis_auth(sock: socket.socket, target: DatabaseTarget) -> tuple[Verdict, str]:
    assert target.password is not None
    auth = ("AUTH", target.user, target.password) if target.user else ("AUTH", target.password)
    sock.sendall(_resp_command(*auth))
    reply = _read_line(sock)
    if not reply.startswith("+OK"):
        return Verdict.FAIL, f"AUTH rejected: {reply.lstrip('-')[:120]}"
    sock.sendall(_resp_command("PING"))
    reply = _read_line(sock)
    if reply != "+PONG":
        return Verdict.FAIL, f"PING after AUTH answered {reply[:120]!r}"
    return Verdict.PASS, "AUTH + PING answered PONG"


def check_database(target: DatabaseTarget, timeout_s: float) -> list[Observation]:
    start = time.perf_counter()
    try:
        sock = socket.create_connection((target.host, target.port), timeout=timeout_s)
    except OSError as error:
        reason = "timed out" if isinstance(error, TimeoutError) else (error.strerror or str(error))
        return [Observation(target.name, "tcp", Verdict.FAIL, f"{target.host}:{target.port} unreachable: {reason}")]
    observations = [
        Observation(
            target.name,
            "tcp",
            Verdict.PASS,
            f"{target.host}:{target.port} accepts connections ({(time.perf_counter() - start) * 1000:.1f} ms)",
        )
    ]
    with sock:
        sock.settimeout(timeout_s)
        if target.protocol == "redis" and target.password:
            try:
                verdict, detail = redis_auth(sock, target)
            except OSError as error:
                verdict, detail = Verdict.FAIL, f"no Redis reply: {error}"
            observations.append(Observation(target.name, "auth", verdict, detail))
        elif target.protocol == "postgres" and target.password:
            observations.append(_postgres_login(sock, target))
    return observations


def _postgres_login(sock: socket.socket, target: DatabaseTarget) -> Observation:
    user = target.user or "postgres"
    try:
        method = login(sock, user, target.password or "", target.database or user)
    except LoginRejectedError as error:
        return Observation(target.name, "auth", Verdict.FAIL, f"login as {user} rejected: {error}")
    except (OSError, ValueError, KeyError) as error:
        return Observation(target.name, "auth", Verdict.FAIL, f"no PostgreSQL login exchange: {error or type(error).__name__}")
    return Observation(target.name, "auth", Verdict.PASS, f"logged in as {user} ({method})")
