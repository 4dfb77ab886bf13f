"""Config values Docker, npm or Kong would refuse (or misread) are refused first, by the key the user wrote;
conflicts name both keys, the user's first; the pack judges with the stack's own port ranges; a key written
twice in a stack file is reported."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from components.model.base import ConfigError
from components.model.mesh import parse_mesh_config
from components.offline.synth import try_synthesize
from tests.queries import PACK_PASSED
from tools import plan as plan_tool

ROOT = Path(__file__).resolve().parent.parent

REFUSED = [
    # Docker's reference grammar (distribution/reference) and go-digest's encodings
    ({"services": {"redis": {"image": "redis@sha256:nothex"}}}, "mesh:services.redis.image", "not a valid Docker reference"),
    ({"services": {"redis": {"image": "redis@sha256:" + "a" * 63}}}, "mesh:services.redis.image", "malformed sha256 digest"),
    ({"services": {"redis": {"image": "redis@sha256:" + "A" * 64}}}, "mesh:services.redis.image", "malformed sha256 digest"),
    ({"services": {"redis": {"image": "redis@md5:" + "a" * 32}}}, "mesh:services.redis.image", "does not support"),
    ({"services": {"redis": {"image": ":8.2"}}}, "mesh:services.redis.image", "not a valid Docker reference"),
    ({"services": {"redis": {"image": "Redis:8.2"}}}, "mesh:services.redis.image", "must be lowercase"),
    ({"services": {"redis": {"image": "redis:8.2 "}}}, "mesh:services.redis.image", "not a valid Docker reference"),
    ({"services": {"redis": {"image": "redis:8.\u0662"}}}, "mesh:services.redis.image", "not a valid Docker reference"),
    ({"mcpOrchestrator": {"image": "docker:"}}, "mesh:mcpOrchestrator.image", "not a valid Docker reference"),
    # Docker binds published ports to a bare IP
    ({"bindAddress": "::1%lo"}, "mesh:bindAddress", "has a zone"),
    ({"proxyBindAddress": "fe80::1%eth0"}, "mesh:proxyBindAddress", "has a zone"),
    # Docker's CPU bounds: 0.01 at least, nano precision
    ({"services": {"redis": {"cpus": 0.00123}}}, "mesh:services.redis.cpus", "below Docker's smallest CPU limit of 0.01"),
    ({"services": {"redis": {"cpus": 0.5000000001}}}, "mesh:services.redis.cpus", "too precise"),
    ({"mcpServers": {"files": {"cpus": 0.0015}}}, "mesh:mcpServers.files.cpus", "below Docker's smallest"),
    ({"mcpOrchestrator": {"cpus": 0.0095}}, "mesh:mcpOrchestrator.cpus", "below Docker's smallest"),
    # npm's exact-version rule
    ({"mcpServers": {"files": {"package": "@modelcontextprotocol/server-filesystem@1.x"}}}, "mesh:mcpServers.files.package", "exact"),
    ({"mcpServers": {"files": {"package": "@modelcontextprotocol/server-filesystem@^1.2.3"}}}, "mesh:mcpServers.files.package", "exact"),
    ({"mcpServers": {"files": {"package": "server-filesystem@1.2"}}}, "mesh:mcpServers.files.package", "exact"),
    ({"mcpServers": {"files": {"package": "server-filesystem@1.2.3 || 2.0.0"}}}, "mesh:mcpServers.files.package", "exact"),
    ({"mcpServers": {"files": {"package": "@scope@1.2.3"}}}, "mesh:mcpServers.files.package", "npm package name"),
    # the MCP probe's health face is port + 100
    (
        {"portRanges": {"mcp": [3000, 65535]}, "mcpServers": {"x": {"port": 65500, "package": "x@1.0.0", "bin": "x"}}},
        "mesh:mcpServers.x.port",
        "health port (65500 + 100) is above 65535",
    ),
    # dockerHost: the port as the policy pack and Go read it
    ({"mcpOrchestrator": {"dockerHost": "tcp://127.0.0.1:02375"}}, "mesh:mcpOrchestrator.dockerHost", "leading zero"),
    ({"mcpOrchestrator": {"dockerHost": "tcp://127.0.0.1:012376"}}, "mesh:mcpOrchestrator.dockerHost", "leading zero"),
    ({"mcpOrchestrator": {"dockerHost": "tcp://127.0.0.1:99999"}}, "mesh:mcpOrchestrator.dockerHost", "not a TCP port"),
    ({"mcpOrchestrator": {"dockerHost": "tcp://127.0.0.1:2376/path"}}, "mesh:mcpOrchestrator.dockerHost", "tcp://<host>:<port>"),
    # Kong: an origin has no path; route hosts are host names
    ({"gateway": {"corsOrigins": ["http://localhost:3000/app"]}}, "mesh:gateway.corsOrigins[0]", "with no path"),
    ({"gateway": {"corsOrigins": ["*", "https://a.example.com/"]}}, "mesh:gateway.corsOrigins[1]", "with no path"),
    ({"gateway": {"uiDomain": "my domain"}}, "mesh:gateway.uiDomain", "not a host name Kong routes"),
    ({"gateway": {"uiDomain": "mesh-.example.com"}}, "mesh:gateway.uiDomain", "not a host name Kong routes"),
    ({"gateway": {"uiDomain": "mesh..example.com"}}, "mesh:gateway.uiDomain", "not a host name Kong routes"),
]


@pytest.mark.parametrize(("raw_config", "key", "reason"), REFUSED, ids=[f"{key}-{reason}" for _, key, reason in REFUSED])
def test_a_value_the_consumer_would_refuse_is_one_line_naming_the_key_and_registers_nothing(raw_config, key, reason):
    capture, error = try_synthesize(raw_config)
    assert isinstance(error, ConfigError), f"accepted: {raw_config}"
    assert error.key == key and reason in error.message
    assert len(str(error).splitlines()) == 1
    assert capture.resources == []


ACCEPTED = [
    {"services": {"redis": {"image": "redis@sha256:" + "0123456789abcdef" * 4}}},
    {"services": {"redis": {"image": "redis:8.2@sha256:" + "0123456789abcdef" * 4}}},
    {"services": {"redis": {"image": "localhost:5000/team/redis:8.2-alpine"}}},
    {"services": {"redis": {"image": "[::1]:5000/redis:8.2"}}},
    {"services": {"redis": {"image": "ghcr.io/a__b/c--d.e:v1_2.3-rc.1"}}},
    {"bindAddress": "::1"},
    {"services": {"redis": {"cpus": 0.25}}},
    {"services": {"redis": {"cpus": 1.123456789}}},
    {"mcpServers": {"files": {"package": "@modelcontextprotocol/server-filesystem@2026.8.31-rc.1+build.5"}}},
    {"mcpServers": {"files": {"port": 65435}}},
    {"mcpOrchestrator": {"dockerHost": "tcp://[::1]:12376"}},
    {"mcpOrchestrator": {"dockerHost": "tcp://dind.internal:12376/"}},
    {"gateway": {"corsOrigins": ["*", "https://app.example.com", "http://localhost:8080"], "uiDomain": "mesh.example.com."}},
]


@pytest.mark.parametrize("raw_config", ACCEPTED, ids=[json.dumps(config)[:60] for config in ACCEPTED])
def test_a_value_the_consumer_accepts_passes(raw_config):
    parse_mesh_config(raw_config)


def test_a_host_port_taken_by_a_service_and_a_default_mcp_server_is_blamed_on_the_service_key_the_user_wrote():
    capture, error = try_synthesize({"portRanges": {"core": [3000, 10099]}, "services": {"redis": {"hostPorts": [3001]}}})
    assert str(error) == (
        "mesh:services.redis.hostPorts[0]: host port 3001 is used by both redis and mcp-claude-flow (mesh:mcpServers.claude-flow.port)"
    )
    assert capture.resources == []


def test_a_host_port_taken_by_a_service_and_the_default_orchestrator_port_is_blamed_on_the_service_key():
    _, error = try_synthesize({"portRanges": {"core": [10000, 12400]}, "services": {"redis": {"hostPorts": [12376]}}})
    assert str(error) == (
        "mesh:services.redis.hostPorts[0]: host port 12376 is used by both redis and mcp-orchestrator (mesh:mcpOrchestrator.hostPort)"
    )


NO_CONSUL = "config:\n  mesh:services:\n" + "".join(
    f"    {name}: {{enabled: false}}\n" for name in ("consul", "consul-esm", "consul-exporter")
)


def test_disabling_consul_is_one_config_error_not_a_policy_violation_per_container(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.noconsul.yaml"
    stack_file.write_text(NO_CONSUL)
    code = plan_tool.main(["--config", str(stack_file), "--out", str(tmp_path / "build")])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.splitlines() == [
        "error: mesh:services.consul.enabled: the policy pack's registered-in-consul requires every container to be registered "
        "in Consul; keep Consul, or set registered-in-consul to disabled in the pack config"
    ]
    assert not (tmp_path / "build").exists()


def test_a_stack_without_consul_passes_when_the_pack_config_disables_registration(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.noconsul.yaml"
    stack_file.write_text(NO_CONSUL)
    pack = tmp_path / "policy.json"
    pack.write_text(json.dumps({"registered-in-consul": "disabled"}))
    code = plan_tool.main(["--config", str(stack_file), "--out", str(tmp_path / "build"), "--policy-config", str(pack)])
    assert code == 0 and PACK_PASSED.search(capsys.readouterr().out) is not None


MOVED_RANGE = """\
config:
  mesh:portRanges:
    core: [10000, 10149]
  mesh:services:
    redis:
      hostPorts: [10140]
