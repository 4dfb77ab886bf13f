"""Fuzzing `make plan` with mutated valid stack files: whatever the user writes, either the plan succeeds and
passes the policy pack, or it exits 2 with exactly one line naming a `mesh:` key, no traceback, no secret or
credential-looking value, and nothing registered.

`make test` runs FUZZ_EXAMPLES cases (default 300) and synthesizes at most FUZZ_SYNTHESES (default 6) of the
valid ones in full (1-2 s each; the rest pass every check before registration); `make fuzz` runs 2000 cases
and synthesizes every valid one.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from components.catalog.services import CATALOG
from components.model.base import ConfigError
from components.model.mesh import parse_mesh_config
from components.offline.pack_config import pack_config_for_stack
from components.offline.stack_file import load_stack_file
from components.offline.synth import Capture, try_synthesize
from components.plan.stack import plan_stack
from tests.queries import PACK_PASSED
from tools import plan as plan_tool

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
SYNTHESES = int(os.environ.get("FUZZ_SYNTHESES", "6" if "FUZZ_EXAMPLES" not in os.environ else "1000000"))

CIPHERTEXT = "v1:FUZZCIPHER0k1:Wm9vYmFyQ2lwaGVydGV4dA=="
# values that must never reach a terminal: secrets and credential-looking values the fuzzer plants
NEVER_SHOWN = ("FUZZCIPHER", "FUZZSECRET", "FUZZPASS", "FUZZTOKEN")
SECURE = {"secure": CIPHERTEXT}

# Valid stack files (the README's examples and their neighbours): each passes `make plan` as it is.
SEEDS: list[dict[str, Any]] = [
    {"mesh:bindAddress": "127.0.0.1"},
    {
        "mesh:bindAddress": "127.0.0.1",
        "mesh:services": {"ollama": {"enabled": True}, "redis": {"memoryMb": 1024}, "blackbox-exporter": {"replicas": 2}},
    },
    {
        "mesh:monitoring": {
            "retention": "30d",
            "alerting": {
                "webhookUrl": SECURE,
                "slack": {"webhookUrl": "https://hooks.slack.com/services/FUZZSECRET", "channel": "#mesh-alerts"},
                "email": {"to": "ops@example.com", "from": "mesh@example.com", "smarthost": "smtp.example.com:587", "password": SECURE},
            },
            "thresholds": {"errorRatio": 0.1, "latencyP95Ms": 800},
        }
    },
    {
        "mesh:services": {"backend": {"enabled": True, "replicas": 2}},
        "mesh:gateway": {
            "upstreams": {
                "backend": {"algorithm": "least-connections", "failures": 3, "recoveryS": 30, "weights": {"backend": 90, "backend-2": 10}}
            },
            "ui": ["grafana", "jaeger"],
            "corsOrigins": ["http://localhost:3000"],
        },
    },
    {
        "mesh:portRanges": {"core": [10000, 10149]},
        "mesh:services": {"redis": {"hostPorts": [10140], "cpus": 0.5}},
        "mesh:mcpServers": {"files": {"cpus": 0.25, "env": {"API_TOKEN": "FUZZSECRET-token"}}},
        "mesh:mcpOrchestrator": {"dockerHost": "tcp://127.0.0.1:12376", "memoryMb": 2048},
    },
]

INTERESTING: list[Any] = [
    0,
    -1,
    1,
    2,
    3000,
    10140,
    65535,
    65536,
    2**31,
    2**63,
    10**30,
    -(10**30),
    0.0,
    0.001,
    0.01,
    0.5,
    1.5,
    1e308,
    math.inf,
    -math.inf,
    math.nan,
    True,
    False,
    None,
    [],
    {},
    [1, 2],
    [10000, 10099],
    {"enabled": False},
    SECURE,
    {"secure": 5},
    "",
    " ",
    "true",
    "latest",
    "redis",
    "redis:8.2",
    ":8.2",
    "redis@sha256:nothex",
    "Redis:8",
    "docker:29-dind",
    "127.0.0.1",
    "0.0.0.0",
    "::1",
    "::1%lo",
    "localhost",
    "1.x",
    "pkg@1.2.3",
    "@scope/pkg@^1.0.0",
    "tcp://127.0.0.1:02375",
    "tcp://127.0.0.1:2375",
    "http://localhost:3000/app",
    "http://127.0.0.1:10006",
    "my domain",
    "round-robin",
    "consistent-hashing",
    "15d",
    "0s",
    "/",
    "/mcp/x",
    "~",
    "*",
    "grafana",
    "backend",
    "ünïcödé",
    "😀",
    "r\u0435dis",  # a Cyrillic e: looks like redis, is not
    "a" * 300,
    "\x00",
    "line\nbreak",
    "\u2028",
    "{not json",
    "[1,",
    "https://user:FUZZPASS@hooks.example.com/x",
    "ghp_FUZZTOKEN0123456789abcdefghij",
    "https://hooks.example.com/FUZZSECRET",
]
KEYS = [
    "enabled",
    "image",
    "hostPorts",
    "cpus",
    "memoryMb",
    "replicas",
    "port",
    "hostPort",
    "package",
    "bin",
    "env",
    "webhookUrl",
    "password",
    "alerting",
    "paths",
    "ui",
    "uiDomain",
    "corsOrigins",
    "dockerHost",
    "bogus",
    "Enabled",
    "enabIed",
    "memoryMB",
    "ümlaut",
    "",
    "0",
    *CATALOG,
]


def paths_of(tree: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every node below the root, as a path of keys and indexes."""
    children = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else []
    for key, child in children:
        yield (*prefix, key)
        yield from paths_of(child, (*prefix, key))


