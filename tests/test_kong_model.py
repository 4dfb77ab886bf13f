"""kong.yml: rendered from typed objects, accepted by Kong's decK, and read back to the same objects."""

from __future__ import annotations

import dataclasses

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.catalog.kong_limits import ALGORITHMS
from components.plan.gateway import kong_config
from components.render.kong import (
    FORMAT_VERSION,
    ActiveHealthcheck,
    ActiveHealthy,
    ActiveUnhealthy,
    Healthchecks,
    KongConfig,
    KongFileError,
    PassiveHealthcheck,
    PassiveHealthy,
    PassiveUnhealthy,
    Plugin,
    Route,
    Service,
    Target,
    Upstream,
    parse_kong_yml,
    render_kong_yml,
)
from tests.gateway_fixtures import CREDENTIALS, deck_validate, plan_of, with_backend

FULL = with_backend(
    {
        "ui": ["grafana", "prometheus", "jaeger", "consul", "rabbitmq", "alertmanager"],
        "upstreams": {"backend": {"algorithm": "consistent-hashing", "hashOn": "path"}, "mcp-memory": {"weights": {"mcp-memory-2": 0}}},
    },
    backend={"enabled": True, "replicas": 3},
)


def full_kong_config() -> KongConfig:
    return kong_config(plan_of(FULL), CREDENTIALS)


def test_rendered_kong_yml_declares_format_version_3(tmp_path):
    document = yaml.safe_load(render_kong_yml(full_kong_config()))
    assert document["_format_version"] == FORMAT_VERSION == "3.0"


def test_rendered_kong_yml_passes_deck_validate(tmp_path):
    text = render_kong_yml(full_kong_config())
    result = deck_validate(text, tmp_path)
    assert result.returncode == 0, result.stderr
    # the file really carries what decK accepted: routes, upstreams, the consumer and the global plugins
    document = yaml.safe_load(text)
    assert {s["name"] for s in document["services"]} >= {"backend", "mcp-files", "mcp-memory", "grafana", "jaeger"}
    assert {p["name"] for p in document["plugins"]} == {"prometheus", "cors", "opentelemetry"}


def test_deck_validate_catches_a_broken_file(tmp_path):
    # the real-tool check is not a rubber stamp: a field Kong does not know and a duplicated route both fail
    config = full_kong_config()
    service = config.services[0]
    duplicated = dataclasses.replace(service, routes=(*service.routes, service.routes[0]))
    assert deck_validate(render_kong_yml(dataclasses.replace(config, services=(duplicated,))), tmp_path).returncode != 0
    with_unknown_field = render_kong_yml(config).replace("  algorithm: ", "  balancer: ", 1)
    result = deck_validate(with_unknown_field, tmp_path)
    assert result.returncode != 0 and "balancer" in result.stderr


def test_rendered_kong_yml_round_trips_to_the_same_model():
    config = full_kong_config()
    assert parse_kong_yml(render_kong_yml(config)) == config


def test_parser_refuses_fields_the_model_does_not_have():
    text = render_kong_yml(full_kong_config()).replace("  algorithm: ", "  balancer: ", 1)
    with pytest.raises(KongFileError, match="unknown field 'balancer'"):
        parse_kong_yml(text)


def test_parser_refuses_another_format_version():
    text = render_kong_yml(KongConfig()).replace("'3.0'", "'1.1'")
    with pytest.raises(KongFileError, match="_format_version"):
        parse_kong_yml(text)


counters = st.integers(min_value=1, max_value=255)
seconds = st.integers(min_value=1, max_value=65535)
names = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True)


@st.composite
def upstreams(draw: st.DrawFn) -> Upstream:
    name = draw(names)
    failures = draw(counters)
    return Upstream(
        name=f"{name}-upstream",
        algorithm=draw(st.sampled_from(ALGORITHMS)),
        healthchecks=Healthchecks(
            active=ActiveHealthcheck(
                type=draw(st.sampled_from(["http", "tcp"])),
                http_path=draw(st.sampled_from(["/", "/health", "/-/ready"])),
                timeout=draw(st.integers(1, 60)),
                healthy=ActiveHealthy(interval=draw(seconds), successes=draw(counters)),
                unhealthy=ActiveUnhealthy(interval=draw(seconds), http_failures=failures, tcp_failures=failures, timeouts=failures),
            ),
            passive=PassiveHealthcheck(
                healthy=PassiveHealthy(successes=draw(counters)),
                unhealthy=PassiveUnhealthy(http_failures=failures, tcp_failures=draw(counters), timeouts=draw(counters)),
            ),
        ),
        targets=tuple(
            Target(f"{name}-{index}:{draw(st.integers(1, 65535))}", draw(st.integers(0, 65535)))
            for index in range(1, draw(st.integers(1, 4)) + 1)
        ),
    )


@st.composite
def kong_configs(draw: st.DrawFn) -> KongConfig:
    drawn = draw(st.lists(upstreams(), min_size=1, max_size=3, unique_by=lambda upstream: upstream.name))
    services = tuple(
        Service(
            name=upstream.name.removesuffix("-upstream"),
            host=upstream.name,
            port=draw(st.integers(1, 65535)),
            read_timeout=draw(st.integers(1000, 120000)),
            routes=(
                Route(
                    name=upstream.name.removesuffix("-upstream"),
                    paths=(f"/{upstream.name}",),
                    strip_path=draw(st.booleans()),
                    plugins=draw(st.sampled_from([(), (Plugin("key-auth", {"key_names": ["apikey"]}),)])),
                ),
            ),
        )
        for upstream in drawn
    )
    return KongConfig(services=services, upstreams=tuple(drawn))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kong_configs())
def test_any_model_round_trips_through_yaml(config):
    assert parse_kong_yml(render_kong_yml(config)) == config
