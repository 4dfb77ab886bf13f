"""How Kong 3.9 answers one request under a `KongConfig`, as far as routing and the auth plugins decide it.

Route choice follows the traditional_compatible router's priority (kong/router/transform.lua
`get_priority`: more matching fields first, then plain hosts, then the longest prefix path); the route's
plugins then run as Kong runs them (request-termination, then basic-auth/key-auth/jwt credentials, then
acl groups). An answer of 200 means the request reached the upstream. No Pulumi.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from components.render.kong import Consumer, KongConfig, Route


@dataclass(frozen=True)
class Answer:
    status: int
    route: str | None = None
    consumer: str | None = None


def _matches(route: Route, host: str, method: str, path: str) -> int | None:
    """The route's priority for this request, or None when it does not match."""
    if route.hosts is not None and host not in route.hosts:
        return None
    if route.methods is not None and method not in route.methods:
        return None
    longest = 0
    if route.paths is not None:
        matching = [p for p in route.paths if path == p or path.startswith(p.rstrip("/") + "/") or p == "/"]
        if not matching:
            return None
        longest = max(len(p) for p in matching)
    fields = sum(value is not None for value in (route.hosts, route.methods, route.paths))
    return (fields << 20) + ((route.hosts is not None) << 19) + longest


def _basic(consumers: tuple[Consumer, ...], authorization: str | None) -> Consumer | None:
    if not authorization or not authorization.startswith("Basic "):
        return None
    username, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
    for consumer in consumers:
        if any(c.username == username and c.password == password for c in consumer.basicauth_credentials):
            return consumer
    return None


def request(config: KongConfig, host: str, method: str, path: str, headers: dict[str, str] | None = None) -> Answer:
    headers = {key.lower(): value for key, value in (headers or {}).items()}
    ranked = [
        (priority, route)
        for service in config.services
        for route in service.routes
        if (priority := _matches(route, host, method, path)) is not None
    ]
    if not ranked:
        return Answer(404)
    route = max(ranked, key=lambda item: item[0])[1]
    plugins = {plugin.name: plugin.config for plugin in route.plugins}
    if "request-termination" in plugins:
        return Answer(int(plugins["request-termination"]["status_code"]), route.name)
    consumer: Consumer | None = None
    if "basic-auth" in plugins:
        consumer = _basic(config.consumers, headers.get("authorization"))
        if consumer is None:
            return Answer(401, route.name)
    if "key-auth" in plugins:
        names = plugins["key-auth"]["key_names"]
        key = next((headers[name.lower()] for name in names if name.lower() in headers), None)
        consumer = next((c for c in config.consumers if any(k.key == key for k in c.keyauth_credentials)), None)
        if consumer is None:
            return Answer(401, route.name)
    if "jwt" in plugins and not headers.get("authorization", "").startswith("Bearer "):
        return Answer(401, route.name)
    if "acl" in plugins:
        groups = {acl.group for acl in consumer.acls} if consumer else set()
        if not groups & set(plugins["acl"]["allow"]):
            return Answer(403, route.name, consumer.username if consumer else None)
    return Answer(200, route.name, consumer.username if consumer else None)
