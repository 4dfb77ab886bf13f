"""Every user mistake in the stack config: one line naming the key, and nothing registered."""

from __future__ import annotations

import datetime
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.catalog.kong_limits import WEIGHT_RANGE
from components.model.base import ConfigError, check_cpus, check_image_reference, check_tcp_port, floating_tag
from components.model.mesh import DEFAULT_PORT_RANGES, holds_credentials, parse_mesh_config
from components.offline.synth import try_synthesize
from components.plan.host import check_cpus_fit
from components.plan.mcp import resolve_mcp
from components.plan.services import HostPortOwner, floating_image_warnings, port_conflict, resolve_services
from components.plan.stack import plan_stack
from components.stack.program import local_docker_cpus

MISTAKES = [
    ({"services": {"redis": {"hostPorts": [70000]}}}, "mesh:services.redis.hostPorts[0]: 70000 is not a TCP port (1-65535)"),
    ({"services": {"redis": {"hostPorts": ["abc"]}}}, 'mesh:services.redis.hostPorts[0]: expected an integer, got "abc"'),
    ({"services": {"redis": {"memoryMb": "lots"}}}, 'mesh:services.redis.memoryMb: expected an integer, got "lots"'),
    ({"services": {"redis": {"enabled": "maybe"}}}, 'mesh:services.redis.enabled: expected true or false, got "maybe"'),
    ({"services": {"redis": {"hostPorts": [20000]}}}, "mesh:services.redis.hostPorts[0]: 20000 is outside the core range 10000-10099"),
    (
        {"services": {"redis": {"hostPorts": [10000]}}},
        "mesh:services.redis.hostPorts[0]: host port 10000 is used by both redis and postgres",
    ),
    ({"services": {"redsi": {}}}, "mesh:services.redsi: unknown service"),
    ({"services": {"redis": {"hostPort": [10001]}}}, "mesh:services.redis.hostPort: unknown key"),
    ({"bogus": True}, "mesh:bogus: unknown key"),
    ({"services": {"redis": {"image": "redis"}}}, "mesh:services.redis.image: image 'redis' has no tag"),
    ({"services": {"redis": {"image": "redis:latest"}}}, "mesh:services.redis.image: image 'redis:latest' uses 'latest'"),
    ({"bindAddress": "localhost"}, "mesh:bindAddress: 'localhost' is not an IP address"),
    ({"bindAddress": "127.0.0.300"}, "mesh:bindAddress: '127.0.0.300' is not an IP address"),
    ({"services": {"neo4j": {"hostPorts": [10050]}}}, "mesh:services.neo4j.hostPorts: neo4j publishes 2 port(s) (7474, 7687)"),
    ({"services": {"redis": {"replicas": 2}}}, "mesh:services.redis.replicas: redis keeps state"),
    ({"services": {"redis": {"enabled": False}}}, "mesh:services.redis.enabled: redis-exporter needs redis"),
    ({"portRanges": {"core": [10099, 10000]}}, "mesh:portRanges.core: range start 10099 is above its end 10000"),
    ({"portRanges": {"gpu": [1, 2]}}, "mesh:portRanges.gpu: unknown category"),
]


@pytest.mark.synthesis
@pytest.mark.parametrize(("raw_config", "expected"), MISTAKES, ids=[expected.split(":")[1] for _, expected in MISTAKES])
def test_each_config_mistake_gives_one_line_naming_the_key_and_registers_nothing(raw_config, expected):
    capture, error = try_synthesize(raw_config)
    assert error is not None
    message = str(error)
    assert message.startswith(expected)
    assert "\n" not in message
    assert capture.resources == []


# mistakes only the gateway plan can see: they need the resolved services and MCP servers, not just the config's shape
GATEWAY_MISTAKES = [
    (
        {"services": {"backend": {"enabled": True}}, "gateway": {"upstreams": {"backend": {"weights": {"backend-2": 10}}}}},
        "mesh:gateway.upstreams.backend.weights.backend-2: backend has no instance 'backend-2' (instances: backend)",
    ),
    (
        {"services": {"backend": {"enabled": True}}, "gateway": {"upstreams": {"backend": {"hashOn": "ip"}}}},
        "mesh:gateway.upstreams.backend.hashOn: only consistent-hashing hashes; backend uses round-robin",
    ),
    (
        {"services": {"grafana": {"enabled": False}}, "gateway": {"ui": ["grafana"]}},
        "mesh:gateway.ui[0]: grafana is disabled (mesh:services.grafana.enabled); enable it or remove this entry",
    ),
    ({"gateway": {"upstreams": {"billing": {}}}}, "mesh:gateway.upstreams.billing: unknown service 'billing'"),
    (
        {"gateway": {"paths": {"mcp-memory": "/mcp/files"}}},
        "mesh:gateway.paths.mcp-memory: route path /mcp/files is already the route of mcp-files; give mcp-memory another path",
    ),
]


