"""Offline evaluation: every policy of the pack, run on the capture of a synthesized stack.

The arguments are built the way pulumi_policy's analyzer server builds them from the engine's
requests: properties go through a protobuf `Struct` (numbers become floats, secrets travel as
signature objects), pulumi_policy's own deserializer, and its unknown-checking proxy; validations
get plain values, remediations get secret markers. Used by the tests and `make plan`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from inspect import isawaitable
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from components.offline.synth import Capture, Registration, Secret

from .rules import CredentialEnvPolicy, build_policies
from .settings import policy_config


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    """mandatory, advisory, or remediate (the engine rewrites the resource instead of stopping)."""
    resource: str
    """The resource's name, or `stack` for a violation of the whole stack."""
    urn: str
    message: str


def _to_wire(value: Any) -> Any:
    """A captured value as the engine sends it: `Secret` becomes the secret signature object."""
    if isinstance(value, Secret):
        return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": _to_wire(value.value)}
    if isinstance(value, dict):
        return {key: _to_wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_wire(item) for item in value]
    return value


def engine_properties(props: Mapping[str, Any]) -> dict[str, Any]:
    """The properties as the analyzer receives them over gRPC (a protobuf Struct, read back as a dict)."""
    struct = struct_pb2.Struct()
    struct.update(_to_wire(dict(props)))
    return dict(json_format.MessageToDict(struct))


def _options(registration: Registration) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=registration.delete_before_replace or None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=registration.parent or None,
    )


def _provider(capture: Capture, registration: Registration) -> PolicyProviderResource | None:
    urn = registration.provider.rpartition("::")[0] if registration.provider else ""
    for candidate in capture.resources:
        if candidate.urn == urn:
            props = unknown_checking_proxy(deserialize_properties(engine_properties(candidate.props)))
            return PolicyProviderResource(candidate.type, props, candidate.urn, candidate.name)
    return None


def _level(policy: Policy, config: Mapping[str, Any]) -> EnforcementLevel:
    given = config.get(policy.name, config.get("all"))
    if isinstance(given, Mapping):
        given = given.get("enforcementLevel")
    if given is not None:
        return EnforcementLevel(given)
    return policy.enforcement_level or EnforcementLevel.ADVISORY


def _properties_of(policy: Policy, config: Mapping[str, Any]) -> dict[str, Any]:
    given = config.get(policy.name)
    return {key: value for key, value in given.items() if key != "enforcementLevel"} if isinstance(given, Mapping) else {}


def _run(result: Any) -> Any:
    if isawaitable(result):
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(result)
        finally:
            loop.close()
    return result


class _Collector:
    def __init__(self, capture: Capture) -> None:
        self.names = {registration.urn: registration.name for registration in capture.resources}
        self.violations: list[Violation] = []

    def reporter(self, policy: Policy, level: EnforcementLevel, default_urn: str) -> Any:
        def report_violation(message: str, urn: str | None = None) -> None:
            where = urn or default_urn
            self.violations.append(Violation(policy.name, level.value, self.names.get(where, "stack"), where, message))

        return report_violation

    def unknown(self, policy: Policy, urn: str, error: UnknownValueError) -> None:
        # the engine reports this as an advisory diagnostic and moves on
        message = f"can't run policy '{policy.name}' during preview: {error.message}"
        self.violations.append(Violation(policy.name, EnforcementLevel.ADVISORY.value, self.names.get(urn, "stack"), urn, message))


def _resource_args(
    capture: Capture, registration: Registration, config: Mapping[str, Any], *, keep_secrets: bool
) -> ResourceValidationArgs:
    props = unknown_checking_proxy(deserialize_properties(engine_properties(registration.props), keep_secrets))
    return ResourceValidationArgs(
        registration.type,
        props,
        registration.urn,
        registration.name,
        _options(registration),
        _provider(capture, registration),
        config or None,
    )


