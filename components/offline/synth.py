"""Offline synthesis: run the program under the Pulumi SDK's mock engine and capture every registration.

`Capture` is the test harness's query surface: `one`/`all` find registrations, and the asserting helpers
(`has_resource_properties`, `has_no_resource`, `resource_count_is`, `all_resources_properties`) fail with a
mismatch report instead of returning a bool.

The real provider SDKs build and serialize every input; a recording monitor keeps, for each resource,
its type, name, inputs (secrets marked), parent, dependencies, provider and options. Tests, the
policy pack's offline evaluation, `make plan` and `make bench` all read this capture.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.model.base import ConfigError
from components.offline import provider_state
from components.offline.assertions import mismatches
from components.offline.provider_state import uuid_of
from components.stack.program import build_stack, read_stack_config

PROJECT = "service-mesh"


@dataclass(frozen=True)
class Secret:
    """A value the program marked secret (it is encrypted in state and masked in output)."""

    value: Any


def _from_rpc(value: Any) -> Any:
    """Turn the RPC secret wrappers of deserialized inputs into `Secret`, recursively."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return Secret(_from_rpc(value["value"]))
        return {key: _from_rpc(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_rpc(item) for item in value]
    return value


def reveal(value: Any) -> Any:
    """The plain value, with every `Secret` unwrapped."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value


def secret_paths(value: Any, path: str = "") -> Iterator[str]:
    """Dotted paths of every `Secret` inside a value (`envs[2]`, `uploads[0].content`)."""
    if isinstance(value, Secret):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from secret_paths(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from secret_paths(item, f"{path}[{index}]")


@dataclass(frozen=True)
class Registration:
    type: str
    name: str
    urn: str
    custom: bool
    props: dict[str, Any]
    parent: str
    dependencies: tuple[str, ...]
    property_dependencies: dict[str, tuple[str, ...]]
    provider: str
    delete_before_replace: bool
    retain_on_delete: bool

    @property
    def plain(self) -> dict[str, Any]:
        plain: dict[str, Any] = reveal(self.props)
        return plain

    def secret_paths(self) -> set[str]:
        return set(secret_paths(self.props))

    def label(self, key: str) -> str | None:
        for label in self.plain.get("labels") or []:
            if label["label"] == key:
                return str(label["value"])
        return None


@dataclass
class Capture:
    resources: list[Registration]
    outputs: dict[str, Any] = field(default_factory=dict)
    rendered_files: dict[str, str] = field(default_factory=dict)

    def all(self, type_: str | None = None, name: str | None = None) -> list[Registration]:
        return [r for r in self.resources if (type_ is None or r.type == type_) and (name is None or r.name == name)]

    def one(self, type_: str, name: str) -> Registration:
        found = self.all(type_, name)
        if len(found) != 1:
            raise LookupError(f"expected one {type_} named {name!r}, found {len(found)}")
        return found[0]

    def has_resource_properties(self, type_: str, props: Mapping[str, Any], name: str | None = None) -> Registration:
        """The first resource of that type (and name) whose inputs match `props`; else an AssertionError
        listing, for each candidate, where it differs (see `components.offline.assertions`)."""
        candidates = self.all(type_, name)
        report = []
        for registration in candidates:
            problems = mismatches(dict(props), registration.plain)
            if not problems:
                return registration
            report.append(f"  {registration.name}:\n" + "\n".join(f"    {problem}" for problem in problems))
        named = f" named {name!r}" if name is not None else ""
        if not candidates:
            raise AssertionError(f"no {type_}{named} is registered")
        raise AssertionError(f"no {type_}{named} has the expected properties; mismatches:\n" + "\n".join(report))

    def has_no_resource(self, type_: str, props: Mapping[str, Any] | None = None, name: str | None = None) -> None:
        """No resource of that type (and name) matches `props` (every one, when `props` is None)."""
        matching = [r.name for r in self.all(type_, name) if not mismatches(dict(props or {}), r.plain)]
        if matching:
            raise AssertionError(f"expected no {type_} matching {dict(props or {})!r}, found: {', '.join(matching)}")

    def resource_count_is(self, type_: str, count: int) -> None:
        found = self.all(type_)
        if len(found) != count:
            names = ", ".join(sorted(r.name for r in found))
            raise AssertionError(f"expected {count} {type_}, found {len(found)}: {names}")

    def all_resources_properties(self, type_: str, props: Mapping[str, Any]) -> None:
        """Every resource of that type matches `props`; the report names each one that does not, and where."""
        found = self.all(type_)
        if not found:
            raise AssertionError(f"no {type_} is registered")
        report = []
        for registration in found:
            problems = mismatches(dict(props), registration.plain)
            if problems:
                report.append(f"  {registration.name}:\n" + "\n".join(f"    {problem}" for problem in problems))
        if report:
            raise AssertionError(f"{len(report)} of {len(found)} {type_} differ:\n" + "\n".join(report))

    def by_urn(self, urn: str) -> Registration:
        for registration in self.resources:
            if registration.urn == urn:
                return registration
        raise LookupError(urn)

    def children_of(self, urn: str) -> list[Registration]:
        return [r for r in self.resources if r.parent == urn]

    def descendants_of(self, urn: str) -> list[Registration]:
        found: list[Registration] = []
        for child in self.children_of(urn):
            found.append(child)
            found.extend(self.descendants_of(child.urn))
        return found


# Results of provider functions (invokes) the program calls, by token (deterministic).
MOCKED_CALLS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "consul:index/getAclTokenSecretId:getAclTokenSecretId": lambda args: {
        "accessorId": args.get("accessorId"),
        "id": args.get("accessorId"),
        "secretId": uuid_of("secret/" + str(args.get("accessorId"))),
    },
}


class MeshMocks(mocks.Mocks):
    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        # what the real provider writes back after the create, in its own forms (provider_state.py)
        resource_id = provider_state.resource_id(args.typ, args.name, args.inputs)
        return resource_id, provider_state.written_back(args.typ, args.name, args.inputs, resource_id)

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        mocked = MOCKED_CALLS.get(args.token)
        # an empty failure list: the SDK's mock monitor iterates it
        return (mocked(dict(args.args)) if mocked is not None else {}), []


class RecordingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, keeping what the engine would see for each registration."""

    def __init__(self, mock_outputs: mocks.Mocks) -> None:
        super().__init__(mock_outputs)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the engine's RPC name)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    custom=bool(request.custom),
                    props=_from_rpc(rpc.deserialize_properties(request.object, keep_unknowns=True)),
                    parent=request.parent,
                    dependencies=tuple(request.dependencies),
                    property_dependencies={key: tuple(deps.urns) for key, deps in request.propertyDependencies.items()},
                    provider=request.provider,
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    retain_on_delete=bool(request.retainOnDelete),
                )
            )
        return response