@pytest.mark.synthesis
@pytest.mark.parametrize(("raw_config", "expected"), GATEWAY_MISTAKES, ids=[expected.split(":")[1] for _, expected in GATEWAY_MISTAKES])
def test_a_gateway_mistake_fails_the_whole_program_before_anything_is_registered(raw_config, expected):
    capture, error = try_synthesize(raw_config)
    assert str(error) == expected
    assert capture.resources == []


@pytest.mark.parametrize(
    ("raw_config", "expected"), MISTAKES + GATEWAY_MISTAKES, ids=[expected.split(":")[1] for _, expected in MISTAKES + GATEWAY_MISTAKES]
)
def test_each_mistake_is_caught_by_the_plan_alone_with_the_same_line(raw_config, expected):
    """The same mistakes through the pure validation chain the program runs first (fast: no synthesis)."""
    with pytest.raises(ConfigError) as caught:
        plan_stack(parse_mesh_config(raw_config))
    assert str(caught.value).startswith(expected)


@pytest.mark.synthesis
def test_a_port_collision_names_both_keys_the_user_set_first():
    _, error = try_synthesize({"services": {"postgres": {"hostPorts": [10001]}}})
    assert str(error) == (
        "mesh:services.postgres.hostPorts[0]: host port 10001 is used by both postgres and redis (mesh:services.redis.hostPorts[0])"
    )


def test_defaults_reproduce_the_documented_port_ranges():
    config = parse_mesh_config({})
    assert config.port_ranges == DEFAULT_PORT_RANGES
    assert config.bind_address == "127.0.0.1"
    assert config.proxy_bind_address == "127.0.0.1"


@settings(max_examples=60, deadline=None)
@given(port=st.integers())
def test_any_integer_host_port_is_accepted_exactly_when_it_is_a_tcp_port(port):
    try:
        parse_mesh_config({"services": {"redis": {"hostPorts": [port]}}})
    except ValueError as error:
        assert not 1 <= port <= 65535
        assert str(error) == f"mesh:services.redis.hostPorts[0]: {port} is not a TCP port (1-65535)"
    else:
        assert 1 <= port <= 65535


@settings(max_examples=40, deadline=None)
@given(port=st.integers(min_value=1, max_value=65535))
def test_a_host_port_override_is_deployed_exactly_when_it_is_free_and_in_range(port):
    from components.catalog.services import CATALOG
    from components.model.base import ConfigError
    from components.plan.services import resolve_services

    taken = {p.host for spec in CATALOG.values() if spec.enabled and spec.name != "redis" for p in spec.published_ports}
    config = parse_mesh_config({"services": {"redis": {"hostPorts": [port]}}})
    try:
        services = resolve_services(config)
    except ConfigError as error:
        assert port in taken or not 10000 <= port <= 10099
        assert error.key == "mesh:services.redis.hostPorts[0]"
    else:
        assert port not in taken and 10000 <= port <= 10099
        redis = next(service for service in services if service.name == "redis")
        assert redis.spec.ports[0].host == port


def assert_image_verdict(image: str, error: str | None) -> None:
    """The reference comes back unchanged when valid; otherwise the error is exactly `error`."""
    if error is None:
        assert check_image_reference(image) == image
    else:
        with pytest.raises(ValueError) as caught:
            check_image_reference(image)
        assert str(caught.value) == error


