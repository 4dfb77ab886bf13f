"""The deployment graph of a synthesized stack: what must wait for what, and how parallel `pulumi up` can be.

Edges are the engine's: a resource waits for every resource in its `dependencies` (explicit `depends_on`,
expanded from components to their custom resources, plus inputs that are outputs of other resources)
and for its explicit provider (`urn::id`), which must be configured before it can be created.
Component resources create nothing, so only custom resources count. Pure: no Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


class Registered(Protocol):
    @property
    def urn(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def custom(self) -> bool: ...
    @property
    def dependencies(self) -> tuple[str, ...]: ...
    @property
    def property_dependencies(self) -> Mapping[str, tuple[str, ...]]: ...
    @property
    def provider(self) -> str: ...


@dataclass(frozen=True)
class GraphReport:
    resources: int
    critical_path: list[str]
    """The longest chain of resources that must be created one after another (names, first to last)."""
    level_widths: list[int]
    """How many resources can be created at each step when everything runs as early as it can."""
    ordering_only: list[tuple[str, str]]
    """(resource, waits for) pairs with no input flowing between them: ordering from `depends_on` alone."""


def analyse(resources: Sequence[Registered]) -> GraphReport:
    custom = {r.urn: r for r in resources if r.custom}

    def needs(resource: Registered) -> set[str]:
        provider = resource.provider.rsplit("::", 1)[0] if resource.provider else ""
        return {d for d in (*resource.dependencies, provider) if d in custom and d != resource.urn}

    waits_for = {urn: sorted(needs(r)) for urn, r in custom.items()}

    depth: dict[str, int] = {}
    previous: dict[str, str | None] = {}

    def level(urn: str, visiting: frozenset[str] = frozenset()) -> int:
        if urn in depth:
            return depth[urn]
        if urn in visiting:
            raise ValueError(f"dependency cycle through {custom[urn].name}")
        best, best_dep = 0, None
        for dependency in waits_for[urn]:
            candidate = level(dependency, visiting | {urn}) + 1
            if candidate > best:
                best, best_dep = candidate, dependency
        depth[urn], previous[urn] = best, best_dep
        return best

    for urn in sorted(custom):
        level(urn)

    widths = [0] * (max(depth.values(), default=-1) + 1)
    for value in depth.values():
        widths[value] += 1

    path: list[str] = []
    cursor: str | None = max(sorted(custom), key=lambda urn: depth[urn], default=None)
    while cursor is not None:
        path.append(custom[cursor].name)
        cursor = previous[cursor]
    path.reverse()

    ordering_only = []
    for urn, resource in sorted(custom.items()):
        carried = {dep for deps in resource.property_dependencies.values() for dep in deps}
        if resource.provider:
            carried.add(resource.provider.rsplit("::", 1)[0])  # a provider is a data reason: it does the work
        for dependency in waits_for[urn]:
            if dependency not in carried:
                ordering_only.append((resource.name, custom[dependency].name))
    return GraphReport(resources=len(custom), critical_path=path, level_widths=widths, ordering_only=ordering_only)