def _engine_config(raw_config: Mapping[str, Any]) -> dict[str, str]:
    """The `mesh:*` keys as the engine passes them: structured values as JSON text, scalars as strings."""
    encoded = {}
    for key, value in raw_config.items():
        if isinstance(value, (dict, list)):
            text = json.dumps(value)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        encoded[f"mesh:{key}"] = text
    return encoded


def _resolve(value: Any) -> Any:
    """Await a program value (Outputs inside dicts and lists), keeping secretness as `Secret`."""
    output = pulumi.Output.from_input(value)

    async def settle() -> Any:
        resolved = await output.future(with_unknowns=True)
        is_secret = await output.is_secret()
        return Secret(resolved) if is_secret else resolved

    return _mark_nested(_sync_await(settle()), value)


def _mark_nested(resolved: Any, original: Any) -> Any:
    if isinstance(original, pulumi.Output) or isinstance(resolved, Secret):
        return resolved
    if isinstance(original, dict) and isinstance(resolved, dict):
        return {key: _resolve(item) for key, item in original.items()}
    if isinstance(original, list) and isinstance(resolved, list):
        return [_resolve(item) for item in original]
    return resolved


def try_synthesize(
    raw_config: Mapping[str, Any] | None = None, *, stack: str = "dev", secret_keys: tuple[str, ...] = ()
) -> tuple[Capture, ConfigError | None]:
    """Run the program under mocks with these `mesh:*` values (no prefix).

    Returns what was registered and the config error that stopped the program, if any
    (a config error must stop it before anything is registered).
    """
    monitor = RecordingMonitor(MeshMocks())
    settings.ROOT.set(None)
    set_all_config(_engine_config(raw_config or {}), [f"mesh:{key}" for key in secret_keys])
    mocks.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)

    result: dict[str, Any] = {}

    def program() -> None:
        result["stack"] = build_stack(read_stack_config())

    try:
        _sync_await(run_pulumi_func(program))
    except ConfigError as error:
        return Capture(resources=list(monitor.registrations)), error
    stack_result = result["stack"]
    outputs = {key: _resolve(value) for key, value in stack_result.outputs.items()}
    rendered = {path: reveal(_resolve(content)) for path, content in stack_result.rendered_files.items()}
    return Capture(resources=list(monitor.registrations), outputs=outputs, rendered_files=rendered), None


def synthesize(raw_config: Mapping[str, Any] | None = None, *, stack: str = "dev", secret_keys: tuple[str, ...] = ()) -> Capture:
    """Like `try_synthesize`, raising the `ConfigError` if the config is wrong."""
    capture, error = try_synthesize(raw_config, stack=stack, secret_keys=secret_keys)
    if error is not None:
        raise error
    return capture