"""


def test_make_plan_judges_host_ports_by_the_stacks_own_port_ranges(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.moved.yaml"
    stack_file.write_text(MOVED_RANGE)
    code = plan_tool.main(["--config", str(stack_file), "--out", str(tmp_path / "build")])
    out = capsys.readouterr().out
    assert code == 0, out[-2000:]
    assert PACK_PASSED.search(out) is not None


def test_a_pack_config_with_other_port_ranges_is_one_line_naming_mesh_port_ranges(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.moved.yaml"
    stack_file.write_text(MOVED_RANGE)
    pack = tmp_path / "policy.json"
    pack.write_text(json.dumps({"host-port-in-category-range": {"portRanges": {"core": [10000, 10099]}}}))
    code = plan_tool.main(["--config", str(stack_file), "--out", str(tmp_path / "build"), "--policy-config", str(pack)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        f"error: mesh:portRanges: differs from host-port-in-category-range.portRanges in {pack}; "
        f"the pack takes the stack's ranges: remove portRanges from {pack}"
    ]


def test_make_preview_and_up_hand_the_pack_the_ranges_of_pulumi_config(tmp_path, monkeypatch, capsys):
    from tools import policy_config

    # what `pulumi config --json` prints for an object value (pulumi pkg/cmd/pulumi/config/config.go, configValueJSON)
    listed = {"mesh:portRanges": {"value": '{"core":[10000,10149]}', "objectValue": {"core": [10000, 10149]}, "secret": False}}
    pack = tmp_path / "policy.json"
    pack.write_text(json.dumps({"host-port-in-category-range": "advisory", "memory-limit": "mandatory"}))
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(json.dumps(listed)))
    assert policy_config.main(["--policy-config", str(pack)]) == 0
    handed = json.loads(capsys.readouterr().out)
    assert handed["memory-limit"] == "mandatory"
    assert handed["host-port-in-category-range"]["enforcementLevel"] == "advisory"
    assert handed["host-port-in-category-range"]["portRanges"]["core"] == [10000, 10149]
    assert handed["host-port-in-category-range"]["portRanges"]["mcp"] == [3000, 3099]


def test_the_makefile_passes_the_stacks_pack_config_to_preview_and_up():
    dry_run = subprocess.run(
        ["make", "-n", "--no-print-directory", "preview", "up", "VENV=venv"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    lines = dry_run.stdout.splitlines()
    pipe = next(line for line in lines if "tools.policy_config" in line)
    assert "pulumi config --json --stack dev |" in pipe and pipe.endswith("> build/policy-pack-config.dev.json")
    for command in ("pulumi preview", "pulumi up"):
        line = next(line for line in lines if line.startswith(command))
        assert "--policy-pack policies --policy-pack-config build/policy-pack-config.dev.json" in line


def test_make_plan_warns_naming_a_key_written_twice_and_what_the_pulumi_cli_does(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.twice.yaml"
    stack_file.write_text(
        "config:\n"
        "  mesh:bindAddress: 127.0.0.1\n"
        "  mesh:services:\n"
        "    redis:\n"
        "      memoryMb: 256\n"
        "      memoryMb: 512\n"
        "  mesh:bindAddress: 127.0.0.1\n"
    )
    code = plan_tool.main(["--config", str(stack_file), "--out", str(tmp_path / "build")])
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert code == 0
    assert len(warnings) == 2
    assert warnings[0].startswith(f"warning: {stack_file}:6: mesh:services.redis.memoryMb is set twice (first on line 5); ")
    assert warnings[1].startswith(f"warning: {stack_file}:7: mesh:bindAddress is set twice (first on line 2); ")
    assert all("`pulumi up` refuses this file" in line and "gopkg.in/yaml.v3" in line for line in warnings)