def parent_and_key(tree: dict[str, Any], path: tuple[Any, ...]) -> tuple[Any, Any]:
    node: Any = tree
    for part in path[:-1]:
        node = node[part]
    return node, path[-1]


@st.composite
def mutated_stack_files(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """A seed with 0-3 mutations (types, ranges, keys, nesting, unicode, huge numbers, nulls), and whether to
    write one top-level key twice."""
    config = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    # copies: a mutation must never change the shared pool (hypothesis replays draws and needs them unchanged)
    values = st.one_of(st.sampled_from(INTERESTING), st.integers(), st.floats(), st.text(max_size=40), st.booleans()).map(copy.deepcopy)
    for _ in range(draw(st.integers(0, 3))):
        paths = list(paths_of(config))
        operation = draw(st.sampled_from(["replace", "delete", "rename", "add", "nest", "wrap"]))
        if operation == "add" or not paths:
            scope = draw(st.sampled_from([(), *[path for path in paths if isinstance(parent_and_key(config, path)[0], dict)]]))
            target: Any = config
            for part in scope:
                target = target[part]
            if isinstance(target, dict):
                key = draw(st.sampled_from(KEYS)) if scope else "mesh:" + draw(st.sampled_from(KEYS))
                target[key] = draw(values)
            continue
        parent, key = parent_and_key(config, draw(st.sampled_from(paths)))
        if operation == "replace":
            parent[key] = draw(values)
        elif operation == "delete":
            del parent[key]
        elif operation == "rename" and isinstance(parent, dict):
            new_key = draw(st.sampled_from(KEYS))
            parent["mesh:" + new_key if str(key).startswith("mesh:") else new_key] = parent.pop(key)
        elif operation == "nest":
            parent[key] = {draw(st.sampled_from(KEYS)): parent[key]}
        elif operation == "wrap":
            parent[key] = [parent[key]]
    return config, draw(st.booleans()) and bool(config)


class _NoAliases(yaml.SafeDumper):
    """Writes a value shared by two keys twice, as `pulumi config set` would, not as an anchor and an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def stack_text(config: dict[str, Any], written_twice: bool) -> str:
    text = yaml.dump({"config": config}, Dumper=_NoAliases, allow_unicode=True, sort_keys=False)
    if written_twice:
        first = next(iter(config))
        again = yaml.dump({first: config[first]}, Dumper=_NoAliases, allow_unicode=True)
        text += "".join(f"  {line}\n" for line in again.splitlines())
    return text


def passes_every_check_before_registration(path: Path) -> bool:
    """What make plan checks before anything is registered (the pack's config, build_stack's plan); False on a ConfigError."""
    try:
        stack_file = load_stack_file(path)
        config = parse_mesh_config(stack_file.values, [(key,) for key in stack_file.secret_keys])
        pack_config_for_stack({}, config, "the default pack config")
        plan_stack(config)
    except ConfigError:
        return False
    return True


def run_make_plan(path: Path, out: Path) -> tuple[int, str, str, list[Capture]]:
    """`make plan` in this process: exit code, stdout, stderr, and what each synthesis registered (even a refused one)."""
    captures: list[Capture] = []

    def recording_synthesize(raw_config: Mapping[str, Any], **kwargs: Any) -> Capture:
        capture, error = try_synthesize(raw_config, **kwargs)
        captures.append(capture)
        if error is not None:
            raise error
        return capture

    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        mock.patch.object(plan_tool, "synthesize", recording_synthesize),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        code = plan_tool.main(["--config", str(path), "--out", str(out)])
    return code, stdout.getvalue(), stderr.getvalue(), captures


syntheses = {"done": 0}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=mutated_stack_files())
def test_make_plan_on_a_mutated_stack_file_succeeds_or_names_one_key(case):
    config, written_twice = case
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "Pulumi.fuzz.yaml"
        path.write_text(stack_text(config, written_twice))
        valid = passes_every_check_before_registration(path)
        if valid and syntheses["done"] >= SYNTHESES:
            event("valid: every check before registration passed (synthesis budget spent)")
            return
        code, out, err, captures = run_make_plan(path, Path(scratch) / "build")
    for secret in NEVER_SHOWN:
        assert secret not in out + err, f"{secret} shown:\n{err}"
    assert "Traceback" not in err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    # a key written twice is warned about once the file is read (a refusal while reading it comes first)
    assert len(warnings) == (1 if written_twice else 0) or (written_twice and not warnings and code == 2)
    errors = [line for line in err.splitlines() if not line.startswith("warning: ")]
    if valid:
        syntheses["done"] += 1
        event("valid: synthesized, the policy pack passed it")
        assert code == 0, f"the policy pack refused a plan the config checks accepted:\n{out[-3000:]}"
        assert errors == [] and PACK_PASSED.search(out) is not None
        return
    event("refused with one line")
    assert code == 2
    assert len(errors) == 1 and errors[0].startswith("error: mesh:"), err
    # refused while reading the file (no synthesis), or by the program before it registered anything
    assert all(capture.resources == [] for capture in captures)