def _stack_resources(capture: Capture) -> list[PolicyResource]:
    resources = {
        registration.urn: PolicyResource(
            registration.type,
            unknown_checking_proxy(deserialize_properties(engine_properties(registration.props))),
            registration.urn,
            registration.name,
            _options(registration),
            _provider(capture, registration),
            None,
            [],
            {},
        )
        for registration in capture.resources
    }
    for registration in capture.resources:
        resource = resources[registration.urn]
        resource.parent = resources.get(registration.parent)
        resource.dependencies = [resources[urn] for urn in registration.dependencies if urn in resources]
        resource.property_dependencies = {
            key: [resources[urn] for urn in urns if urn in resources] for key, urns in registration.property_dependencies.items()
        }
    return list(resources.values())


def evaluate(capture: Capture, config: Mapping[str, Any] | None = None, policies: Sequence[Policy] | None = None) -> list[Violation]:
    """Run every policy of the pack on the capture. `config` has the shape of `--policy-pack-config`'s JSON."""
    config = config or {}
    collector = _Collector(capture)
    for policy in policies if policies is not None else build_policies():
        level = _level(policy, config)
        if level == EnforcementLevel.DISABLED:
            continue
        properties = _properties_of(policy, config)
        if isinstance(policy, ResourceValidationPolicy):
            for registration in capture.resources:
                if level == EnforcementLevel.REMEDIATE and policy.has_remediation():
                    _remediate(capture, policy, registration, properties, collector)
                if policy.has_validation():
                    args = _resource_args(capture, registration, properties, keep_secrets=False)
                    # a remediation that is not run at the remediate level still blocks as mandatory
                    shown = EnforcementLevel.MANDATORY if level == EnforcementLevel.REMEDIATE else level
                    try:
                        _run(policy.validate(args, collector.reporter(policy, shown, registration.urn)))
                    except UnknownValueError as error:
                        collector.unknown(policy, registration.urn, error)
                    except _NotApplicableError:
                        pass
        elif isinstance(policy, StackValidationPolicy):
            shown = EnforcementLevel.MANDATORY if level == EnforcementLevel.REMEDIATE else level
            try:
                _run(
                    policy.validate(
                        StackValidationArgs(_stack_resources(capture), properties or None), collector.reporter(policy, shown, "")
                    )
                )
            except UnknownValueError as error:
                collector.unknown(policy, "", error)
            except _NotApplicableError:
                pass
    return collector.violations


def _remediate(
    capture: Capture, policy: ResourceValidationPolicy, registration: Registration, properties: Mapping[str, Any], collector: _Collector
) -> None:
    args = _resource_args(capture, registration, properties, keep_secrets=True)
    try:
        remediated = _run(policy.remediate(args))
    except UnknownValueError as error:
        collector.unknown(policy, registration.urn, error)
        return
    if not remediated:
        return
    raw = args.props["__target"]
    effective = policy_config(policy.name, properties)
    reasons = policy.explain(raw, effective, registration.name) if isinstance(policy, CredentialEnvPolicy) else []
    for message in reasons or [f"the pack rewrites this resource: {policy.remediation_steps}"]:
        collector.violations.append(Violation(policy.name, EnforcementLevel.REMEDIATE.value, registration.name, registration.urn, message))


def blocking(violations: Sequence[Violation]) -> list[Violation]:
    """The violations that stop `pulumi up` (and make `make plan` exit non-zero)."""
    return [violation for violation in violations if violation.level == EnforcementLevel.MANDATORY.value]


def format_violations(violations: Sequence[Violation]) -> list[str]:
    """One line per verdict, blocking ones first: `level  policy-id  resource  message`."""
    order = {"mandatory": 0, "remediate": 1, "advisory": 2}
    ranked = sorted(violations, key=lambda violation: (order.get(violation.level, 3), violation.policy, violation.resource))
    return [f"{violation.level:<9}  {violation.policy}  {violation.resource}  {violation.message}" for violation in ranked]


def load_pack_config(path: str | Path | None) -> dict[str, Any]:
    """A `--policy-pack-config` JSON file (policy name -> level or {enforcementLevel, properties...})."""
    if path is None:
        return {}
    loaded = json.loads(Path(path).read_text())
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: a policy pack config is a JSON object (policy name -> settings)")
    return loaded
