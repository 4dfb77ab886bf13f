"""The rendered kong.yml against Kong 3.9.1's own schemas (components/catalog/kong_schema.py), and the
values Kong refuses at start that decK 1.4's `validate` lets through."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from components.catalog.kong_schema import ENTITIES, PLUGINS, cors_origin_error, kong_normalize, router_path_error, schema_errors
from components.plan.gateway import kong_config
from components.render.kong import render_kong_yml
from tests.gateway_fixtures import CREDENTIALS, plan_of, with_backend

EVERYTHING = with_backend(
    {
        "ui": ["grafana", "prometheus", "jaeger", "consul", "rabbitmq", "alertmanager"],
        "upstreams": {"backend": {"algorithm": "consistent-hashing"}, "mcp-memory": {"weights": {"mcp-memory-2": 0}}},
    },
    backend={"enabled": True, "replicas": 3},
)


def rendered(raw: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(render_kong_yml(kong_config(plan_of(raw), CREDENTIALS)))
    return document


def test_the_default_stacks_kong_yml_fits_kongs_schemas(plan):
    assert schema_errors(yaml.safe_load(plan.rendered_files["kong/kong.yml"])) == []


def test_a_kong_yml_with_every_route_kind_and_plugin_fits_kongs_schemas():
    document = rendered(EVERYTHING)
    plugins = {plugin["name"] for plugin in document["plugins"]}
    plugins |= {p["name"] for service in document["services"] for route in service["routes"] for p in route.get("plugins", [])}
    plugins |= {p["name"] for service in document["services"] for p in service.get("plugins", [])}
    assert plugins <= set(PLUGINS)  # every plugin the stack writes has its schema here
    assert schema_errors(document) == []


def broken(change) -> list[str]:
    document = copy.deepcopy(rendered(EVERYTHING))
    change(document)
    return schema_errors(document)


def _service(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(service for service in document["services"] if service["name"] == name)


def _route(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(route for service in document["services"] for route in service["routes"] if route["name"] == name)


INVALID = [
    pytest.param(lambda d: d["upstreams"][0].update(hash_on="bogus"), "upstreams[0].hash_on: expected one of", id="hash_on-bogus"),
    pytest.param(
        lambda d: _service(d, "backend").update(port=99999), "services[0].port: value should be between 0 and 65535", id="port-99999"
    ),
    pytest.param(
        lambda d: _service(d, "backend").update(read_timeout=0), "services[0].read_timeout: value should be between 1", id="read_timeout-0"
    ),
    pytest.param(
        lambda d: _route(d, "mcp-files")["plugins"][0]["config"].update(key_name=["apikey"]),
        "config.key_name: unknown field",
        id="misspelled-plugin-key",
    ),
    pytest.param(
        lambda d: d["plugins"][0]["config"].update(latency_metric=True), "config.latency_metric: unknown field", id="misspelled-global"
    ),
    pytest.param(lambda d: d.update(_format_version="9.9"), "_format_version: expected one of: 1.1, 2.1, 3.0, got '9.9'", id="format-9.9"),
    pytest.param(lambda d: _route(d, "mcp-files").update(paths=["//"]), "must not have empty segments", id="path-empty-segment"),
    pytest.param(lambda d: _route(d, "mcp-files").update(paths=["/mcp/../admin"]), "non-normalized path", id="path-dot-dot"),
    pytest.param(lambda d: _route(d, "mcp-files").update(paths=["/mcp/a b"]), "outside of the reserved list of RFC 3986", id="path-space"),
    pytest.param(lambda d: _route(d, "mcp-files").update(paths=["/mcp/%zz"]), "invalid url-encoded value", id="path-bad-percent"),
    pytest.param(
        lambda d: next(p for p in d["plugins"] if p["name"] == "cors")["config"].update(origins=["http://[localhost"]),
        "is not a valid regex",
        id="cors-origin-bad-regex",
    ),
    pytest.param(
        lambda d: d["upstreams"][0]["targets"][0].update(weight=70000), "weight: value should be between 0 and 65535", id="weight"
    ),
    pytest.param(
        lambda d: d["upstreams"][0]["healthchecks"]["passive"]["unhealthy"].update(timeouts=256),
        "unhealthy.timeouts: value should be between 0 and 255",
        id="counter-256",
    ),
    pytest.param(lambda d: _service(d, "backend").update(retries="5"), "services[0].retries: expected a integer", id="retries-string"),
    pytest.param(
        lambda d: _route(d, "backend-api").update(paths=None, methods=None), "at least one of these fields", id="route-matches-nothing"
    ),
    pytest.param(
        lambda d: d["services"].append(copy.deepcopy(d["services"][0])), "UNIQUE violation: 'backend'", id="duplicate-service-name"
    ),
    pytest.param(
        lambda d: d["upstreams"][0].update(hash_on="header"), "hash_on_header: required field missing", id="hash-on-header-needs-a-name"
    ),
    pytest.param(lambda d: d.update(service=[]), "service: unknown field", id="unknown-top-level"),
    pytest.param(
        lambda d: _route(d, "backend-api")["plugins"][0]["config"].update(claims_to_verify=["iat"]),
        "claims_to_verify[0]: expected one of: exp, nbf",
        id="jwt-claim",
    ),
    pytest.param(lambda d: d["plugins"].append({"name": "bogus-plugin"}), "plugin 'bogus-plugin' is not one", id="unknown-plugin"),
]


@pytest.mark.parametrize(("change", "expected"), INVALID)
def test_each_value_kong_refuses_is_an_error(change, expected):
    errors = broken(change)
    assert any(expected in error for error in errors), errors


@pytest.mark.parametrize(
    ("path", "normalized"),
    [("/a/./b", "/a/b"), ("/a/../b", "/b"), ("/a//b", "/a/b"), ("/%7euser", "/~user"), ("/a%2fb", "/a%2Fb"), ("/mcp/files", "/mcp/files")],
)
def test_normalize_is_kongs(path, normalized):
    # kong/tools/uri.lua: unreserved triplets decoded, reserved ones upper-cased, dot segments removed, slashes merged
    assert kong_normalize(path) == normalized


@pytest.mark.parametrize("path", ["/api", "/mcp/files", "/a-b_c.d~e", "/v1:x@y", "/%2F"])
def test_router_paths_kong_accepts(path):
    assert router_path_error(path) is None


@pytest.mark.parametrize("path", ["//", "/a//b", "/../x", "/a/./b", "/a b", "/a?b", "/a#b", "/é", "/%zz", "/%7e", "api", "~/re"])
def test_router_paths_kong_refuses(path):
    assert router_path_error(path) is not None


def test_every_entity_and_plugin_cites_its_kong_source_file():
    for entity in ENTITIES.values():
        assert entity.source.startswith("kong/") and entity.source.endswith(".lua")
    for plugin in PLUGINS.values():
        assert plugin.source.startswith("kong/plugins/") and plugin.source.endswith("/schema.lua")


def test_cors_origins_are_star_or_a_valid_regex():
    assert cors_origin_error("*") is None and cors_origin_error("http://localhost:3000") is None
    assert cors_origin_error("http://(") is not None
