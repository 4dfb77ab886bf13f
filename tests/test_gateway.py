"""The Kong container as the stack registers it: DB-less with the rendered kong.yml, ports, tracing, secrets."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml

from components.model.base import ConfigError
from components.model.mesh import parse_mesh_config
from components.offline.synth import Capture, Secret
from components.offline.types import CONTAINER, RANDOM_PASSWORD
from components.plan.stack import plan_stack
from components.render.kong import parse_kong_yml
from components.wiring.gateway import KONG_YML_PATH
from tests.gateway_fixtures import deck_validate, with_backend
from tests.queries import host_containers, listening_ports


@pytest.fixture(scope="module")
def routed(request) -> Capture:
    """A stack with the backend on (two replicas) and two UIs published, the proxy open on the LAN."""
    from components.offline.synth import synthesize

    return synthesize(
        {
            **with_backend({"ui": ["grafana", "jaeger"]}, backend={"enabled": True, "replicas": 2}),
            "bindAddress": "0.0.0.0",
            "proxyBindAddress": "0.0.0.0",
        }
    )


def kong_ports(capture: Capture) -> dict[int, tuple[str, int]]:
    kong = capture.one(CONTAINER, "kong").plain
    return {int(port["internal"]): (port["ip"], int(port["external"])) for port in kong["ports"]}


def test_kong_runs_db_less_from_the_uploaded_kong_yml(plan):
    kong = plan.one(CONTAINER, "kong").plain
    assert "KONG_DATABASE=off" in kong["envs"]
    assert f"KONG_DECLARATIVE_CONFIG={KONG_YML_PATH}" in kong["envs"]
    uploaded = {upload["file"]: upload["content"] for upload in kong["uploads"]}
    assert parse_kong_yml(uploaded[KONG_YML_PATH]) == parse_kong_yml(plan.rendered_files["kong/kong.yml"])


def test_default_stack_kong_yml_passes_deck_validate(plan, tmp_path):
    result = deck_validate(plan.rendered_files["kong/kong.yml"], tmp_path)
    assert result.returncode == 0, result.stderr


def test_routed_stack_kong_yml_passes_deck_validate(routed, tmp_path):
    result = deck_validate(routed.rendered_files["kong/kong.yml"], tmp_path)
    assert result.returncode == 0, result.stderr


def test_admin_api_binds_to_loopback_whatever_the_bind_address(routed):
    ports = kong_ports(routed)
    assert ports[8001] == ("127.0.0.1", 10015)
    assert ports[8000] == ("0.0.0.0", 10005)


def test_proxy_binds_to_the_proxy_bind_address(synth):
    capture = synth({"bindAddress": "127.0.0.1", "proxyBindAddress": "0.0.0.0"})
    ports = kong_ports(capture)
    assert ports[8000] == ("0.0.0.0", 10005)
    assert ports[8001] == ("127.0.0.1", 10015)
    assert 8100 not in ports  # the status listener stays on the mesh network


def test_kong_is_ready_only_when_its_status_listener_says_so(plan):
    healthcheck = plan.one(CONTAINER, "kong").plain["healthcheck"]
    probe = " ".join(healthcheck["tests"])
    assert "/dev/tcp/127.0.0.1/8100" in probe and "GET /status/ready " in probe
    assert plan.one(CONTAINER, "kong").props["wait"] is True


def test_kong_records_traces_for_the_opentelemetry_plugin(plan):
    envs = plan.one(CONTAINER, "kong").plain["envs"]
    assert "KONG_TRACING_INSTRUMENTATIONS=all" in envs
    assert "KONG_TRACING_SAMPLING_RATE=1" in envs
    plugins = {p["name"]: p["config"] for p in yaml.safe_load(plan.rendered_files["kong/kong.yml"])["plugins"]}
    assert plugins["opentelemetry"]["traces_endpoint"] == "http://jaeger:4318/v1/traces"


def test_sampling_rate_follows_config(synth):
    envs = synth({"gateway": {"tracingSamplingRate": 0.25}}).one(CONTAINER, "kong").plain["envs"]
    assert "KONG_TRACING_SAMPLING_RATE=0.25" in envs


def test_every_route_resolves_to_targets_that_are_aliases_and_internal_ports_of_enabled_services(routed):
    document = yaml.safe_load(routed.rendered_files["kong/kong.yml"])
    upstreams = {upstream["name"]: upstream for upstream in document["upstreams"]}
    reachable = set()
    for container in host_containers(routed):
        internal_ports = listening_ports(routed, container)
        for network in container.plain["networksAdvanced"]:
            reachable |= {f"{alias}:{port}" for alias in network["aliases"] for port in internal_ports}
    routes = [route for service in document["services"] for route in service["routes"]]
    mcp_routes = set(routed.outputs["mcpServers"])
    assert {route["name"] for route in routes} == {"backend-api", "backend-health", "grafana-ui", "jaeger-ui"} | mcp_routes
    for service in document["services"]:
        upstream = upstreams[service["host"]]
        targets = {target["target"] for target in upstream["targets"]}
        assert targets and targets <= reachable, (service["name"], targets - reachable)
    assert {t["target"] for t in upstreams["backend-upstream"]["targets"]} == {"backend-1:8000", "backend-2:8000"}


def _plain_occurrences(value: Any, needle: str, path: str = "", secret: bool = False) -> Iterator[tuple[str, bool]]:
    """Every place a string containing `needle` appears, and whether a secret marker covers it."""
    if isinstance(value, Secret):
        yield from _plain_occurrences(value.value, needle, path, True)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _plain_occurrences(item, needle, f"{path}.{key}", secret)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _plain_occurrences(item, needle, f"{path}[{index}]", secret)
    elif isinstance(value, str) and needle in value:
        yield path, secret


@pytest.mark.parametrize("field", ["jwtSecret", "apiKey"])
def test_jwt_secret_and_api_key_are_secret_in_every_input(routed, field):
    gateway = routed.outputs["gateway"]
    assert isinstance(gateway, Secret)
    value = gateway.value[field]
    places = [
        (f"{registration.name}{path}", secret)
        for registration in routed.resources
        for path, secret in _plain_occurrences(registration.props, value)
    ]
    kong = [place for place, _ in places if place.startswith("kong.uploads")]
    assert kong, "the credential must reach Kong through the uploaded kong.yml"
    assert [place for place, secret in places if not secret] == []


def test_gateway_credentials_come_from_pulumi_random(routed):
    names = {registration.name for registration in routed.all(RANDOM_PASSWORD)}
    assert {"mesh-credentials-gateway-jwt-secret", "mesh-credentials-gateway-api-key"} <= names
    lengths = {r.name: r.plain["length"] for r in routed.all(RANDOM_PASSWORD)}
    assert lengths["mesh-credentials-gateway-jwt-secret"] >= 32  # HS256 wants a 256-bit key


def test_gateway_output_tells_clients_where_and_how_to_call(routed):
    gateway = routed.outputs["gateway"].value
    assert gateway["proxyUrl"] == "http://127.0.0.1:10005"
    assert gateway["jwtIssuer"] == "mesh-client"
    consumer = yaml.safe_load(routed.rendered_files["kong/kong.yml"])["consumers"][0]
    assert consumer["jwt_secrets"][0]["secret"] == gateway["jwtSecret"]
    assert consumer["keyauth_credentials"][0]["key"] == gateway["apiKey"]


def test_no_gateway_output_without_kong(synth):
    capture = synth({"services": {"kong": {"enabled": False}}})
    assert "gateway" not in capture.outputs
    assert capture.all(CONTAINER, "kong") == []


def test_bad_gateway_config_stops_the_program_before_anything_is_registered(synth):
    with pytest.raises(ConfigError, match=r"^mesh:gateway\.upstreams\.backend: backend is disabled"):
        synth({"services": {"backend": {"enabled": False}}, "gateway": {"upstreams": {"backend": {"algorithm": "latency"}}}})


def test_the_readme_token_snippet_mints_a_jwt_the_consumer_credential_accepts(routed, tmp_path):
    # PyJWT decodes it: an HS256 implementation independent of the snippet
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    snippet = re.search(r"```python\n(# mint_token\.py.*?)```", readme, re.DOTALL)
    assert snippet is not None, "README lost its token-minting snippet"
    outputs = tmp_path / "gateway.json"
    outputs.write_text(json.dumps(routed.outputs["gateway"].value))
    script = snippet.group(1).replace("/tmp/gateway.json", str(outputs))
    token = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=30).stdout.strip()

    document = yaml.safe_load(routed.rendered_files["kong/kong.yml"])
    credential = document["consumers"][0]["jwt_secrets"][0]
    api_route = next(r for s in document["services"] for r in s["routes"] if r["name"] == "backend-api")
    jwt_config = next(p["config"] for p in api_route["plugins"] if p["name"] == "jwt")
    claims = jwt.decode(
        token, credential["secret"], algorithms=[credential["algorithm"]], options={"require": jwt_config["claims_to_verify"]}
    )
    assert claims[jwt_config["key_claim_name"]] == credential["key"]


def test_kong_re_resolves_a_replaced_target_within_one_breaker_probe_interval(plan):
    # Docker's DNS answers with a 600 s TTL; Kong would keep a replaced container's old IP that long (503s)
    envs = dict(str(env).split("=", 1) for env in plan.one(CONTAINER, "kong").plain["envs"])
    ttl = int(envs["KONG_DNS_VALID_TTL"])
    probe_intervals = [service.breaker.probe_interval_s for service in plan_stack(parse_mesh_config({})).gateway.services]
    assert 1 <= ttl <= min(probe_intervals)


def test_a_shorter_probe_interval_shortens_kongs_dns_ttl(synth):
    capture = synth({"gateway": {"upstreams": {"backend": {"probeIntervalS": 2}}}})
    envs = dict(str(env).split("=", 1) for env in capture.one(CONTAINER, "kong").plain["envs"])
    assert envs["KONG_DNS_VALID_TTL"] == "2"