@pytest.mark.parametrize(
    ("image", "error"),
    [
        ("redis:8.2-alpine", None),
        ("registry.local:5000/team/redis:8.2", None),
        ("redis@sha256:" + "a" * 64, None),
        (
            "registry.local:5000/team/redis",
            "image 'registry.local:5000/team/redis' has no tag; pin one (e.g. registry.local:5000/team/redis:1.2)",
        ),
        ("redis:", "image 'redis:' is not a valid Docker reference ([registry/]repository:tag or repository@sha256:<64 hex>)"),
        ("team/redis:latest", "image 'team/redis:latest' uses 'latest'; pin a version tag"),
    ],
)
def test_an_image_needs_a_tag_other_than_latest_or_a_digest(image, error):
    assert_image_verdict(image, error)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"discovery": {"address": "http://admin:hunter2-secret@127.0.0.1:10006"}}, "mesh:discovery.address"),
        ({"discovery": {"address": "http://token-hunter2-secret@consul.example:8500"}}, "mesh:discovery.address"),
        ({"telemetry": {"grafanaUrl": "https://admin:hunter2-secret@grafana.example:3000"}}, "mesh:telemetry.grafanaUrl"),
        ({"telemetry": {"grafanaUrl": "http://admin:hunter2-secret@grafana"}}, "mesh:telemetry.grafanaUrl"),
    ],
)
def test_a_url_with_a_credential_is_refused_without_echoing_it(raw, key):
    # discovery.address and grafanaUrl reach plain provider inputs and the `grafana` output: no credential may ride along
    with pytest.raises(ConfigError) as error:
        parse_mesh_config(raw)
    assert error.value.key == key
    assert "hunter2" not in str(error.value)
    assert "must not carry a user or password" in str(error.value)


# --- CPU limits against the Docker host (`pulumi up` on the Docker host itself) ---


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"services": {"kong": {"cpus": 3}}}, "mesh:services.kong.cpus"),
        ({"mcpOrchestrator": {"cpus": 4}}, "mesh:mcpOrchestrator.cpus"),
        ({"mcpServers": {"docs": {"cpus": 2.5}}}, "mesh:mcpServers.docs.cpus"),
    ],
)
def test_a_cpu_limit_above_the_docker_hosts_cpus_is_a_config_error_before_anything_is_registered(config, key):
    parsed = parse_mesh_config(config)
    services = resolve_services(parsed)
    with pytest.raises(ConfigError) as error:
        check_cpus_fit(services, resolve_mcp(parsed, services), host_cpus=2)
    assert error.value.key == key and "the Docker host has 2" in error.value.message


def test_the_defaults_fit_a_one_cpu_host_and_an_unknown_host_is_not_checked():
    for config in ({}, {"services": {"ollama": {"enabled": True}}}):
        parsed = parse_mesh_config(config)
        services = resolve_services(parsed)
        check_cpus_fit(services, resolve_mcp(parsed, services), host_cpus=1)
    parsed = parse_mesh_config({"services": {"kong": {"cpus": 64}}})
    services = resolve_services(parsed)
    check_cpus_fit(services, resolve_mcp(parsed, services), host_cpus=None)


def test_the_host_cpu_count_is_used_only_when_the_docker_host_is_local(monkeypatch):
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert local_docker_cpus() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("DOCKER_HOST", "unix:///var/run/docker.sock")
    assert local_docker_cpus() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("DOCKER_HOST", "tcp://build-server:2376")
    assert local_docker_cpus() is None


# --- each validator's edges and words (`make mutate` breaks them one at a time) ---


