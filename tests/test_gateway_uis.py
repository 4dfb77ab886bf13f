"""UIs published through the proxy: each behind its own generated basic-auth credential at Kong, and the
endpoints that stop or change a service refused there. Answers come from tests/kong_router.py."""

from __future__ import annotations

import base64

import pytest
import yaml

from components.offline.synth import Secret
from components.plan.gateway import UI_PORTS, kong_config
from components.render.kong import KongConfig
from tests.gateway_fixtures import CREDENTIALS, plan_of, with_backend
from tests.kong_router import request

UIS = list(UI_PORTS)


def all_uis() -> KongConfig:
    return kong_config(plan_of(with_backend({"ui": UIS})), CREDENTIALS)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def own(ui: str) -> dict[str, str]:
    return basic(ui, CREDENTIALS.ui_passwords[ui])


@pytest.mark.parametrize("ui", UIS)
def test_a_ui_without_its_credential_answers_401(ui):
    config = all_uis()
    assert request(config, f"{ui}.localhost", "GET", "/").status == 401
    assert request(config, f"{ui}.localhost", "GET", "/", basic(ui, "wrong")).status == 401
    # the API consumer's key opens MCP routes, not UIs
    assert request(config, f"{ui}.localhost", "GET", "/", {"apikey": CREDENTIALS.api_key}).status == 401


@pytest.mark.parametrize("ui", UIS)
def test_a_ui_opens_with_its_own_credential_only(ui):
    config = all_uis()
    answer = request(config, f"{ui}.localhost", "GET", "/", own(ui))
    assert (answer.status, answer.route, answer.consumer) == (200, f"{ui}-ui", f"{ui}-ui")
    other = next(name for name in UIS if name != ui)
    assert request(config, f"{ui}.localhost", "GET", "/", own(other)).status == 403


@pytest.mark.parametrize("path", ["/-/quit", "/-/reload", "/api/v1/admin/tsdb/delete_series", "/api/v1/admin/tsdb/snapshot"])
def test_prometheus_lifecycle_and_admin_endpoints_are_refused_at_the_proxy(path):
    config = all_uis()
    assert request(config, "prometheus.localhost", "POST", path, own("prometheus")).status == 403
    assert request(config, "prometheus.localhost", "GET", "/api/v1/query", own("prometheus")).status == 200


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/api/v2/silences"), ("DELETE", "/api/v2/silence/1"), ("POST", "/api/v2/alerts"), ("POST", "/-/reload")]
)
def test_alertmanager_write_api_is_refused_at_the_proxy(method, path):
    config = all_uis()
    assert request(config, "alertmanager.localhost", method, path, own("alertmanager")).status == 403
    assert request(config, "alertmanager.localhost", "GET", "/api/v2/silences", own("alertmanager")).status == 200


def test_api_and_mcp_routes_keep_their_own_auth():
    config = all_uis()
    assert request(config, "localhost", "GET", "/api/items").status == 401
    assert request(config, "localhost", "POST", "/mcp/files", {"apikey": CREDENTIALS.api_key}).status == 200
    assert request(config, "localhost", "GET", "/health").status == 200


def test_ui_credentials_are_generated_per_ui_and_exported_only_as_a_secret(routed_uis):
    names = {r.name for r in routed_uis.all("random:index/randomPassword:RandomPassword")}
    assert {"mesh-credentials-gateway-ui-grafana", "mesh-credentials-gateway-ui-prometheus"} <= names
    gateway = routed_uis.outputs["gateway"]
    assert isinstance(gateway, Secret)
    uis = gateway.value["uis"]
    assert set(uis) == {"grafana", "prometheus"}
    assert uis["grafana"]["url"] == "http://grafana.localhost:10005" and uis["grafana"]["user"] == "grafana"
    assert uis["grafana"]["password"] != uis["prometheus"]["password"]
    consumers = {c["username"]: c for c in yaml.safe_load(routed_uis.rendered_files["kong/kong.yml"])["consumers"]}
    assert consumers["grafana-ui"]["basicauth_credentials"] == [{"username": "grafana", "password": uis["grafana"]["password"]}]


@pytest.fixture(scope="module")
def routed_uis():
    from components.offline.synth import synthesize

    return synthesize({"gateway": {"ui": ["grafana", "prometheus"]}})
