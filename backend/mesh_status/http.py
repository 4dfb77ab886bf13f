"""Bounded HTTP: every request has a connect and a read timeout, and connection failures are
retried a fixed number of times. Proxies from the environment are ignored (the mesh is local)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests


@dataclass(frozen=True)
class Limits:
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 5.0
    retries: int = 1
    """Extra attempts after a connection failure or timeout (never after an HTTP answer)."""
    backoff_s: float = 0.2

    @property
    def worst_case_s(self) -> float:
        """The longest one request can take, retries included."""
        return (self.retries + 1) * (self.connect_timeout_s + self.read_timeout_s) + self.retries * self.backoff_s


class UnreachableError(Exception):
    """No HTTP answer at all: refused, timed out, reset, DNS."""


def new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def request(
    session: requests.Session,
    method: str,
    url: str,
    limits: Limits,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> requests.Response:
    """One request, retried on connection errors only. Raises `UnreachableError` with the last reason."""
    reason = ""
    for attempt in range(limits.retries + 1):
        if attempt:
            time.sleep(limits.backoff_s)
        try:
            return session.request(
                method,
                url,
                headers=dict(headers or {}),
                data=body,
                timeout=(limits.connect_timeout_s, limits.read_timeout_s),
                allow_redirects=False,
            )
        except requests.Timeout:
            reason = f"no answer within {limits.connect_timeout_s + limits.read_timeout_s:g}s"
        except requests.ConnectionError as error:
            reason = _connection_reason(error)
    raise UnreachableError(f"{url} unreachable after {limits.retries + 1} attempt(s): {reason}")


def _connection_reason(error: requests.ConnectionError) -> str:
    text = str(error)
    for marker, reason in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "name does not resolve"),
        ("Temporary failure in name resolution", "name does not resolve"),
        ("Connection reset", "connection reset"),
        ("RemoteDisconnected", "closed without an answer"),
    ):
        if marker in text:
            return reason
    return text.splitlines()[0][:200] if text else type(error).__name__


class BadAnswerError(Exception):
    """An HTTP answer that is not what the API documents (status or body)."""


def get_json(
    session: requests.Session, url: str, limits: Limits, headers: Mapping[str, str] | None = None
) -> tuple[Any, requests.Response]:
    """GET a JSON document; a non-2xx status or a non-JSON body is a `BadAnswerError`."""
    response = request(session, "GET", url, limits, headers=headers)
    if not 200 <= response.status_code < 300:
        raise BadAnswerError(f"{url} answered HTTP {response.status_code}{_snippet(response.text)}")
    try:
        return response.json(), response
    except (ValueError, json.JSONDecodeError):
        raise BadAnswerError(f"{url} answered HTTP {response.status_code} but not JSON{_snippet(response.text)}") from None


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return f": {text[:120]}" if text else ""