@pytest.mark.parametrize(
    ("image", "error"),
    [
        ("Redis:8.2", "image 'Redis:8.2' is not a valid Docker reference: the repository name must be lowercase"),
        ("a" * 255 + ":1", None),
        ("registry.local:5000/" + "a" * 255 + ":1", None),
        ("a" * 256 + ":1", f"image {('a' * 40)!r}... has a repository name longer than Docker's 255 characters"),
        ("redis@sha512:" + "0" * 128, None),
        (
            "redis@md5:" + "a" * 64,
            "image 'redis@md5:" + "a" * 64 + "' has a digest of an algorithm Docker does not support (sha256, sha384, sha512)",
        ),
        (
            "redis@sha256:" + "A" * 64,
            "image 'redis@sha256:" + "A" * 64 + "' has a malformed sha256 digest (it is 64 lowercase hex characters)",
        ),
        (
            "redis@sha256:" + "a" * 65,
            "image 'redis@sha256:" + "a" * 65 + "' has a malformed sha256 digest (it is 64 lowercase hex characters)",
        ),
    ],
)
def test_an_image_reference_is_judged_by_dockers_own_grammar_and_limits(image, error):
    assert_image_verdict(image, error)


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        ({"services": {"redis": {"cpus": 0.0099}}}, "mesh:services.redis.cpus: 0.0099 is below Docker's smallest CPU limit of 0.01"),
        ({"bindAddress": "fe80::1%eth0"}, "mesh:bindAddress: 'fe80::1%eth0' has a zone (%...); Docker binds published ports to a bare IP"),
        ({"gateway": {"uiDomain": "mesh-.example.com"}}, "mesh:gateway.uiDomain: 'mesh-.example.com' is not a host name Kong routes"),
        ({"gateway": {"uiDomain": "mesh..example.com"}}, "mesh:gateway.uiDomain: 'mesh..example.com' is not a host name Kong routes"),
        ({"gateway": {"uiDomain": ".example.com"}}, "mesh:gateway.uiDomain: '.example.com' is not a host name Kong routes"),
        ({"gateway": {"uiDomain": "mesh.example..com"}}, "mesh:gateway.uiDomain: 'mesh.example..com' is not a host name Kong routes"),
        (
            {"gateway": {"corsOrigins": ["http://ui.example:0"]}},
            "mesh:gateway.corsOrigins[0]: 'http://ui.example:0' has port 0, outside 1-65535",
        ),
        (
            {"gateway": {"corsOrigins": ["http://ui.example:65536"]}},
            "mesh:gateway.corsOrigins[0]: 'http://ui.example:65536' has port 65536",
        ),
    ],
)
def test_a_value_docker_or_kong_would_refuse_is_one_line_naming_the_key_and_why(raw, line):
    with pytest.raises(ConfigError) as error:
        parse_mesh_config(raw)
    assert str(error.value).startswith(line)


@pytest.mark.parametrize(
    "gateway",
    [
        {"uiDomain": "mesh.example.com."},
        {"uiDomain": "mesh-1.example_2.com"},
        {"corsOrigins": ["http://ui.example:1", "https://ui.example:65535"]},
    ],
)
def test_host_names_and_origins_kong_accepts_pass(gateway):
    assert parse_mesh_config({"gateway": gateway}).gateway is not None


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ({"a": 1}, "got a mapping"),
        ([1], "got a list"),
        ("é" * 58, 'got "' + "é" * 58 + '"'),
        ("é" * 59, 'got "' + "é" * 56 + "..."),
        (datetime.date(2026, 1, 2), "got datetime.date(2026, 1, 2)"),
    ],
)
def test_a_wrong_type_names_what_was_given_shortened_and_a_structure_by_its_kind_only(value, shown):
    with pytest.raises(ConfigError) as error:
        parse_mesh_config({"services": {"redis": {"memoryMb": value}}})
    assert str(error.value) == f"mesh:services.redis.memoryMb: expected an integer, {shown}"


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        (
            {"services": {"redis": {"memoryMb": -5}}},
            "mesh:services.redis.memoryMb: -5 is out of range (input should be greater than or equal to 16)",
        ),
        (
            {"monitoring": {"thresholds": {"errorRatio": 0}}},
            "mesh:monitoring.thresholds.errorRatio: 0 is out of range (input should be greater than 0)",
        ),
        (
            {"monitoring": {"thresholds": {"diskFreeRatio": 1}}},
            "mesh:monitoring.thresholds.diskFreeRatio: 1 is out of range (input should be less than 1)",
        ),
        # a mapping's key of the wrong type is named at its place in the key
        ({"services": {5: {}}}, "mesh:services[5]: expected a string, got 5"),
    ],
)
def test_an_out_of_range_number_or_a_wrong_key_shows_the_value_and_the_rule(raw, line):
    with pytest.raises(ConfigError) as error:
        parse_mesh_config(raw)
    assert str(error.value) == line


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        # a top-level key is secret as a whole when a secret setting lies inside it (`pulumi config set --secret --path`)
        (
            {"monitoring": {"thresholds": {"errorRatio": 5}}},
            "mesh:monitoring.thresholds.errorRatio: is out of range (input should be less than or equal to 1)",
        ),
        ({"monitoring": {"retention": ""}}, "mesh:monitoring.retention: is not valid (the value is not shown: it may hold a secret)"),
        (
            {"monitoring": {"alerting": {"email": {"to": "abc", "from": "a@b", "smarthost": "smtp:25"}}}},
            "mesh:monitoring.alerting.email.to: <secret> is not an email address",
        ),
        (
            {"monitoring": {"alerting": {"email": {"to": 1, "from": "a@b", "smarthost": "smtp:25"}}}},
            "mesh:monitoring.alerting.email.to: expected a string (the value is not shown: it may hold a secret)",
        ),
        # a value echoed without quotes is hidden from 8 characters on (a shorter one would hide ordinary words)
        ({"mcpServers": {"docs": {"cpus": "0.009999"}}}, "mesh:mcpServers.docs.cpus: <secret> is below Docker's smallest CPU limit"),
        ({"mcpServers": {"docs": {"cpus": "0.00999"}}}, "mesh:mcpServers.docs.cpus: 0.00999 is below Docker's smallest CPU limit"),
    ],
)
def test_an_error_under_a_key_set_as_a_secret_never_shows_its_value(raw, line):
    with pytest.raises(ConfigError) as error:
        parse_mesh_config(raw, secret_keys=[(next(iter(raw)),)])
    assert str(error.value).startswith(line)


