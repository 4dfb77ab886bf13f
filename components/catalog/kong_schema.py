"""Kong 3.9.1's own schemas for what this stack writes to kong.yml, as data, and the checks they imply.

Each entity and plugin below is transcribed from the Kong source file it cites (tag 3.9.1 of
github.com/Kong/kong): field names, types, `one_of`, ranges, required fields and the entity checks that
apply to the values a declarative file can hold. `schema_errors` walks a parsed kong.yml the way Kong's
declarative loader does (nested entities under their parent, unknown fields refused) and returns every
violation; Kong refuses the whole file at start on any one of them. The validators (`router_path_error`,
`header_name_error`...) are ports of Kong's Lua and are shared with the config model, so `mesh:gateway`
refuses what Kong would. Pure: no Pulumi.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

KONG_SOURCE = "https://github.com/Kong/kong/blob/3.9.1/"

# --- validators: ports of Kong's Lua (each names its source) ---

# kong/db/schema/typedefs.lua validate_path: RFC 3986 unreserved, sub-delims, ':', '@', '/', '%'
_RFC3986_PATH = re.compile(r"^/[A-Za-z0-9._~/%:@!$&'()*+,;=-]*$")
# kong/tools/uri.lua: reserved characters stay percent-encoded, every other triplet is decoded
_URI_RESERVED = set("!*'();:@&=+$,/?%#[]")


def kong_normalize(uri: str) -> str:
    """kong/tools/uri.lua `normalize(uri, true)`: decode unreserved triplets, remove dot segments, merge slashes."""
    if uri in ("", "/"):
        return uri
    if "%" in uri:

        def decode(match: re.Match[str]) -> str:
            char = chr(int(match.group(1), 16))
            return match.group(0).upper() if char in _URI_RESERVED else char

        uri = re.sub(r"%([0-9A-Fa-f]{2})", decode, uri)
    output: list[str] = []
    while uri:
        if uri == "/.":
            uri = "/"
        elif uri == "/..":
            uri = "/"
            if output:
                output.pop()
        elif uri in (".", ".."):
            uri = ""
        elif uri.startswith("../"):
            uri = uri[3:]
        elif uri.startswith("./") or uri.startswith("/./"):
            uri = uri[2:]
        elif uri.startswith("/../"):
            uri = uri[3:]
            if output:
                output.pop()
        elif uri.startswith("//"):
            uri = uri[1:]
        else:
            cut = uri.find("/", 1)
            output.append(uri if cut < 0 else uri[:cut])
            uri = "" if cut < 0 else uri[cut:]
    return "".join(output)


def path_error(path: str) -> str | None:
    """kong/db/schema/typedefs.lua `typedefs.path` (starts_with "/", no "//", validate_path)."""
    if not path.startswith("/"):
        return f"invalid path {path!r}: it must start with '/'"
    if "//" in path:
        return f"invalid path {path!r}: must not have empty segments"
    if not _RFC3986_PATH.match(path):
        return f"invalid path {path!r}: characters outside of the reserved list of RFC 3986 found"
    if "%" in re.sub(r"%[0-9A-Fa-f]{2}", "___", path):
        return f"invalid path {path!r}: invalid url-encoded value"
    return None


def router_path_error(path: str) -> str | None:
    """kong/db/schema/typedefs.lua `typedefs.router_path` for a prefix (non-regex) path: also normalized."""
    if path.startswith("~/"):
        return f"{path!r} is a regex path; this stack routes by prefix only"
    error = path_error(path)
    if error:
        return error
    normalized = kong_normalize(path)
    if normalized != path:
        return f"non-normalized path {path!r}, consider using {normalized!r} instead"
    return None


def header_name_error(name: str) -> str | None:
    """kong/tools/http.lua `validate_header_name`."""
    if not re.fullmatch(r"[a-zA-Z0-9_-]+", name):
        return f"bad header name {name!r}, allowed characters are A-Z, a-z, 0-9, '_', and '-'"
    return None


def name_error(name: str) -> str | None:
    """kong/db/schema/typedefs.lua `validate_utf8_name`: printable, no control characters."""
    if not name or any(ord(char) < 32 or ord(char) == 127 for char in name):
        return f"invalid name {name!r}"
    return None


_LABEL = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")


def host_error(host: str) -> str | None:
    """kong/tools/ip.lua `normalize_ip` as typedefs.host uses it: a name or an IP, no port."""
    if ":" in host and not host.startswith("["):
        return f"invalid host {host!r}: must not have a port"
    if not _HOSTNAME.match(host):
        return f"invalid host {host!r}"
    return None


def target_error(target: str) -> str | None:
    """kong/db/schema/entities/targets.lua `validate_target`: a host with an optional port."""
    host, _, port = target.rpartition(":") if ":" in target else (target, "", "")
    if port and not (port.isdigit() and 0 < int(port) <= 65535):
        return f"invalid target {target!r}: invalid port number"
    return host_error(host)


def upstream_name_error(name: str) -> str | None:
    """kong/db/schema/entities/upstreams.lua `validate_name`: a hostname, no IP, no port."""
    if re.fullmatch(r"[0-9.]+", name) or ":" in name:
        return f"invalid name {name!r}; no ip addresses or ports allowed"
    return host_error(name)


def http_method_error(method: str) -> str | None:
    """kong/db/schema/typedefs.lua `typedefs.http_method`: match "^%u+$"."""
    return None if re.fullmatch(r"[A-Z]+", method) else f"invalid method {method!r}"


def url_error(url: str) -> str | None:
    """kong/db/schema/typedefs.lua `validate_url`: a scheme and a host."""
    return None if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#\s]+", url) else f"invalid url {url!r}"


def cors_origin_error(origin: str) -> str | None:
    """kong/plugins/cors/schema.lua: "*" or a valid regex (the handler treats [^A-Za-z0-9.:/-] as regex)."""
    if origin == "*":
        return None
    try:
        re.compile(origin)
    except re.error as error:
        return f"{origin!r} is not a valid regex ({error})"
    return None


VALIDATORS: dict[str, Callable[[str], str | None]] = {
    "path": path_error,
    "router_path": router_path_error,
    "header_name": header_name_error,
    "name": name_error,
    "host": host_error,
    "target": target_error,
    "upstream_name": upstream_name_error,
    "http_method": http_method_error,
    "url": url_error,
    "cors_origin": cors_origin_error,
}


# --- the schema language: a subset of kong/db/schema/init.lua's field attributes ---


@dataclass(frozen=True)
class Field:
    type: str
    """string, integer, number, boolean, array, set, map, record."""
    required: bool = False
    one_of: tuple[Any, ...] = ()
    between: tuple[float, float] | None = None
    gt: float | None = None
    len_min: int | None = None
    elements: Field | None = None
    fields: Mapping[str, Field] | None = None
    values: Field | None = None
    validator: str | None = None
    """A key of VALIDATORS."""


@dataclass(frozen=True)
class Entity:
    source: str
    """The Kong file the fields come from (relative to KONG_SOURCE)."""
    fields: Mapping[str, Field]
    nested: Mapping[str, str] = field(default_factory=dict)
    """Declarative nesting: key -> entity name (kong/db/schema/others/declarative_config.lua)."""
    at_least_one_of: tuple[tuple[str, ...], ...] = ()
    only_one_of: tuple[tuple[str, ...], ...] = ()
    unique: tuple[str, ...] = ()
    requires: tuple[tuple[str, Any, str], ...] = ()
    """Conditional entity checks: (field, value, field that value requires)."""


def _f(kind: str, **attributes: Any) -> Field:
    return Field(kind, **attributes)


STRING, BOOLEAN, INTEGER, NUMBER = _f("string"), _f("boolean"), _f("integer"), _f("number")
STRINGS = _f("array", elements=STRING)
TAGS = _f("set", elements=STRING)
PORT = _f("integer", between=(0, 65535))  # typedefs.port
NONZERO_TIMEOUT = _f("integer", between=(1, 2**31 - 2))  # services.lua nonzero_timeout
TIMEOUT = _f("integer", between=(0, 2**31 - 2))  # typedefs.timeout
PROTOCOLS = ("grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss")  # kong/constants.lua
HTTP_PROTOCOLS = ("grpc", "grpcs", "http", "https", "ws", "wss")
PLUGIN_PROTOCOLS = _f("set", elements=_f("string", one_of=PROTOCOLS))
PLUGIN_HTTP_PROTOCOLS = _f("set", elements=_f("string", one_of=HTTP_PROTOCOLS))

# kong/db/schema/entities/upstreams.lua
_HASH_ON = _f("string", one_of=("none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture"))
_STATUSES = _f("array", elements=_f("integer", between=(100, 999)))
_SECONDS = _f("number", between=(0, 65535))
_ONE_BYTE = _f("integer", between=(0, 255))
_CHECK_TYPE = _f("string", one_of=("tcp", "http", "https", "grpc", "grpcs"))
_ACTIVE = _f(
    "record",
    fields={
        "type": _CHECK_TYPE,
        "timeout": _SECONDS,
        "concurrency": _f("integer", between=(1, 2**31)),
        "http_path": _f("string", validator="path"),
        "https_sni": STRING,
        "https_verify_certificate": BOOLEAN,
        "headers": _f("map", values=STRINGS),
        "healthy": _f("record", fields={"interval": _SECONDS, "http_statuses": _STATUSES, "successes": _ONE_BYTE}),
        "unhealthy": _f(
            "record",
            fields={
                "interval": _SECONDS,
                "http_statuses": _STATUSES,
                "tcp_failures": _ONE_BYTE,
                "timeouts": _ONE_BYTE,
                "http_failures": _ONE_BYTE,
            },
        ),
    },
)
_PASSIVE = _f(
    "record",
    fields={
        "type": _CHECK_TYPE,
        "healthy": _f("record", fields={"http_statuses": _STATUSES, "successes": _ONE_BYTE}),
        "unhealthy": _f(
            "record", fields={"http_statuses": _STATUSES, "tcp_failures": _ONE_BYTE, "timeouts": _ONE_BYTE, "http_failures": _ONE_BYTE}
        ),
    },
)

_PLUGIN_ENTITY = {
    "name": _f("string", required=True),
    "instance_name": _f("string", validator="name"),
    "config": _f("record"),
    "protocols": PLUGIN_PROTOCOLS,
    "enabled": BOOLEAN,
    "tags": TAGS,
}

ENTITIES: dict[str, Entity] = {
    "services": Entity(
        "kong/db/schema/entities/services.lua",
        {
            "name": _f("string", validator="name"),
            "retries": _f("integer", between=(0, 32767)),
            "protocol": _f("string", one_of=PROTOCOLS),
            "host": _f("string", required=True, validator="host"),
            "port": PORT,
            "path": _f("string", validator="path"),
            "connect_timeout": NONZERO_TIMEOUT,
            "write_timeout": NONZERO_TIMEOUT,
            "read_timeout": NONZERO_TIMEOUT,
            "tags": TAGS,
            "tls_verify": BOOLEAN,
            "tls_verify_depth": _f("integer", between=(0, 64)),
            "enabled": BOOLEAN,
        },
        nested={"routes": "routes", "plugins": "plugins"},
        unique=("name",),
    ),
    "routes": Entity(
        "kong/db/schema/entities/routes.lua",
        {
            "name": _f("string", validator="name"),
            "protocols": _f("set", len_min=1, elements=_f("string", one_of=PROTOCOLS)),
            "https_redirect_status_code": _f("integer", one_of=(426, 301, 302, 307, 308)),
            "strip_path": BOOLEAN,
            "preserve_host": BOOLEAN,
            "request_buffering": BOOLEAN,
            "response_buffering": BOOLEAN,
            "tags": TAGS,
            "methods": _f("set", elements=_f("string", validator="http_method")),
            "hosts": _f("array", elements=_f("string", validator="host")),
            "paths": _f("array", elements=_f("string", validator="router_path")),
            "headers": _f("map", values=STRINGS),
            "regex_priority": INTEGER,
            "path_handling": _f("string", one_of=("v0", "v1")),
        },
        nested={"plugins": "plugins"},
        # routes_subschemas.lua: an http(s) route must match on something
        at_least_one_of=(("methods", "hosts", "headers", "paths"),),
        unique=("name",),
    ),
    "upstreams": Entity(
        "kong/db/schema/entities/upstreams.lua",
        {
            "name": _f("string", required=True, validator="upstream_name"),
            "algorithm": _f("string", one_of=("consistent-hashing", "least-connections", "round-robin", "latency")),
            "hash_on": _HASH_ON,
            "hash_fallback": _HASH_ON,
            "hash_on_header": _f("string", validator="header_name"),
            "hash_fallback_header": _f("string", validator="header_name"),
            "hash_on_cookie": STRING,
            "hash_on_cookie_path": _f("string", validator="path"),
            "hash_on_query_arg": _f("string", len_min=1),
            "hash_fallback_query_arg": _f("string", len_min=1),
            "hash_on_uri_capture": _f("string", len_min=1),
            "hash_fallback_uri_capture": _f("string", len_min=1),
            "slots": _f("integer", between=(10, 2**16)),
            "healthchecks": _f("record", fields={"active": _ACTIVE, "passive": _PASSIVE, "threshold": _f("number", between=(0, 100))}),
            "tags": TAGS,
            "use_srv_name": BOOLEAN,
        },
        nested={"targets": "targets"},
        unique=("name",),
        requires=(
            ("hash_on", "header", "hash_on_header"),
            ("hash_fallback", "header", "hash_fallback_header"),
            ("hash_on", "cookie", "hash_on_cookie"),
            ("hash_on", "query_arg", "hash_on_query_arg"),
            ("hash_on", "uri_capture", "hash_on_uri_capture"),
        ),
    ),
    "targets": Entity(
        "kong/db/schema/entities/targets.lua",
        {"target": _f("string", required=True, validator="target"), "weight": _f("integer", between=(0, 65535)), "tags": TAGS},
        unique=("target",),
    ),
    "consumers": Entity(
        "kong/db/schema/entities/consumers.lua",
        {"username": STRING, "custom_id": STRING, "tags": TAGS},
        nested={
            "plugins": "plugins",
            "jwt_secrets": "jwt_secrets",
            "keyauth_credentials": "keyauth_credentials",
            "basicauth_credentials": "basicauth_credentials",
            "acls": "acls",
        },
        at_least_one_of=(("custom_id", "username"),),
        unique=("username",),
    ),
    "plugins": Entity("kong/db/schema/entities/plugins.lua", _PLUGIN_ENTITY),
    "jwt_secrets": Entity(
        "kong/plugins/jwt/daos.lua",
        {
            "key": STRING,
            "secret": STRING,
            "rsa_public_key": STRING,
            "algorithm": _f(
                "string",
                one_of=(
                    "HS256",
                    "HS384",
                    "HS512",
                    "RS256",
                    "RS384",
                    "RS512",
                    "ES256",
                    "ES384",
                    "ES512",
                    "PS256",
                    "PS384",
                    "PS512",
                    "EdDSA",
                ),
            ),
            "tags": TAGS,
        },
    ),
    "keyauth_credentials": Entity("kong/plugins/key-auth/daos.lua", {"key": STRING, "ttl": INTEGER, "tags": TAGS}),
    "basicauth_credentials": Entity(
        "kong/plugins/basic-auth/daos.lua", {"username": _f("string", required=True), "password": _f("string", required=True), "tags": TAGS}
    ),
    "acls": Entity("kong/plugins/acl/daos.lua", {"group": _f("string", required=True), "tags": TAGS}),
}


@dataclass(frozen=True)
class PluginSchema:
    source: str
    config: Mapping[str, Field]
    protocols: Field = PLUGIN_HTTP_PROTOCOLS
    at_least_one_of: tuple[tuple[str, ...], ...] = ()
    only_one_of: tuple[tuple[str, ...], ...] = ()


_CORS_METHODS = ("GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT")
_PERIODS = ("second", "minute", "hour", "day", "month", "year")

PLUGINS: dict[str, PluginSchema] = {
    "jwt": PluginSchema(
        "kong/plugins/jwt/schema.lua",
        {
            "uri_param_names": _f("set", elements=STRING),
            "cookie_names": _f("set", elements=STRING),
            "key_claim_name": STRING,
            "secret_is_base64": BOOLEAN,
            "claims_to_verify": _f("set", elements=_f("string", one_of=("exp", "nbf"))),
            "anonymous": STRING,
            "run_on_preflight": BOOLEAN,
            "maximum_expiration": _f("number", between=(0, 31536000)),
            "header_names": _f("set", elements=STRING),
            "realm": STRING,
        },
    ),
    "key-auth": PluginSchema(
        "kong/plugins/key-auth/schema.lua",
        {
            "key_names": _f("array", required=True, elements=_f("string", validator="header_name")),
            "hide_credentials": BOOLEAN,
            "anonymous": STRING,
            "key_in_header": BOOLEAN,
            "key_in_query": BOOLEAN,
            "key_in_body": BOOLEAN,
            "run_on_preflight": BOOLEAN,
            "realm": STRING,
        },
    ),
    "basic-auth": PluginSchema("kong/plugins/basic-auth/schema.lua", {"anonymous": STRING, "hide_credentials": BOOLEAN, "realm": STRING}),
    "acl": PluginSchema(
        "kong/plugins/acl/schema.lua",
        {"allow": STRINGS, "deny": STRINGS, "hide_groups_header": BOOLEAN, "always_use_authenticated_groups": BOOLEAN},
        at_least_one_of=(("allow", "deny"),),
        only_one_of=(("allow", "deny"),),
    ),
    "request-termination": PluginSchema(
        "kong/plugins/request-termination/schema.lua",
        {
            "status_code": _f("integer", between=(100, 599)),
            "message": STRING,
            "content_type": STRING,
            "body": STRING,
            "echo": BOOLEAN,
            "trigger": _f("string", validator="header_name"),
        },
    ),
    "cors": PluginSchema(
        "kong/plugins/cors/schema.lua",
        {
            "origins": _f("array", elements=_f("string", validator="cors_origin")),
            "headers": STRINGS,
            "exposed_headers": STRINGS,
            "methods": _f("array", elements=_f("string", one_of=_CORS_METHODS)),
            "max_age": NUMBER,
            "credentials": BOOLEAN,
            "private_network": BOOLEAN,
            "preflight_continue": BOOLEAN,
        },
    ),
    "rate-limiting": PluginSchema(
        "kong/plugins/rate-limiting/schema.lua",
        {
            **{period: _f("number", gt=0) for period in _PERIODS},
            "limit_by": _f("string", one_of=("consumer", "credential", "ip", "service", "header", "path")),
            "header_name": _f("string", validator="header_name"),
            "path": _f("string", validator="path"),
            # DB-less: no "cluster" policy
            "policy": _f("string", one_of=("local", "redis")),
            "fault_tolerant": BOOLEAN,
            "hide_client_headers": BOOLEAN,
            "error_code": _f("number", gt=0),
            "error_message": STRING,
            "sync_rate": NUMBER,
        },
        at_least_one_of=(_PERIODS,),
    ),
    "prometheus": PluginSchema(
        "kong/plugins/prometheus/schema.lua",
        {
            name: BOOLEAN
            for name in (
                "per_consumer",
                "status_code_metrics",
                "ai_metrics",
                "latency_metrics",
                "bandwidth_metrics",
                "upstream_health_metrics",
            )
        },
        protocols=PLUGIN_PROTOCOLS,
    ),
    "opentelemetry": PluginSchema(
        "kong/plugins/opentelemetry/schema.lua",
        {
            "traces_endpoint": _f("string", validator="url"),
            "logs_endpoint": _f("string", validator="url"),
            "headers": _f("map", values=STRING),
            "resource_attributes": _f("map", values=_f("string", len_min=1)),
            "connect_timeout": TIMEOUT,
            "send_timeout": TIMEOUT,
            "read_timeout": TIMEOUT,
            "http_response_header_for_traceid": STRING,
            "sampling_rate": _f("number", between=(0, 1)),
        },
        at_least_one_of=(("traces_endpoint", "logs_endpoint"),),
    ),
}

# kong/db/schema/others/declarative_config.lua
FORMAT_VERSIONS = ("1.1", "2.1", "3.0")
TOP_LEVEL = {"services": "services", "routes": "routes", "upstreams": "upstreams", "consumers": "consumers", "plugins": "plugins"}


# --- the checker ---

_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "number": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
    "array": lambda value: isinstance(value, list),
    "set": lambda value: isinstance(value, list),
    "map": lambda value: isinstance(value, dict),
    "record": lambda value: isinstance(value, dict),
}


def _field_errors(where: str, spec: Field, value: Any) -> list[str]:
    if not _TYPES[spec.type](value):
        return [f"{where}: expected a {spec.type}, got {value!r}"]
    errors: list[str] = []
    if spec.one_of and value not in spec.one_of:
        errors.append(f"{where}: expected one of: {', '.join(map(str, spec.one_of))}, got {value!r}")
    if spec.between is not None and not spec.between[0] <= value <= spec.between[1]:
        errors.append(f"{where}: value should be between {spec.between[0]:g} and {spec.between[1]:g}, got {value!r}")
    if spec.gt is not None and not value > spec.gt:
        errors.append(f"{where}: value must be greater than {spec.gt:g}, got {value!r}")
    if spec.len_min is not None and len(value) < spec.len_min:
        errors.append(f"{where}: length must be at least {spec.len_min}")
    if spec.validator is not None:
        problem = VALIDATORS[spec.validator](value)
        if problem:
            errors.append(f"{where}: {problem}")
    if spec.elements is not None:
        for index, item in enumerate(value):
            errors += _field_errors(f"{where}[{index}]", spec.elements, item)
        if spec.type == "set" and len({repr(item) for item in value}) != len(value):
            errors.append(f"{where}: a set holds each value once")
    if spec.values is not None:
        for key, item in value.items():
            errors += _field_errors(f"{where}.{key}", spec.values, item)
    if spec.fields is not None:
        errors += _record_errors(where, spec.fields, value)
    return errors


def _record_errors(where: str, fields: Mapping[str, Field], record: Mapping[str, Any], allowed: frozenset[str] = frozenset()) -> list[str]:
    errors = [f"{where}.{key}: unknown field" for key in record if key not in fields and key not in allowed]
    for name, spec in fields.items():
        value = record.get(name)
        if value is None:
            if spec.required:
                errors.append(f"{where}.{name}: required field missing")
            continue
        errors += _field_errors(f"{where}.{name}", spec, value)
    return errors


def _group_errors(
    where: str, record: Mapping[str, Any], at_least: tuple[tuple[str, ...], ...], only: tuple[tuple[str, ...], ...]
) -> list[str]:
    errors = []
    for group in at_least:
        if not any(record.get(name) not in (None, []) for name in group):
            errors.append(f"{where}: at least one of these fields must be non-empty: {', '.join(group)}")
    for group in only:
        if sum(record.get(name) is not None for name in group) > 1:
            errors.append(f"{where}: only one of these fields must be non-empty: {', '.join(group)}")
    return errors


def _plugin_errors(where: str, plugin: Mapping[str, Any]) -> list[str]:
    schema = PLUGINS.get(plugin.get("name", ""))
    if schema is None:
        return [f"{where}.name: plugin {plugin.get('name')!r} is not one this check knows (add its schema.lua here)"]
    errors = []
    if "protocols" in plugin:
        errors += _field_errors(f"{where}.protocols", schema.protocols, plugin["protocols"])
    config = plugin.get("config") or {}
    if not isinstance(config, dict):
        return [*errors, f"{where}.config: expected a record"]
    errors += _record_errors(f"{where}.config", schema.config, config)
    errors += _group_errors(f"{where}.config", config, schema.at_least_one_of, schema.only_one_of)
    return errors


def _entity_errors(where: str, kind: str, record: Any, seen: dict[str, set[Any]]) -> list[str]:
    if not isinstance(record, dict):
        return [f"{where}: expected a record"]
    entity = ENTITIES[kind]
    errors = _record_errors(where, entity.fields, record, frozenset(entity.nested))
    errors += _group_errors(where, record, entity.at_least_one_of, entity.only_one_of)
    for name, value, needed in entity.requires:
        if record.get(name) == value and record.get(needed) is None:
            errors.append(f"{where}.{needed}: required field missing when {name} is {value!r}")
    for key in entity.unique:
        value = record.get(key)
        if value is not None:
            bucket = seen.setdefault(f"{kind}.{key}", set())
            if value in bucket and kind != "targets":
                errors.append(f"{where}.{key}: UNIQUE violation: {value!r} is already used")
            bucket.add(value)
    if kind == "plugins":
        errors += _plugin_errors(where, record)
    for key, child_kind in entity.nested.items():
        children = record.get(key)
        if children is None:
            continue
        if not isinstance(children, list):
            errors.append(f"{where}.{key}: expected an array")
            continue
        if child_kind == "targets":
            targets = [child.get("target") for child in children if isinstance(child, dict)]
            if len(set(targets)) != len(targets):
                errors.append(f"{where}.{key}: a target is listed twice")
        for index, child in enumerate(children):
            errors += _entity_errors(f"{where}.{key}[{index}]", child_kind, child, seen)
    return errors


def schema_errors(document: Any) -> list[str]:
    """Every way this parsed kong.yml breaks Kong 3.9.1's schemas (an empty list: Kong would load it)."""
    if not isinstance(document, dict):
        return ["kong.yml: expected a mapping at the top"]
    errors = []
    version = document.get("_format_version")
    if version not in FORMAT_VERSIONS:
        errors.append(f"_format_version: expected one of: {', '.join(FORMAT_VERSIONS)}, got {version!r}")
    seen: dict[str, set[Any]] = {}
    for key, value in document.items():
        if key in ("_format_version", "_transform"):
            continue
        if key not in TOP_LEVEL:
            errors.append(f"{key}: unknown field")
            continue
        if not isinstance(value, list):
            errors.append(f"{key}: expected an array")
            continue
        for index, record in enumerate(value):
            errors += _entity_errors(f"{key}[{index}]", TOP_LEVEL[key], record, seen)
    return errors
