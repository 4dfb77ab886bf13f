"""Partial matching of resource inputs with a readable mismatch report (after AWS CDK's `assertions.Match`).

`mismatches(expected, actual)` lists, by path, every way `actual` fails `expected`; an empty list is a
match. Dicts match partially (only the keys given), a list matches when each expected item matches some
actual item, a `Matcher` decides for itself, and anything else must be equal. `Capture`'s asserting
helpers (`has_resource_properties`, `resource_count_is`, ...) are built on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_MISSING = object()


@dataclass(frozen=True)
class Matcher:
    """A named test of one value (a missing key is passed to it as a sentinel)."""

    description: str
    test: Callable[[Any], bool]


class Match:
    """The special values a pattern may hold."""

    @staticmethod
    def absent() -> Matcher:
        """The key is missing (or null)."""
        return Matcher("absent", lambda value: value is _MISSING or value is None)

    @staticmethod
    def any_value() -> Matcher:
        """The key is present, with any non-null value."""
        return Matcher("any value", lambda value: value is not _MISSING and value is not None)

    @staticmethod
    def exact(expected: Any) -> Matcher:
        """Equal as a whole: no partial dict or list matching."""
        return Matcher(f"exactly {expected!r}", lambda value: bool(value == expected))

    @staticmethod
    def regex(pattern: str) -> Matcher:
        """A string the regular expression matches (`re.search`)."""
        compiled = re.compile(pattern)
        return Matcher(f"a string matching /{pattern}/", lambda value: isinstance(value, str) and compiled.search(value) is not None)

    @staticmethod
    def that(description: str, predicate: Callable[[Any], bool]) -> Matcher:
        """Any other test, named for the report."""
        return Matcher(description, lambda value: value is not _MISSING and bool(predicate(value)))


def _short(value: Any) -> str:
    if value is _MISSING:
        return "nothing (no such key)"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def mismatches(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every way `actual` fails the pattern `expected`, as `path: expected ..., found ...` lines."""
    where = path or "(root)"
    if isinstance(expected, Matcher):
        return [] if expected.test(actual) else [f"{where}: expected {expected.description}, found {_short(actual)}"]
    if callable(expected):
        return [] if actual is not _MISSING and expected(actual) else [f"{where}: the predicate rejected {_short(actual)}"]
    if actual is _MISSING:
        return [f"{where}: missing, expected {_short(expected)}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, found {_short(actual)}"]
        problems = []
        for key, item in expected.items():
            inner = f"{path}.{key}" if path else str(key)
            problems += mismatches(item, actual.get(key, _MISSING), inner)
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, found {_short(actual)}"]
        return [
            f"{where}: no item matches {_short(item)}"
            for item in expected
            if not any(not mismatches(item, candidate) for candidate in actual)
        ]
    return [] if expected == actual else [f"{where}: expected {_short(expected)}, found {_short(actual)}"]