@pytest.mark.parametrize(
    "secret_key",
    [
        ("monitoring", "alerting"),
        ("monitoring",),
        ("monitoring", "alerting", "slack", "webhookUrl"),
        ("mcpServers", "docs", "env", "TOKEN"),
    ],
)
def test_a_secret_is_accepted_exactly_where_the_mesh_keeps_it_secret(secret_key):
    assert parse_mesh_config({}, secret_keys=[secret_key]).bind_address == "127.0.0.1"


@pytest.mark.parametrize(
    ("secret_key", "key"), [(("bindAddress",), "mesh:bindAddress"), (("mcpServers", "docs", "image"), "mesh:mcpServers.docs.image")]
)
def test_a_secret_the_mesh_would_publish_in_plaintext_is_refused(secret_key, key):
    with pytest.raises(ConfigError) as error:
        parse_mesh_config({}, secret_keys=[secret_key])
    assert error.value.key == key and "is set as a secret, but the mesh publishes this setting in plaintext" in error.value.message


def test_a_cpu_limit_that_is_not_a_finite_number_is_refused_by_the_validator_itself():
    # the model's upper bound catches NaN and infinity first; check_cpus also guards callers outside the model
    for value in (float("nan"), float("inf")):
        with pytest.raises(ValueError) as error:
            check_cpus(value)
        assert str(error.value) == f"{value} is not a finite number of CPUs"


def test_the_stack_plan_checks_cpu_limits_against_the_docker_host_it_is_given():
    config = parse_mesh_config({"mcpServers": {"docs": {"cpus": 3}}})
    with pytest.raises(ConfigError) as error:
        plan_stack(config, host_cpus=2)
    assert error.value.key == "mesh:mcpServers.docs.cpus" and "the Docker host has 2" in error.value.message
    assert plan_stack(config, host_cpus=4).mcp.servers


def test_an_error_line_hides_a_long_run_of_letters_and_digits_but_keeps_a_long_word():
    token = "Ab3" * 11  # 33 characters, letters and digits: looks like a generated credential
    word = "a" * 40  # letters only: an ordinary (if long) word
    assert str(ConfigError("mesh:x", f"bad {token} and {word}")) == f"mesh:x: bad *** and {word}"


def test_a_floating_image_warning_shows_a_fully_pinned_example_of_its_own_repository():
    assert floating_tag("redis:8.2-alpine", 3) == (
        "image 'redis:8.2-alpine' floats: it moves with each release of its line; pin a full version (redis:1.1.1) or a digest"
    )
    assert floating_tag("redis:8.2.1-alpine", 3) is None


def test_only_the_alerting_receivers_and_mcp_server_env_hold_credentials():
    assert holds_credentials(("monitoring", "alerting")) and holds_credentials(("monitoring", "alerting", "slack", "webhookUrl"))
    assert holds_credentials(("mcpServers", "docs", "env", "TOKEN"))
    assert not holds_credentials(("monitoring",)) and not holds_credentials(("mcpServers", "docs", "image"))


