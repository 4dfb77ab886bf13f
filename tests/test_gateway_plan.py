"""What the gateway routes, and how: upstreams, breakers, balancing, auth plugins, from catalog and config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components.catalog.endpoint import Endpoint
from components.model.base import ConfigError
from components.plan.gateway import API_PATH, HEALTH_PATH, JWT_ISSUER, kong_config, plan_gateway
from components.render.kong import KongConfig, Plugin, Route
from tests.gateway_fixtures import CREDENTIALS, config_of, endpoints_of, mcp_endpoint, plan_of, with_backend


def kong_of(raw, *, mcp: bool = True) -> KongConfig:
    return kong_config(plan_of(raw, mcp=mcp), CREDENTIALS)


def plugin(plugins: tuple[Plugin, ...], name: str) -> Plugin | None:
    return next((p for p in plugins if p.name == name), None)


def route(config: KongConfig, name: str) -> Route:
    return next(r for s in config.services for r in s.routes if r.name == name)


def test_every_upstream_has_active_and_passive_healthchecks():
    config = kong_of(with_backend({"ui": ["grafana"]}))
    assert len(config.upstreams) == 4  # backend, two MCP servers, grafana
    for upstream in config.upstreams:
        active, passive = upstream.healthchecks.active, upstream.healthchecks.passive
        # probing on (interval > 0) with thresholds that can be reached: the breaker can open and close
        assert active.healthy.interval > 0 and active.unhealthy.interval > 0 and active.healthy.successes > 0
        assert min(active.unhealthy.http_failures, active.unhealthy.tcp_failures, active.unhealthy.timeouts) > 0
        assert min(passive.unhealthy.http_failures, passive.unhealthy.tcp_failures) > 0
        # a success resets the passive counters, so failures are counted in a row
        assert passive.healthy.successes > 0


def test_breaker_defaults_follow_the_original_design():
    config = kong_of(with_backend())
    backend, mcp = config.upstream("backend-upstream"), config.upstream("mcp-files-upstream")
    # backend 5 failures / 30 s timeout / 60 s recovery; MCP 5 failures / 45 s recovery
    assert backend.healthchecks.passive.unhealthy.http_failures == 5
    assert backend.healthchecks.passive.unhealthy.timeouts == 5
    assert config.service("backend").read_timeout == 30_000
    assert backend.healthchecks.active.unhealthy.interval == 60
    assert mcp.healthchecks.passive.unhealthy.http_failures == mcp.healthchecks.passive.unhealthy.tcp_failures == 5
    assert mcp.healthchecks.active.unhealthy.interval == 45


def test_mcp_routes_connect_fast_and_stream_long_unbuffered():
    config = kong_of(with_backend())
    mcp = config.service("mcp-files")
    # a refused or silent server is known within 5 s; a tool call or an idle event stream may last an hour
    assert (mcp.connect_timeout, mcp.read_timeout, mcp.write_timeout) == (5_000, 3_600_000, 3_600_000)
    assert route(config, "mcp-files").response_buffering is False
    # the backend answers requests: one timeout for all three, buffered
    backend = config.service("backend")
    assert backend.connect_timeout == backend.read_timeout == 30_000
    assert route(config, "backend-api").response_buffering is True


def test_a_long_mcp_tool_call_does_not_count_toward_the_breaker():
    config = kong_of(with_backend())
    passive = config.upstream("mcp-files-upstream").healthchecks.passive.unhealthy
    active = config.upstream("mcp-files-upstream").healthchecks.active.unhealthy
    assert passive.timeouts == 0  # a proxied request that times out is not counted
    assert active.timeouts > 0  # an unanswered probe still opens the breaker


def test_mcp_read_timeout_follows_config():
    config = kong_of(with_backend({"upstreams": {"mcp-files": {"readTimeoutS": 600, "timeoutS": 2}}}))
    mcp = config.service("mcp-files")
    assert (mcp.connect_timeout, mcp.read_timeout) == (2_000, 600_000)


def test_retries_are_zero_for_one_target_and_at_most_the_other_targets():
    config = kong_of(with_backend(backend={"enabled": True, "replicas": 3}, **{"grafana": {}}) | {"gateway": {"ui": ["grafana"]}})
    assert config.service("backend").retries == 2  # three targets: each retry goes to another one
    assert config.service("mcp-memory").retries == 1  # two replicas
    assert config.service("mcp-files").retries == 0  # one target: a retry would hit the same failing server
    assert config.service("grafana").retries == 0


def test_a_drained_instance_is_not_a_retry_target():
    config = kong_of(with_backend({"upstreams": {"backend": {"weights": {"backend-2": 0}}}}, backend={"enabled": True, "replicas": 2}))
    assert config.service("backend").retries == 0


def test_consistent_hashing_defaults_to_the_path_where_paths_differ():
    config = kong_of(with_backend({"upstreams": {"backend": {"algorithm": "consistent-hashing"}}}))
    assert config.upstream("backend-upstream").hash_on == "path"


def test_credentials_are_read_from_headers_only():
    config = kong_of(with_backend())
    jwt = plugin(route(config, "backend-api").plugins, "jwt")
    key_auth = plugin(route(config, "mcp-files").plugins, "key-auth")
    assert jwt is not None and key_auth is not None
    assert (jwt.config["uri_param_names"], jwt.config["cookie_names"], jwt.config["header_names"]) == ([], [], ["authorization"])
    assert (key_auth.config["key_in_query"], key_auth.config["key_in_body"], key_auth.config["key_in_header"]) == (False, False, True)


def test_breaker_thresholds_follow_config():
    config = kong_of(with_backend({"upstreams": {"backend": {"failures": 3, "timeoutS": 10, "recoveryS": 20, "successes": 2}}}))
    backend = config.upstream("backend-upstream").healthchecks
    assert (backend.passive.unhealthy.http_failures, backend.passive.unhealthy.tcp_failures, backend.passive.unhealthy.timeouts) == (
        3,
        3,
        3,
    )
    assert (backend.active.unhealthy.http_failures, backend.active.unhealthy.interval, backend.active.healthy.successes) == (3, 20, 2)
    assert config.service("backend").connect_timeout == config.service("backend").read_timeout == 10_000


def test_active_probe_uses_the_services_own_health_path():
    config = kong_of(with_backend({"ui": ["grafana", "jaeger"]}))
    assert config.upstream("backend-upstream").healthchecks.active.http_path == "/health"
    assert config.upstream("mcp-files-upstream").healthchecks.active.http_path == "/healthz"
    assert config.upstream("grafana-upstream").healthchecks.active.http_path == "/api/health"
    assert config.upstream("jaeger-upstream").healthchecks.active.http_path == "/"


@pytest.mark.parametrize("algorithm", ["round-robin", "least-connections", "consistent-hashing", "latency"])
def test_upstream_algorithm_follows_config(algorithm):
    # MCP servers cannot hash (one path per server; see the hash-on-the-one-mcp-path config error)
    mcp_algorithm = "least-connections" if algorithm == "consistent-hashing" else algorithm
    config = kong_of(with_backend({"upstreams": {"backend": {"algorithm": algorithm}, "mcp-files": {"algorithm": mcp_algorithm}}}))
    assert config.upstream("backend-upstream").algorithm == algorithm
    assert config.upstream("mcp-files-upstream").algorithm == mcp_algorithm
    assert config.upstream("mcp-memory-upstream").algorithm == "round-robin"
    assert config.upstream("backend-upstream").hash_on == ("path" if algorithm == "consistent-hashing" else "none")


def test_a_backend_canary_at_ten_percent_is_one_config_entry():
    raw = with_backend({"upstreams": {"backend": {"weights": {"backend": 90, "backend-2": 10}}}}, backend={"enabled": True, "replicas": 2})
    targets = kong_of(raw).upstream("backend-upstream").targets
    assert [(t.target, t.weight) for t in targets] == [("backend-1:8000", 90), ("backend-2:8000", 10)]
    assert targets[1].weight / sum(t.weight for t in targets) == pytest.approx(0.10)


def test_unweighted_instances_share_traffic_equally():
    targets = kong_of(with_backend(backend={"enabled": True, "replicas": 3})).upstream("backend-upstream").targets
    assert [(t.target, t.weight) for t in targets] == [("backend-1:8000", 100), ("backend-2:8000", 100), ("backend-3:8000", 100)]


def test_backend_api_requires_a_jwt_and_health_is_public():
    config = kong_of(with_backend())
    api, health = route(config, "backend-api"), route(config, "backend-health")
    assert api.paths == (API_PATH,) and health.paths == (HEALTH_PATH,)
    jwt = plugin(api.plugins, "jwt")
    assert jwt is not None and jwt.config["claims_to_verify"] == ["exp"]
    assert health.plugins == ()
    consumer = config.consumers[0]
    assert [(s.key, s.secret, s.algorithm) for s in consumer.jwt_secrets] == [(JWT_ISSUER, CREDENTIALS.jwt_secret, "HS256")]


def test_every_mcp_server_is_routed_under_its_path_with_key_auth():
    config = kong_of(with_backend())
    for name, path in (("mcp-files", "/mcp/files"), ("mcp-memory", "/mcp/memory")):
        mcp_route = route(config, name)
        assert mcp_route.paths == (path,) and mcp_route.strip_path
        key_auth = plugin(mcp_route.plugins, "key-auth")
        assert key_auth is not None and key_auth.config["hide_credentials"] is True
        assert config.service(name).path == "/mcp"
    assert [c.key for c in config.consumers[0].keyauth_credentials] == [CREDENTIALS.api_key]
    assert [t.target for t in config.upstream("mcp-memory-upstream").targets] == ["mcp-memory.mcp:3009", "mcp-memory-2.mcp:3009"]


def test_backend_routes_exist_only_when_the_backend_is_enabled():
    assert "backend" not in {s.name for s in kong_of({"services": {"backend": {"enabled": False}}}).services}
    assert "backend" in {s.name for s in kong_of(with_backend()).services}


def test_uis_are_routed_only_where_config_enables_them():
    assert {s.name for s in kong_of(with_backend(), mcp=False).services} == {"backend"}
    config = kong_of(with_backend({"ui": ["grafana", "rabbitmq"], "uiDomain": "mesh.test"}), mcp=False)
    assert route(config, "grafana-ui").hosts == ("grafana.mesh.test",)
    # RabbitMQ's UI is its management port, not the AMQP port its endpoint names
    assert [t.target for t in config.upstream("rabbitmq-upstream").targets] == ["rabbitmq:15672"]


def test_databases_are_never_routed():
    config = config_of(with_backend())
    database = Endpoint("postgres", "postgres", "postgres", 5432, None, None, False, "core", "database", route_path="/pg")
    plan = plan_gateway(config, [*endpoints_of(config), database])
    assert "postgres" not in {s.name for s in plan.services}


def test_global_plugins_prometheus_metrics_cors_and_tracing_to_jaeger():
    config = kong_of(with_backend({"corsOrigins": ["https://app.example"]}))
    prometheus = plugin(config.plugins, "prometheus")
    assert prometheus is not None
    assert (
        prometheus.config["status_code_metrics"] and prometheus.config["latency_metrics"] and prometheus.config["upstream_health_metrics"]
    )
    cors = plugin(config.plugins, "cors")
    assert cors is not None and cors.config["origins"] == ["https://app.example"]
    telemetry = plugin(config.plugins, "opentelemetry")
    assert telemetry is not None and telemetry.config["traces_endpoint"] == "http://jaeger:4318/v1/traces"


def test_no_tracing_plugin_without_jaeger():
    config = kong_of(with_backend(jaeger={"enabled": False}))
    assert plugin(config.plugins, "opentelemetry") is None


def test_rate_limiting_is_local_and_follows_config():
    config = kong_of(with_backend({"upstreams": {"backend": {"rateLimitPerMinute": 42}, "mcp-files": {"rateLimitPerMinute": 0}}}))
    limit = plugin(config.service("backend").plugins, "rate-limiting")
    assert limit is not None and limit.config == {"minute": 42, "policy": "local", "limit_by": "consumer"}
    assert plugin(config.service("mcp-files").plugins, "rate-limiting") is None
    mcp_memory_limit = plugin(config.service("mcp-memory").plugins, "rate-limiting")
    assert mcp_memory_limit is not None and mcp_memory_limit.config["policy"] == "local"


def test_a_configured_path_moves_an_mcp_route():
    config = kong_of(with_backend({"paths": {"mcp-files": "/files"}}))
    assert route(config, "mcp-files").paths == ("/files",)


def bad(raw, *, mcp: bool = True) -> str:
    with pytest.raises(ConfigError) as caught:
        plan_of(raw, mcp=mcp)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            with_backend({"upstreams": {"backend": {"algorithm": "fastest"}}}),
            "mesh:gateway.upstreams.backend.algorithm: unknown algorithm 'fastest' "
            "(known: round-robin, least-connections, consistent-hashing, latency)",
            id="unknown-algorithm",
        ),
        pytest.param(
            with_backend({"upstreams": {"backend": {"weights": {"backend": 70000}}}}),
            "mesh:gateway.upstreams.backend.weights.backend: weight 70000 is outside Kong's range 0-65535",
            id="weight-too-high",
        ),
        pytest.param(
            with_backend({"upstreams": {"backend": {"weights": {"backend": -1}}}}),
            "mesh:gateway.upstreams.backend.weights.backend: weight -1 is outside Kong's range 0-65535",
            id="weight-negative",
        ),
        pytest.param(
            with_backend({"upstreams": {"backend": {"weights": {"backend-2": 10}}}}),
            "mesh:gateway.upstreams.backend.weights.backend-2: backend has no instance 'backend-2' (instances: backend)",
            id="weight-of-unknown-instance",
        ),
        pytest.param(
            {"services": {"backend": {"enabled": False}}, "gateway": {"upstreams": {"backend": {"algorithm": "latency"}}}},
            "mesh:gateway.upstreams.backend: backend is disabled (mesh:services.backend.enabled); enable it or remove this entry",
            id="route-to-disabled-backend",
        ),
        pytest.param(
            {"services": {"grafana": {"enabled": False}}, "gateway": {"ui": ["grafana"]}},
            "mesh:gateway.ui[0]: grafana is disabled (mesh:services.grafana.enabled); enable it or remove this entry",
            id="ui-of-disabled-service",
        ),
        pytest.param(
            {"gateway": {"upstreams": {"billing": {}}}},
            "mesh:gateway.upstreams.billing: unknown service 'billing'",
            id="route-to-unknown-service",
        ),
        pytest.param(
            {"gateway": {"ui": ["kibana"]}},
            "mesh:gateway.ui[0]: unknown service 'kibana' (UIs: grafana, prometheus, alertmanager, jaeger, consul, rabbitmq)",
            id="unknown-ui",
        ),
        pytest.param(
            {"gateway": {"paths": {"mcp-search": "/search"}}},
            "mesh:gateway.paths.mcp-search: unknown service 'mcp-search'",
            id="path-for-unknown-service",
        ),
        pytest.param(
            {"gateway": {"upstreams": {"postgres": {"failures": 3}}}},
            "mesh:gateway.upstreams.postgres: postgres is a database; databases are not routed through the gateway",
            id="database-is-not-routed",
        ),
        pytest.param(
            with_backend({"paths": {"mcp-files": "/api"}}),
            "mesh:gateway.paths.mcp-files: route path /api is already the route of backend; give mcp-files another path",
            id="duplicate-path-with-backend",
        ),
        pytest.param(
            with_backend({"paths": {"mcp-memory": "/mcp/files"}}),
            "mesh:gateway.paths.mcp-memory: route path /mcp/files is already the route of mcp-files; give mcp-memory another path",
            id="duplicate-path-between-mcp-servers",
        ),
        pytest.param(
            with_backend({"upstreams": {"backend": {"failures": 300}}}),
            "mesh:gateway.upstreams.backend.failures: 300 is outside Kong's health counter range 0-255",
            id="threshold-above-255",
        ),
        pytest.param(
            with_backend({"upstreams": {"backend": {"successes": -1}}}),
            "mesh:gateway.upstreams.backend.successes: -1 is outside Kong's health counter range 0-255",
            id="threshold-below-0",
        ),
        pytest.param(
            with_backend({"upstreams": {"backend": {"failures": 0}}}),
            "mesh:gateway.upstreams.backend.failures: 0 switches the count off in Kong; "
            "the circuit breaker would never open or close (use 1-255)",
            id="threshold-zero-disables-breaker",
        ),
        pytest.param(
            with_backend({"upstreams": {"backend": {"recoveryS": 70000}}}),
            "mesh:gateway.upstreams.backend.recoveryS: 70000 is outside Kong's interval range 1-65535 seconds",
            id="recovery-out-of-range",
        ),
        pytest.param(
            with_backend({"upstreams": {"backend": {"hashOn": "ip"}}}),
            "mesh:gateway.upstreams.backend.hashOn: only consistent-hashing hashes; backend uses round-robin",
            id="hash-without-consistent-hashing",
        ),
        pytest.param(
            with_backend({"upstreams": {"backend": {"algorithm": "consistent-hashing", "hashOn": "consumer"}}}),
            "mesh:gateway.upstreams.backend.hashOn: hashing on the consumer sends all of backend's traffic to one target: "
            "every client authenticates as mesh-client",
            id="hash-on-the-one-consumer",
        ),
        pytest.param(
            with_backend({"upstreams": {"backend": {"algorithm": "consistent-hashing", "hashOn": "ip"}}}),
            "mesh:gateway.upstreams.backend.hashOn: hashing on the client IP sends all of backend's traffic to one target: "
            "clients on this host reach the proxy through Docker's port forwarding and share its gateway address",
            id="hash-on-the-shared-client-ip",
        ),
        pytest.param(
            {"gateway": {"upstreams": {"mcp-memory": {"algorithm": "consistent-hashing"}}}},
            "mesh:gateway.upstreams.mcp-memory.algorithm: hashing on the path sends all of mcp-memory's traffic to one target: "
            "every request goes to its one endpoint (use round-robin or least-connections)",
            id="hash-on-the-one-mcp-path",
        ),
        pytest.param(
            with_backend({"upstreams": {"backend": {"weights": {"backend": 0}}}}),
            "mesh:gateway.upstreams.backend.weights: every instance of backend weighs 0; nothing would get traffic",
            id="all-weights-zero",
        ),
        pytest.param(
            {"gateway": {"corsOrigins": ["localhost:3000"]}},
            "mesh:gateway.corsOrigins[0]: 'localhost:3000' is not an origin: scheme://host[:port] with no path, "
            "e.g. http://localhost:3000 (or *); Kong would take anything else as a regex",
            id="bad-cors-origin",
        ),
        pytest.param(
            {"gateway": {"corsOrigins": ["http://localhost:3000/"]}},
            "mesh:gateway.corsOrigins[0]: 'http://localhost:3000/***' is not an origin: scheme://host[:port] with no path, "
            "e.g. http://localhost:3000 (or *); Kong would take anything else as a regex",
            id="cors-origin-with-a-path",
        ),
        pytest.param(
            {"gateway": {"corsOrigins": ["https://*.example.com"]}},
            "mesh:gateway.corsOrigins[0]: 'https://*.example.com' is not an origin: scheme://host[:port] with no path, "
            "e.g. http://localhost:3000 (or *); Kong would take anything else as a regex",
            id="cors-origin-that-kong-reads-as-a-regex",
        ),
        pytest.param(
            {"gateway": {"corsOrigins": ["http://localhost:99999"]}},
            "mesh:gateway.corsOrigins[0]: 'http://localhost:99999' has port 99999, outside 1-65535",
            id="cors-origin-port",
        ),
        pytest.param(
            {"gateway": {"paths": {"mcp-files": "//files"}}},
            "mesh:gateway.paths.mcp-files: invalid path '//files': must not have empty segments",
            id="path-empty-segment",
        ),
        pytest.param(
            {"gateway": {"paths": {"mcp-files": "/mcp/../admin"}}},
            "mesh:gateway.paths.mcp-files: non-normalized path '/mcp/../admin', consider using '/admin' instead",
            id="path-dot-dot",
        ),
        pytest.param(
            {"gateway": {"paths": {"mcp-files": "/files[1]"}}},
            "mesh:gateway.paths.mcp-files: invalid path '/files[1]': characters outside of the reserved list of RFC 3986 found",
            id="path-outside-rfc3986",
        ),
        pytest.param(
            {"gateway": {"paths": {"mcp-files": "/files%2"}}},
            "mesh:gateway.paths.mcp-files: invalid path '/files%2': invalid url-encoded value",
            id="path-bad-percent-encoding",
        ),
        pytest.param(
            {"gateway": {"upstream": {}}},
            "mesh:gateway.upstream: unknown key",
            id="unknown-key",
        ),
    ],
)
def test_bad_gateway_config_fails_with_one_line_naming_the_key(raw, expected):
    assert bad(raw) == expected


def test_duplicate_route_paths_from_endpoints_name_the_key_to_set():
    config = config_of({})
    clash = [mcp_endpoint("mcp-files", 3003), mcp_endpoint("mcp-files-v2", 3013)]
    clash[1] = Endpoint(**{**clash[1].__dict__, "route_path": "/mcp/files"})
    with pytest.raises(ConfigError) as caught:
        plan_gateway(config, [*endpoints_of(config, mcp=False), *clash])
    assert str(caught.value) == (
        "mesh:gateway.paths.mcp-files-v2: route path /mcp/files is already the route of mcp-files; give mcp-files-v2 another path"
    )


def test_gateway_value_checks_accept_exactly_kongs_ranges_and_plain_prefixes():
    from components.model.gateway import _breaker_count, _origin, _path, _seconds

    assert [_breaker_count(1), _breaker_count(255), _seconds(1), _seconds(65535)] == [1, 255, 1, 65535]
    cases: list[tuple[Callable[[Any], object], object, str]] = [
        (_breaker_count, 256, "256 is outside Kong's health counter range 0-255"),
        (_breaker_count, -1, "-1 is outside Kong's health counter range 0-255"),
        (_breaker_count, 0, "0 switches the count off in Kong; the circuit breaker would never open or close (use 1-255)"),
        (_seconds, 0, "0 is outside Kong's interval range 1-65535 seconds"),
        (_seconds, 65536, "65536 is outside Kong's interval range 1-65535 seconds"),
        (_path, "api", "'api' is not a plain path prefix (it must start with '/')"),
        (_path, "/a b", "invalid path '/a b': characters outside of the reserved list of RFC 3986 found"),
        (_path, "/api/", "'/api/' ends with '/'; give the prefix without it"),
        (
            _origin,
            "localhost:3000",
            "'localhost:3000' is not an origin: scheme://host[:port] with no path, e.g. http://localhost:3000 (or *); "
            "Kong would take anything else as a regex",
        ),
    ]
    for call, value, message in cases:
        with pytest.raises(ValueError) as caught:
            call(value)
        assert str(caught.value) == message
    assert [_path("/"), _path("/api"), _origin("*"), _origin("http://a"), _origin("https://a")] == [
        "/",
        "/api",
        "*",
        "http://a",
        "https://a",
    ]


def test_a_browser_mcp_client_passes_cors_with_its_session_headers_and_preflights_skip_auth():
    config = kong_of(with_backend({"corsOrigins": ["https://app.example"]}))
    cors = plugin(config.plugins, "cors")
    assert cors is not None
    # streamable HTTP: the client sends Mcp-Session-Id / Mcp-Protocol-Version and must read the session id back
    assert cors.config["headers"] == ["Accept", "Authorization", "Content-Type", "apikey", "Mcp-Session-Id", "Mcp-Protocol-Version"]
    assert cors.config["exposed_headers"] == ["Mcp-Session-Id"]
    assert cors.config["methods"] == ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    assert (cors.config["credentials"], cors.config["max_age"]) == (False, 3600)
    # a preflight carries no credentials: the auth plugins let the cors plugin answer it
    jwt = plugin(route(config, "backend-api").plugins, "jwt")
    key_auth = plugin(route(config, "mcp-files").plugins, "key-auth")
    assert jwt is not None and key_auth is not None
    assert (jwt.config["run_on_preflight"], key_auth.config["run_on_preflight"]) == (False, False)
    assert jwt.config["key_claim_name"] == "iss" and key_auth.config["key_names"] == ["apikey"]
    assert plugin(kong_of(with_backend({"corsOrigins": []})).plugins, "cors") is None


def test_kong_metrics_cover_bandwidth_without_a_series_per_consumer_and_traces_name_kong():
    config = kong_of(with_backend())
    prometheus = plugin(config.plugins, "prometheus")
    assert prometheus is not None
    assert prometheus.config == {
        "status_code_metrics": True,
        "latency_metrics": True,
        "upstream_health_metrics": True,
        "bandwidth_metrics": True,
        "per_consumer": False,
    }
    telemetry = plugin(config.plugins, "opentelemetry")
    assert telemetry is not None and telemetry.config["resource_attributes"] == {"service.name": "kong"}


def test_a_ui_route_opens_only_for_that_uis_own_consumer_and_hides_the_password():
    config = kong_of(with_backend({"ui": ["grafana"], "uiDomain": "mesh.test"}), mcp=False)
    plugins = route(config, "grafana-ui").plugins
    basic, acl = plugin(plugins, "basic-auth"), plugin(plugins, "acl")
    assert basic is not None and basic.config == {"hide_credentials": True, "realm": "grafana"}
    assert acl is not None and acl.config == {"allow": ["grafana-ui"], "hide_groups_header": True}
