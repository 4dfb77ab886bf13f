"""`make mutate`'s test setup: under mutmut (MUTANT_UNDER_TEST set) property-based tests try a few fixed examples."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from tests import conftest

ROOT = Path(__file__).resolve().parent.parent


def test_under_mutmut_a_tests_own_example_count_is_capped_and_the_examples_are_the_same_each_run():
    seen: list[int] = []

    @settings(max_examples=200, database=None)
    @given(st.integers())
    def property_test(value: int) -> None:
        seen.append(value)

    conftest._with_mutation_examples(SimpleNamespace(obj=property_test))  # type: ignore[arg-type]
    property_test()
    first = list(seen)
    seen.clear()
    property_test()
    assert 0 < len(first) <= conftest.MUTATION_EXAMPLES
    assert seen == first


def test_the_mutation_profile_is_loaded_only_when_mutmut_runs_the_tests():
    probe = "import tests.conftest; from hypothesis import settings; print(settings.default.max_examples, settings.default.derandomize)"
    # without CI too: Hypothesis loads its own "ci" profile (derandomized) when it sees CI set, as under .ci/run
    env = {key: value for key, value in os.environ.items() if key not in {"MUTANT_UNDER_TEST", "CI"}}
    plain = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    mutating = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env={**env, "MUTANT_UNDER_TEST": "stats"}, capture_output=True, text=True, check=True
    )
    assert plain.stdout.split() == ["100", "False"]
    assert mutating.stdout.split() == [str(conftest.MUTATION_EXAMPLES), "True"]


def test_the_report_counts_per_package_and_records_the_cpu_time_of_the_runs_processes():
    from tools import mutate

    before = mutate.children_cpu_s()
    subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)
    spent = mutate.children_cpu_s() - before
    assert spent > 0.05
    statuses = {"components/plan/mcp.py": {"a": "killed", "b": "survived", "c": "timeout", "d": "not checked"}}
    document = mutate.report(statuses, wall_s=12.34, cpu_s=spent)
    assert document["cpu_s"] == round(spent, 1) and document["wall_s"] == 12.3
    plan = document["packages"]["plan"]
    assert (plan["mutants"], plan["killed"], plan["survived"], plan["timeouts"], plan["not_checked"]) == (4, 1, 1, 1, 1)
    assert plan["score"] == round(2 / 3, 3)
    assert [survivor["name"] for survivor in document["survivors"]] == ["b"]
