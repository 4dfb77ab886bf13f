"""The test harness tested: its matchers and asserting helpers pass on a match and report every mismatch by path."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.offline import types
from components.offline.assertions import Match, mismatches
from components.offline.synth import Capture, Registration, Secret
from components.offline.types import COMPONENTS, CONTAINER, NETWORK, VOLUME
from policies import rules
from tests.test_layers import COMPONENT_TYPE_TOKENS


def _registration(type_: str, name: str, props: dict[str, Any]) -> Registration:
    return Registration(
        type=type_,
        name=name,
        urn=f"urn:pulumi:dev::service-mesh::{type_}::{name}",
        custom=True,
        props=props,
        parent="",
        dependencies=(),
        property_dependencies={},
        provider="",
        delete_before_replace=False,
        retain_on_delete=False,
    )


REDIS = _registration(
    CONTAINER,
    "redis",
    {"restart": "unless-stopped", "envs": [Secret("REDISCLI_AUTH=x")], "ports": [{"internal": 6379, "external": 10001}], "user": None},
)
KONG = _registration(CONTAINER, "kong", {"restart": "unless-stopped", "envs": ["KONG_DATABASE=off"], "ports": [{"internal": 8000}]})
CAPTURE = Capture(resources=[REDIS, KONG, _registration(VOLUME, "sutazai-redis-data", {"name": "sutazai-redis-data"})])


def test_patterns_match_partially_dicts_by_key_and_lists_by_any_item() -> None:
    actual = {"a": 1, "b": {"c": [1, 2, {"d": "x", "e": "y"}]}}
    assert mismatches({"b": {"c": [2, {"d": "x"}]}}, actual) == []
    assert mismatches({"a": 2, "b": {"c": [3]}, "z": 1}, actual) == [
        "a: expected 2, found 1",
        "b.c: no item matches 3",
        "z: missing, expected 1",
    ]
    assert mismatches({"b": "text"}, actual) == ["b: expected 'text', found {'c': [1, 2, {'d': 'x', 'e': 'y'}]}"]


def test_matchers_say_what_they_expected() -> None:
    actual = {"present": "v1.2", "null": None}
    assert mismatches({"missing": Match.absent(), "null": Match.absent(), "present": Match.any_value()}, actual) == []
    assert mismatches({"present": Match.absent()}, actual) == ["present: expected absent, found 'v1.2'"]
    assert mismatches({"missing": Match.any_value()}, actual)[0].startswith("missing: expected any value")
    assert mismatches({"present": Match.regex(r"^v\d")}, actual) == []
    assert mismatches({"present": Match.exact({"a": 1})}, {"present": {"a": 1, "b": 2}}) == [
        "present: expected exactly {'a': 1}, found {'a': 1, 'b': 2}"
    ]
    assert mismatches({"present": Match.that("a release tag", lambda v: v.startswith("r"))}, actual) == [
        "present: expected a release tag, found 'v1.2'"
    ]


def test_has_resource_properties_returns_the_match_and_reveals_secrets() -> None:
    found = CAPTURE.has_resource_properties(CONTAINER, {"envs": ["REDISCLI_AUTH=x"], "ports": [{"internal": 6379}]})
    assert found is REDIS
    assert CAPTURE.has_resource_properties(CONTAINER, {"restart": "unless-stopped"}, name="kong") is KONG


def test_has_resource_properties_reports_each_candidate_and_where_it_differs() -> None:
    with pytest.raises(AssertionError) as failure:
        CAPTURE.has_resource_properties(CONTAINER, {"restart": "always", "user": Match.any_value()})
    assert str(failure.value) == (
        f"no {CONTAINER} has the expected properties; mismatches:\n"
        "  redis:\n    restart: expected 'always', found 'unless-stopped'\n    user: expected any value, found None\n"
        "  kong:\n    restart: expected 'always', found 'unless-stopped'\n    user: expected any value, found nothing (no such key)"
    )
    with pytest.raises(AssertionError, match=f"no {re.escape(CONTAINER)} named 'postgres' is registered"):
        CAPTURE.has_resource_properties(CONTAINER, {}, name="postgres")


def test_has_no_resource_resource_count_is_and_all_resources_properties() -> None:
    CAPTURE.has_no_resource(CONTAINER, {"restart": "no"})
    CAPTURE.has_no_resource(CONTAINER, name="postgres")
    with pytest.raises(AssertionError, match=r"expected no .* found: redis"):
        CAPTURE.has_no_resource(CONTAINER, {"ports": [{"external": 10001}]})
    CAPTURE.resource_count_is(CONTAINER, 2)
    with pytest.raises(AssertionError, match=f"expected 3 {re.escape(CONTAINER)}, found 2: kong, redis"):
        CAPTURE.resource_count_is(CONTAINER, 3)
    CAPTURE.all_resources_properties(CONTAINER, {"restart": "unless-stopped"})
    with pytest.raises(AssertionError, match=r"1 of 2 .* differ:\n  kong:\n    envs: no item matches 'REDISCLI_AUTH=x'"):
        CAPTURE.all_resources_properties(CONTAINER, {"envs": ["REDISCLI_AUTH=x"]})
    with pytest.raises(AssertionError, match=r"no .* is registered"):
        CAPTURE.all_resources_properties(NETWORK, {})


def test_component_type_tokens_are_the_ones_the_program_registers(plan: Capture) -> None:
    assert set(COMPONENTS) == {r.type for r in plan.resources if r.type.startswith("service-mesh:")}


def test_the_standalone_policy_pack_spells_the_tokens_it_checks_the_same_way() -> None:
    # the pack runs without the project on its path, so it keeps its own copy: this keeps the copy true
    assert (rules.CONTAINER, rules.REMOTE_IMAGE, rules.BUILT_IMAGE, rules.CONSUL_SERVICE, rules.DOCKER_PROVIDER) == (
        types.CONTAINER,
        types.REMOTE_IMAGE,
        types.IMAGE,
        types.CONSUL_SERVICE,
        types.DOCKER_PROVIDER,
    )
    assert set(types.COMPONENTS) == COMPONENT_TYPE_TOKENS
