"""The real thing: `pulumi up` on a Docker engine through the Automation API, then day 2 on it.

What Pulumi's own ProgramTest does for a program, in order: `up`; `make verify`; `preview` and `refresh` find
nothing to change; one everyday edit changes exactly what the README's blast-radius table says; a row in
PostgreSQL, a key in Redis and a durable message in RabbitMQ survive a forced replacement of their containers
and a `destroy` + `up`. It deploys the real mesh on this machine's Docker with the names, host ports and
volumes of `make up`, so it runs only when asked (`make test-live`, MESH_LIVE=1), where the Pulumi CLI and a
Docker daemon exist and no mesh is deployed yet; otherwise it skips with one line naming what is missing.
CI runs it on a hosted runner: .github/workflows/live.yml.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from components.offline.blast_radius import EDITS
from components.offline.types import CONTAINER

ROOT = Path(__file__).resolve().parents[2]
STACK = "live"
MEMORY_EDIT = next(edit for edit in EDITS if edit.what == "a service's memory")


def missing_prerequisite() -> str | None:
    """The first thing this machine lacks for a live run, in one line; None when it has all."""
    if os.environ.get("MESH_LIVE") != "1":
        return "the live test deploys the mesh on this machine's Docker: run it with `make test-live` (MESH_LIVE=1)"
    if shutil.which("pulumi") is None:
        return "the Pulumi CLI is not installed (https://www.pulumi.com/docs/install/)"
    if shutil.which("docker") is None:
        return "Docker is not installed (https://docs.docker.com/engine/install/)"
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        return "the Docker daemon does not answer (`docker info` fails)"
    running = subprocess.run(["docker", "ps", "-aq", "--filter", "name=^sutazai-"], capture_output=True, text=True, check=False)
    if running.stdout.strip():
        return "a mesh is already deployed on this Docker (sutazai-* containers); the live test uses the same names, ports and volumes"
    return None


pytestmark = pytest.mark.skipif(missing_prerequisite() is not None, reason=missing_prerequisite() or "")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A `live` stack of this project on a local file backend, destroyed (volumes kept) at the end."""
    from pulumi import automation as auto

    state = tmp_path_factory.mktemp("pulumi-state")
    env = {
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    live = auto.create_or_select_stack(STACK, work_dir=str(ROOT), opts=auto.LocalWorkspaceOptions(env_vars=env))
    yield live
    live.destroy(on_output=print)
    live.workspace.remove_stack(STACK)


def changes(result: Any) -> dict[str, int]:
    """The change summary without the resources that stay the same."""
    summary = result.change_summary if hasattr(result, "change_summary") else result.summary.resource_changes
    return {op: count for op, count in (summary or {}).items() if op != "same" and count}


def step_ops(events: list[Any]) -> dict[str, set[str]]:
    """Resource name by step op (`update`, `replace`, `create`, `delete`...) from the engine's pre-events."""
    found: dict[str, set[str]] = {}
    for event in events:
        pre = getattr(event, "resource_pre_event", None)
        if pre is not None and pre.metadata.op.value not in ("same", "read"):
            found.setdefault(pre.metadata.op.value, set()).add(pre.metadata.urn.rsplit("::", 1)[-1])
    return found


def docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.strip()


def psql(sql: str) -> str:
    return docker("exec", "sutazai-postgres", "psql", "-U", "mesh", "-d", "mesh", "-tAc", sql)


def redis(*command: str) -> str:
    # the container's environment holds REDISCLI_AUTH, so redis-cli authenticates
    return docker("exec", "sutazai-redis", "redis-cli", *command)


def rabbitmq_api(outputs: dict[str, Any], method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    base = outputs["accessPoints"]["rabbitmq.management"]
    amqp = outputs["connectionStrings"]["rabbitmq"]
    user, password = amqp.split("://", 1)[1].split("@", 1)[0].split(":", 1)
    answer = requests.request(method, f"{base}/api{path}", json=body, auth=(user, password), timeout=30)
    answer.raise_for_status()
    return answer.json() if answer.content else None


def write_data(outputs: dict[str, Any], token: str) -> None:
    psql(f"CREATE TABLE IF NOT EXISTS day2 (token text); INSERT INTO day2 VALUES ('{token}')")
    redis("SET", "day2", token)
    rabbitmq_api(outputs, "PUT", "/queues/mesh/day2", {"durable": True})
    published = rabbitmq_api(
        outputs,
        "POST",
        "/exchanges/mesh/amq.default/publish",
        {"properties": {"delivery_mode": 2}, "routing_key": "day2", "payload": token, "payload_encoding": "string"},
    )
    assert published["routed"] is True


def read_data(outputs: dict[str, Any]) -> dict[str, Any]:
    messages = rabbitmq_api(outputs, "POST", "/queues/mesh/day2/get", {"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto"})
    return {
        "postgres": psql("SELECT token FROM day2").splitlines(),
        "redis": redis("GET", "day2"),
        "rabbitmq": [message["payload"] for message in messages],
    }


def test_day_1_and_day_2_on_a_real_engine(stack: Any, tmp_path: Path) -> None:
    up = stack.up(policy_packs=[str(ROOT / "policies")], on_output=print)
    assert up.summary.result == "succeeded"
    outputs = {key: value.value for key, value in stack.outputs().items()}
    saved = tmp_path / "outputs.json"
    saved.write_text(json.dumps(outputs))

    # make verify, on what was deployed
    verify = subprocess.run([sys.executable, "-m", "tools.verify", "--outputs", str(saved)], cwd=ROOT, text=True, check=False)
    assert verify.returncode == 0

    # day 2: nothing to change, before and after reading the live state back
    assert changes(stack.preview(on_output=print)) == {}
    stack.refresh(on_output=print)
    assert changes(stack.preview(on_output=print)) == {}

    # one everyday edit: exactly what the blast-radius table says
    stack.set_all_config({f"mesh:{key}": auto_value(value) for key, value in MEMORY_EDIT.config.items()}, path=False)
    events: list[Any] = []
    stack.preview(on_event=events.append)
    ops = step_ops(events)
    assert ops.get("update", set()) == set(MEMORY_EDIT.updated) and not ops.get("replace")
    stack.up(on_output=print)

    # data survives a forced replacement of its containers, and destroy + up
    token = secrets.token_hex(8)
    write_data(outputs, token)
    expected = {"postgres": [token], "redis": token, "rabbitmq": [token]}
    datastores = {"postgres", "redis", "rabbitmq"}
    replaced = [
        resource["urn"]
        for resource in stack.export_stack().deployment["resources"]
        if resource["type"] == CONTAINER and resource["urn"].rsplit("::", 1)[-1] in datastores
    ]
    assert len(replaced) == 3, replaced
    stack.up(replace=replaced, on_output=print)
    assert read_data(outputs) == expected
    stack.destroy(on_output=print)
    stack.up(on_output=print)
    assert read_data({key: value.value for key, value in stack.outputs().items()}) == expected


def auto_value(value: Any) -> Any:
    """A structured `mesh:` value as the Automation API takes it (JSON text)."""
    from pulumi import automation as auto

    return auto.ConfigValue(value=json.dumps(value) if isinstance(value, (dict, list)) else str(value))