def test_each_floating_image_override_is_one_warning_naming_its_key_and_the_catalogs_pin():
    config = parse_mesh_config(
        {
            "services": {"redis": {"image": "redis:8.2-alpine"}, "kong": {"image": "kong:3.9.1"}, "postgres": {"image": "postgres:17.6"}},
            "mcpOrchestrator": {"image": "docker:29-dind"},
            "mcpServers": {"docs": {"image": "node:22-slim"}},
        }
    )
    servers = [server for server in resolve_mcp(config, resolve_services(config)).servers if server.name == "docs"]
    floats = "floats: it moves with each release of its line; pin a full version"
    # PostgreSQL's own pin check takes major.minor as exact (postgres:17.6 is no warning); others want three parts
    assert floating_image_warnings(config, servers) == [
        f"mesh:services.redis.image: image 'redis:8.2-alpine' {floats} (redis:1.1.1) or a digest (the catalog pins redis:8.2.9-alpine)",
        f"mesh:mcpOrchestrator.image: image 'docker:29-dind' {floats} (docker:1.1.1) or a digest (the catalog pins docker:29.7.2-dind)",
        f"mesh:mcpServers.docs.image: image 'node:22-slim' {floats} (node:1.1.1) or a digest (the catalog pins node:22.23.2-bookworm-slim)",
    ]
    assert floating_image_warnings(parse_mesh_config({}), []) == []


def test_a_port_conflict_blames_the_key_the_user_set_and_else_the_later_one():
    user_first, user_later = HostPortOwner("a", "mesh:a", True), HostPortOwner("b", "mesh:b", True)
    default = HostPortOwner("b", "mesh:b", False)
    assert str(port_conflict(10000, user_first, default)) == "mesh:a: host port 10000 is used by both a and b (mesh:b)"
    assert str(port_conflict(10000, user_first, user_later)) == "mesh:b: host port 10000 is used by both b and a (mesh:a)"


@pytest.mark.parametrize(("port", "accepted"), [(0, False), (1, True), (65535, True), (65536, False)])
def test_a_host_port_is_accepted_exactly_from_1_to_65535(port, accepted):
    raw = {"services": {"redis": {"hostPorts": [port]}}}
    if accepted:
        assert check_tcp_port(port) == port
    else:
        with pytest.raises(ConfigError) as error:
            parse_mesh_config(raw)
        assert str(error.value) == f"mesh:services.redis.hostPorts[0]: {port} is not a TCP port (1-65535)"


@pytest.mark.parametrize(
    ("package", "line"),
    [
        (
            "@scope/name@^1.2.3",
            "'@scope/name@^1.2.3' is not pinned to an exact version (npm treats it as a range or tag); give one, e.g. @scope/name@1.2.3",
        ),
        ("Bad Name@1.0.0", "'Bad Name@1.0.0' is not an npm package name with a version (e.g. @scope/name@1.2.3)"),
        ("x" * 215 + "@1.0.0", f"{('x' * 215 + '@1.0.0')!r} is not an npm package name with a version (e.g. @scope/name@1.2.3)"),
    ],
)
def test_an_mcp_package_is_a_valid_npm_name_pinned_to_one_version(package, line):
    with pytest.raises(ConfigError) as error:
        parse_mesh_config({"mcpServers": {"docs": {"package": package}}})
    assert error.value.key == "mesh:mcpServers.docs.package" and error.value.message == line
    assert parse_mesh_config({"mcpServers": {"docs": {"package": "x" * 214 + "@1.0.0"}}}).mcp_servers["docs"].package is not None


def test_an_error_line_is_one_line_at_most_400_characters_with_credentials_hidden():
    assert str(ConfigError("k", "a\nb\u2028c")) == "k: a\\nb\\u2028c"
    assert str(ConfigError("k", "see https://user:pw@host and ghp_abcdefgh12345678 x")) == "k: see https://***@host and *** x"
    assert ConfigError("k", "y" * 400).message == "y" * 400
    assert ConfigError("k", "y" * 401).message == "y" * 397 + "..."


def test_an_unknown_hash_input_names_the_known_ones_and_a_weight_may_reach_kongs_maximum():
    with pytest.raises(ConfigError) as error:
        parse_mesh_config({"gateway": {"upstreams": {"backend": {"hashOn": "x"}}}})
    assert str(error.value) == "mesh:gateway.upstreams.backend.hashOn: unknown hash input 'x' (known: ip, consumer, path)"
    high = WEIGHT_RANGE[1]
    assert parse_mesh_config({"gateway": {"upstreams": {"backend": {"weights": {"backend": high}}}}}).gateway is not None
