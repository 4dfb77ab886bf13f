"""Secrets in the stack config: `pulumi config set --secret --path` values work in the program and in `make plan`,
stay secret in every input and output, and no error line ever shows a secret or a credential-looking value."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.model.base import ConfigError
from components.offline.synth import Capture, Secret, try_synthesize
from tests.queries import PACK_PASSED
from tools import plan as plan_tool

# What `pulumi config set --secret --path 'mesh:monitoring.alerting.webhookUrl' ...` (and .email.password) writes:
# the object is kept, each secret leaf becomes {secure: <ciphertext>} (pulumi sdk/go/common/resource/config/object.go).
CIPHERTEXT = "v1:fE2GZ0uX4m0nQ7k1:Wm9vYmFyQ2lwaGVydGV4dEZvclRoZVdlYmhvb2s="
README_SECRET_STACK = f"""\
config:
  mesh:bindAddress: 127.0.0.1
  mesh:monitoring:
    alerting:
      webhookUrl:
        secure: {CIPHERTEXT}
      slack:
        webhookUrl:
          secure: {CIPHERTEXT}
        channel: '#mesh-alerts'
      email:
        to: ops@example.com
        from: mesh@example.com
        smarthost: smtp.example.com:587
        username: mesh
        password:
          secure: {CIPHERTEXT}
