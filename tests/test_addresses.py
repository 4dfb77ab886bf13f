"""One rule turns a bind address into a URL a client on the host can use, and every URL output follows it."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from components.model.discovery import DiscoveryConfig
from components.model.mesh import parse_mesh_config
from components.model.telemetry import TelemetryConfig
from components.offline.synth import Capture
from components.plan.addresses import client_host, client_url, consul_api_address, grafana_url
from components.plan.mcp import mcp_urls, resolve_mcp
from components.plan.services import resolve_services

# bind address -> the host a client on the Docker host connects to
BINDS = {
    "127.0.0.1": "127.0.0.1",
    "192.0.2.10": "192.0.2.10",
    "0.0.0.0": "127.0.0.1",
    "::": "127.0.0.1",
    "::1": "[::1]",
    "2001:db8::7": "[2001:db8::7]",
}


@pytest.mark.parametrize(("bind_address", "host"), BINDS.items())
def test_a_wildcard_is_reached_on_loopback_and_ipv6_goes_in_brackets(bind_address: str, host: str) -> None:
    assert client_host(bind_address) == host
    url = client_url("redis", bind_address, 10001, "/0")
    assert url == f"redis://{host}:10001/0"
    parts = urlsplit(url)
    assert (parts.hostname, parts.port, parts.path) == (host.strip("[]"), 10001, "/0")


@pytest.mark.parametrize(("bind_address", "host"), BINDS.items())
def test_consul_and_grafana_provider_addresses_follow_the_rule(bind_address: str, host: str) -> None:
    assert consul_api_address(DiscoveryConfig(), bind_address, 10006) == ("http", f"{host}:10006")
    assert grafana_url(TelemetryConfig(), bind_address, 10201) == f"http://{host}:10201"


@pytest.mark.parametrize(("bind_address", "host"), BINDS.items())
def test_mcp_server_urls_follow_the_rule(bind_address: str, host: str) -> None:
    config = parse_mesh_config({"bindAddress": bind_address})
    urls = mcp_urls(resolve_mcp(config, resolve_services(config)), config)
    assert urls["mcp-claude-flow"] == f"http://{host}:3001/mcp"
    assert all(urlsplit(url).hostname == host.strip("[]") for url in urls.values())


@pytest.mark.parametrize("bind_address", ["::1", "::", "0.0.0.0"])
def test_every_url_output_is_a_valid_url_on_the_address_a_client_uses(synth: Callable[..., Capture], bind_address: str) -> None:
    outputs = synth({"bindAddress": bind_address}).outputs
    host = BINDS[bind_address]
    urls = {**outputs["accessPoints"], **outputs["mcpServers"], "gateway": outputs["gateway"].value["proxyUrl"]}
    for key, url in urls.items():
        parts = urlsplit(url)
        expected = "127.0.0.1" if key == "kong.status" else host.strip("[]")  # the status listener stays on loopback
        assert parts.hostname == expected, (key, url)
        assert parts.port is not None, (key, url)
    if bind_address == "::1":
        assert outputs["mcpServers"]["mcp-claude-flow"] == "http://[::1]:3001/mcp"
        assert outputs["accessPoints"]["redis"] == "redis://[::1]:10001"
        assert outputs["gateway"].value["proxyUrl"] == "http://[::1]:10005"


def test_a_configured_consul_or_grafana_address_wins_over_the_published_port() -> None:
    discovery = DiscoveryConfig.model_validate({"address": "https://consul.example:8501"})
    assert consul_api_address(discovery, "127.0.0.1", 10006) == ("https", "consul.example:8501")
    telemetry = TelemetryConfig.model_validate({"grafanaUrl": "https://grafana.example"})
    assert grafana_url(telemetry, "127.0.0.1", 10201) == "https://grafana.example"
