"""tests/conftest.py's environment guard: a test that leaves os.environ changed fails, and the change is undone."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["pytester"]

LEAKING = """
import os


def test_leaks() -> None:
    os.environ["T_GUARD_LEAK"] = "1"


def test_changes_through_monkeypatch(monkeypatch) -> None:
    monkeypatch.setenv("T_GUARD_KEPT", "1")


def test_sees_the_environment_put_back() -> None:
    assert "T_GUARD_LEAK" not in os.environ
"""


def test_a_test_that_leaks_environment_fails_and_the_next_one_runs_clean(pytester: pytest.Pytester) -> None:
    # GIVEN the suite's guard in a session of three tests, the first of which sets a variable and leaves it
    pytester.makeconftest("from tests.conftest import _environment_restored  # noqa: F401\n")
    pytester.makepyfile(test_leak=LEAKING)
    # WHEN they run
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:randomly")
    # THEN the leaking test errors at teardown naming the variable; the others pass in the environment put back
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_leaks*", "*EnvironmentLeakError*T_GUARD_LEAK*"])
    assert "T_GUARD_LEAK" not in os.environ and "T_GUARD_KEPT" not in os.environ
