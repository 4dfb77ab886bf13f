"""The details users read in rendered files and refusals: kong.yml's header and parse errors, the Consul server's
agent-token command, Prometheus without an Alertmanager, and config errors around secret keys."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import textwrap
from pathlib import Path

import pytest

from components.model.base import ConfigError
from components.model.mesh import ConfigPath, parse_mesh_config
from components.render.consul import (
    CONSUL_AGENT_CONFIG_PATH,
    ConsulAgentConfig,
    render_consul_agent_config,
    render_consul_start_script,
)
from components.render.kong import KongConfig, KongFileError, Route, Service, parse_kong_yml, render_kong_yml
from tests.test_prometheus_config import default_endpoints, rendered

# --- kong.yml ---


def test_the_rendered_kong_yml_opens_with_a_comment_saying_to_edit_the_stack_config_not_the_file():
    first_line = render_kong_yml(KongConfig()).splitlines()[0]
    assert first_line == "# Rendered by service-mesh from the catalog and mesh:gateway; edit the stack config, not this file."


ONE_SERVICE = "_format_version: '3.0'\nservices:\n- {name: a, host: a-upstream, port: 80, routes: [{name: a, paths: ['/a']}]}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- services\n", "kong.yml: expected a mapping at the top"),
        ("services: []\n", "_format_version: expected '3.0', got None"),
        ("_format_version: '3.0'\nservices: {}\n", "kong.yml.services: expected a list"),
        ("_format_version: '3.0'\nservices: [a]\n", "kong.yml.services[0]: expected a mapping"),
        (ONE_SERVICE.replace("port: 80", "port: eighty"), "kong.yml.services[0].port: expected int, got 'eighty'"),
        (ONE_SERVICE.replace("paths: ['/a']", "paths: '/a'"), "kong.yml.services[0].routes[0].paths: expected a list"),
        (
            "_format_version: '3.0'\nconsumers:\n- {username: u, jwt_secrets: [{key: k, secret: s, algorithm: RS256}]}\n",
            "kong.yml.consumers[0].jwt_secrets[0].algorithm: 'RS256' is not one of ('HS256',)",
        ),
    ],
    ids=["not-a-mapping", "no-format-version", "list-as-mapping", "mapping-as-string", "wrong-scalar", "optional-list", "literal"],
)
def test_a_kong_yml_that_does_not_fit_the_model_is_refused_naming_where(text, message):
    with pytest.raises(KongFileError) as error:
        parse_kong_yml(text)
    assert str(error.value) == message


def test_a_kong_yml_optional_field_written_as_null_reads_as_unset():
    text = ONE_SERVICE.replace("paths: ['/a']", "paths: null")
    assert parse_kong_yml(text) == KongConfig(services=(Service(name="a", host="a-upstream", port=80, routes=(Route(name="a"),)),))


# --- the Consul server's agent token ---


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)


@pytest.mark.parametrize(
    ("node_name", "description", "identity"),
    [
        ("consul-server", "consul-server agent token (node identity)", "consul-server:dc2"),
        # a swarm task's server is named after its host: the shell asks `hostname`
        (None, "consul-7f3a agent token (node identity)", "consul-7f3a:dc2"),
    ],
    ids=["named-node", "host-named-node"],
)
def test_the_consul_server_asks_for_a_token_with_its_own_node_identity_as_one_argument_each(
    tmp_path: Path, node_name: str | None, description: str, identity: str
) -> None:
    bin_dir, data, arguments, agent_token_set = tmp_path / "bin", tmp_path / "data", tmp_path / "create-args", tmp_path / "done"
    bin_dir.mkdir()
    data.mkdir()
    config = tmp_path / "mesh.json"
    config.write_text(render_consul_agent_config(ConsulAgentConfig(management_token="mgmt-secret")))
    # the agent runs until its token is set; the consul CLI writes each argument of `acl token create` on its own line
    _stub(bin_dir, "docker-entrypoint.sh", f"until [ -e {agent_token_set} ]; do sleep 0.02; done\n")
    _stub(bin_dir, "curl", """echo '"172.17.0.2:8300"'\n""")
    _stub(bin_dir, "hostname", "echo consul-7f3a\n")
    _stub(bin_dir, "consul", f"""
        case "$1 $2 $3" in
          "acl token create") printf '%s\\n' "$@" > {arguments}; printf '{{\\n    "SecretID": "agent-secret"\\n}}\\n' ;;
          "acl set-agent-token agent") touch {agent_token_set} ;;
        esac
    """)  # fmt: skip
    script = render_consul_start_script(node_name, "dc2").replace(CONSUL_AGENT_CONFIG_PATH, str(config))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CONSUL_DATA_DIR": str(data)}
    # its own session: a test stopped half-way leaves no shell or stand-in agent behind
    started = subprocess.Popen(["sh", "-c", script], env=env, start_new_session=True)
    try:
        assert started.wait(timeout=10) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(started.pid, signal.SIGKILL)
    assert arguments.read_text().splitlines() == [
        "acl", "token", "create", "-description", description, "-node-identity", identity, "-format", "json",
    ]  # fmt: skip


# --- prometheus.yml ---


def test_prometheus_without_an_alertmanager_renders_no_alerting_section():
    endpoints = default_endpoints({"services": {"alertmanager": {"enabled": False}}})
    document = rendered(endpoints)
    assert "alerting" not in document and document["scrape_configs"]


# --- secrets the mesh would publish ---

PUBLISHED_IN_PLAINTEXT = (
    "is set as a secret, but the mesh publishes this setting in plaintext (container specs, labels, outputs); "
    "only mesh:monitoring.alerting.* and mesh:mcpServers.<name>.env.* are kept secret: set it without --secret"
)


@pytest.mark.parametrize(
    "secret_keys",
    [
        [("services", "redis", "image"), ("services", "redis-cache", "image")],
        [("services", "redis-cache", "image"), ("services", "redis", "image")],
    ],
    ids=["given-first", "given-last"],
)
def test_of_several_secrets_the_mesh_would_publish_the_refusal_names_the_first_key_as_text(secret_keys: list[ConfigPath]):
    # keys sort as the user reads them: `redis-cache` before `redis.image` (`-` sorts before `.`)
    with pytest.raises(ConfigError) as error:
        parse_mesh_config({}, secret_keys=secret_keys)
    assert str(error.value) == f"mesh:services.redis-cache.image: {PUBLISHED_IN_PLAINTEXT}"


def test_a_mistake_outside_the_secret_keys_still_shows_the_value_given():
    # mesh:monitoring is secret (an alerting webhook inside it); the bind address is not, so its value helps the user
    with pytest.raises(ConfigError) as error:
        parse_mesh_config({"bindAddress": "10.0.0.300"}, secret_keys=[("monitoring",)])
    assert str(error.value) == "mesh:bindAddress: '10.0.0.300' is not an IP address (e.g. 127.0.0.1 or 0.0.0.0)"