"""


def plaintext_occurrences(value: Any, needle: str, path: str = "") -> Iterator[str]:
    """Paths where `needle` appears in a string that is not inside a `Secret`."""
    if isinstance(value, Secret):
        return
    if isinstance(value, str) and needle in value:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from plaintext_occurrences(item, needle, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from plaintext_occurrences(item, needle, f"{path}[{index}]")


def leaks(capture: Capture, needle: str) -> list[str]:
    found = [f"{r.name}{path}" for r in capture.resources for path in plaintext_occurrences(r.props, needle)]
    return found + [f"output {path}" for path in plaintext_occurrences(capture.outputs, needle)]


def run_make_plan(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(text)
    code = plan_tool.main(["--config", str(stack_file), "--out", str(tmp_path / "build"), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_make_plan_takes_the_readme_secret_path_example(tmp_path, capsys):
    code, out, err = run_make_plan(tmp_path, README_SECRET_STACK, capsys)
    assert code == 0, err
    assert PACK_PASSED.search(out) is not None
    alertmanager = (tmp_path / "build" / "alertmanager" / "alertmanager.yml").read_text()
    # the offline stand-ins reached the receivers, so the nested secure values were read, not dropped
    assert "offline-stand-in.invalid" in alertmanager and "#mesh-alerts" in alertmanager
    built = "".join(path.read_text() for path in (tmp_path / "build").rglob("*") if path.is_file())
    assert CIPHERTEXT not in out + err + built


def readme_secret_commands() -> list[tuple[str, str, bool]]:
    """The `pulumi config set [--secret] --path` lines of the README's Configuration section: (key, value, secret)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    pattern = re.compile(r"^pulumi config set (--secret )?--path '(mesh:[^']+)' (\S+)", re.MULTILINE)
    return [(key, value.strip("'"), bool(secret)) for secret, key, value in pattern.findall(section)]


def as_pulumi_writes_it(commands: list[tuple[str, str, bool]]) -> str:
    """The stack file `pulumi config set --path` leaves: nested objects, each secret leaf {secure: <ciphertext>}."""
    config: dict[str, Any] = {}
    for key, value, secret in commands:
        top, *rest = key.split(".")
        node = config.setdefault(top, {})
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        node[rest[-1]] = {"secure": CIPHERTEXT} if secret else value
    return yaml.safe_dump({"config": config})


def test_the_readme_secret_path_example_works_in_make_plan(tmp_path, capsys):
    commands = readme_secret_commands()
    assert sum(secret for _, _, secret in commands) >= 3
    code, out, err = run_make_plan(tmp_path, as_pulumi_writes_it(commands), capsys)
    assert code == 0, err
    assert PACK_PASSED.search(out) is not None and CIPHERTEXT not in out + err


def test_the_program_keeps_the_alertmanager_file_secret_when_receivers_come_from_secrets(tmp_path, capsys):
    from components.offline.stack_file import load_stack_file
    from components.offline.synth import synthesize

    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(README_SECRET_STACK)
    loaded = load_stack_file(stack_file)
    assert loaded.secret_keys == ("monitoring",)
    assert ("monitoring", "alerting", "email", "password") in loaded.secret_paths
    capture = synthesize(loaded.values, secret_keys=loaded.secret_keys)
    assert leaks(capture, "offline-stand-in") == []


def test_an_mcp_server_env_token_is_secret_in_every_input_and_output():
    token = "mcp-env-sentinel-0d9f8e7a"
    capture, error = try_synthesize({"mcpServers": {"files": {"env": {"GITHUB_TOKEN": token}}}}, secret_keys=("mcpServers",))
    assert error is None
    assert any(token in json.dumps(r.plain) for r in capture.resources)  # it is deployed...
    assert leaks(capture, token) == []  # ...and only ever as a secret


def test_a_webhook_url_is_secret_in_every_input_and_output():
    url = "https://hooks.example.com/services/webhook-sentinel-51c2"
    capture, error = try_synthesize({"monitoring": {"alerting": {"webhookUrl": url}}}, secret_keys=("monitoring",))
    assert error is None
    assert any(url in json.dumps(r.plain) for r in capture.resources)
    assert leaks(capture, url) == []


def test_an_error_under_a_secret_key_never_shows_the_value():
    # the engine marks the whole mesh:monitoring key secret when one value inside it is encrypted
    _, error = try_synthesize({"monitoring": {"retention": "hunter2-retention"}}, secret_keys=("monitoring",))
    assert error is not None
    assert str(error).startswith("mesh:monitoring.retention: ")
    assert "hunter2" not in str(error)


@pytest.mark.parametrize(
    ("raw_config", "key", "secret"),
    [
        ({"monitoring": {"alerting": {"webhookUrl": ["https://user:s3cr3t-pw@hooks.example.com/x"]}}}, "webhookUrl", "s3cr3t-pw"),
        ({"monitoring": {"alerting": {"webhookUrl": ["https://hooks.slack.com/services/T0/B0/XYZSECRET"]}}}, "webhookUrl", "XYZSECRET"),
        (
            {"monitoring": {"alerting": {"email": {"to": "a@b.c", "from": "a@b.c", "smarthost": "h:25", "password": 12345678}}}},
            "email.password",
            "12345678",
        ),
        ({"monitoring": {"alerting": "https://hooks.example.com/T0/SECRETPATH"}}, "alerting", "SECRETPATH"),
        ({"mcpServers": {"files": {"env": {"API_KEY": 987654321}}}}, "env.API_KEY", "987654321"),
    ],
    ids=["webhook-list-with-userinfo", "slack-url-in-a-list", "smtp-password-number", "alerting-as-a-string", "env-number"],
)
def test_an_error_on_a_secret_setting_never_shows_the_value(raw_config, key, secret):
    capture, error = try_synthesize(raw_config)
    assert error is not None and key in error.key
    assert secret not in str(error)
    assert capture.resources == []


@pytest.mark.parametrize(
    ("raw_config", "credential"),
    [
        ({"discovery": {"address": "http://admin:hunter2@127.0.0.1"}}, "hunter2"),
        ({"telemetry": {"grafanaUrl": "ftp://admin:hunter2@grafana"}}, "hunter2"),
        ({"mcpServers": {"files": {"package": "ghp_1234567890abcdefghijklmnopqrstuvwx"}}}, "ghp_1234567890"),
        ({"services": {"redis": {"image": "sk-proj-0123456789abcdefABCDEF"}}}, "sk-proj-0123456789"),
    ],
    ids=["url-userinfo", "url-userinfo-other-scheme", "github-token", "api-key"],
)
def test_an_error_never_shows_a_credential_looking_value(raw_config, credential):
    _, error = try_synthesize(raw_config)
    assert error is not None
    assert credential not in str(error)


def test_an_error_never_shows_a_structure_a_secret_may_have_moved_into():
    # found by the fuzz test: an env block nested under the wrong key was echoed whole
    _, error = try_synthesize({"mcpServers": {"files": {"enabled": {"env": {"API_TOKEN": "moved-secret-7c1d"}}}}})
    assert str(error) == "mesh:mcpServers.files.enabled: expected true or false, got a mapping"


def test_an_error_is_one_line_whatever_the_user_wrote():
    _, error = try_synthesize({"bindAddress": "127.0.0.1\nerror: forged second line\u2028third"})
    assert error is not None
    assert len(str(error).splitlines()) == 1


@pytest.mark.parametrize(
    ("stack_text", "expected"),
    [
        (
            f"config:\n  mesh:services:\n    redis:\n      image:\n        secure: {CIPHERTEXT}\n",
            "error: mesh:services.redis.image: is set as a secret, but the mesh publishes this setting in plaintext",
        ),
        (
            f"config:\n  mesh:monitoring:\n    secure: {CIPHERTEXT}\n",
            "error: mesh:monitoring: is encrypted as a whole, so make plan cannot see inside it offline",
        ),
    ],
    ids=["secret-the-mesh-would-publish", "whole-section-encrypted"],
)
def test_make_plan_refuses_a_secret_it_cannot_keep_or_read_in_one_line(tmp_path, capsys, stack_text, expected):
    code, out, err = run_make_plan(tmp_path, stack_text, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith(expected)
    assert CIPHERTEXT not in out + err and not (tmp_path / "build").exists()


def test_pulumi_up_refuses_a_secret_top_level_key_the_mesh_would_publish():
    capture, error = try_synthesize({"bindAddress": "127.0.0.1"}, secret_keys=("bindAddress",))
    assert isinstance(error, ConfigError) and error.key == "mesh:bindAddress"
    assert "127.0.0.1" not in str(error) and capture.resources == []
