"""A PostgreSQL login over the wire protocol (v3): startup, then cleartext, MD5 or SCRAM-SHA-256
authentication, verifying the server's SCRAM signature too. Proves the password works, not just the port.

Protocol: https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP
SCRAM: https://www.postgresql.org/docs/current/sasl-authentication.html (RFC 5802 / RFC 7677)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import socket
import struct

PROTOCOL_V3 = 196608
AUTH_OK, AUTH_CLEARTEXT, AUTH_MD5, AUTH_SASL, AUTH_SASL_CONTINUE, AUTH_SASL_FINAL = 0, 3, 5, 10, 11, 12


class LoginRejectedError(Exception):
    """The server answered as PostgreSQL and refused the login (the reason is its error message)."""


def _receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data


def _message(sock: socket.socket) -> tuple[bytes, bytes]:
    kind = _receive(sock, 1)
    (length,) = struct.unpack("!I", _receive(sock, 4))
    if not 4 <= length <= 1 << 20:
        raise ConnectionError(f"not a PostgreSQL message (length {length})")
    return kind, _receive(sock, length - 4)


def _send(sock: socket.socket, kind: bytes, payload: bytes) -> None:
    sock.sendall(kind + struct.pack("!I", len(payload) + 4) + payload)


def _error_text(payload: bytes) -> str:
    fields = {item[:1].decode(): item[1:].decode(errors="replace") for item in payload.split(b"\0") if item}
    return f"{fields.get('C', '?')} {fields.get('M', 'error')}"


def _scram(sock: socket.socket, user: str, password: str, mechanisms: list[str]) -> None:
    if "SCRAM-SHA-256" not in mechanisms:
        raise LoginRejectedError(f"no supported SASL mechanism in {mechanisms}")
    nonce = base64.b64encode(secrets.token_bytes(18)).decode()
    first_bare = f"n=,r={nonce}"
    first = ("n,," + first_bare).encode()
    _send(sock, b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first)
    kind, payload = _message(sock)
    if kind == b"E":
        raise LoginRejectedError(_error_text(payload))
    code, server_first = struct.unpack("!I", payload[:4])[0], payload[4:].decode()
    if code != AUTH_SASL_CONTINUE:
        raise ConnectionError(f"unexpected SASL step {code}")
    attributes = dict(part.split("=", 1) for part in server_first.split(","))
    if not attributes["r"].startswith(nonce):
        raise LoginRejectedError("the server's SCRAM nonce does not extend ours")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attributes["s"]), int(attributes["i"]))
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    final_bare = f"c=biws,r={attributes['r']}"
    auth_message = f"{first_bare},{server_first},{final_bare}".encode()
    signature = hmac.digest(hashlib.sha256(client_key).digest(), auth_message, "sha256")
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature, strict=True))).decode()
    _send(sock, b"p", f"{final_bare},p={proof}".encode())
    kind, payload = _message(sock)
    if kind == b"E":
        raise LoginRejectedError(_error_text(payload))
    code = struct.unpack("!I", payload[:4])[0]
    server_signature = hmac.digest(hmac.digest(salted, b"Server Key", "sha256"), auth_message, "sha256")
    if code != AUTH_SASL_FINAL or payload[4:].decode() != "v=" + base64.b64encode(server_signature).decode():
        raise LoginRejectedError("the server's SCRAM signature does not match: not the server that holds this password")


def login(sock: socket.socket, user: str, password: str, database: str) -> str:
    """Log in on a connected socket; returns how. Raises `LoginRejectedError` or `ConnectionError`."""
    params = b"".join(key.encode() + b"\0" + value.encode() + b"\0" for key, value in (("user", user), ("database", database)))
    payload = struct.pack("!I", PROTOCOL_V3) + params + b"\0"
    sock.sendall(struct.pack("!I", len(payload) + 4) + payload)
    method = "trust"
    while True:
        kind, payload = _message(sock)
        if kind == b"E":
            raise LoginRejectedError(_error_text(payload))
        if kind == b"Z":
            _send(sock, b"X", b"")
            return method
        if kind != b"R":
            continue
        code = struct.unpack("!I", payload[:4])[0]
        if code == AUTH_CLEARTEXT:
            method = "cleartext password"
            _send(sock, b"p", password.encode() + b"\0")
        elif code == AUTH_MD5:
            method = "MD5"  # what the server asked for; MD5 is the protocol's scheme, not our choice
            inner = hashlib.md5((password + user).encode()).hexdigest()
            _send(sock, b"p", b"md5" + hashlib.md5(inner.encode() + payload[4:8]).hexdigest().encode() + b"\0")
        elif code == AUTH_SASL:
            method = "SCRAM-SHA-256"
            _scram(sock, user, password, [m.decode() for m in payload[4:].split(b"\0") if m])
        elif code != AUTH_OK:
            raise LoginRejectedError(f"unsupported authentication request {code}")
