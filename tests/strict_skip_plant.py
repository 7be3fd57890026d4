"""Run only by tests/test_ci_strict.py in a child pytest (the name keeps it out of normal collection):
one test that passes and one that skips, as a browser journey does on a machine without chromium."""

from __future__ import annotations

import pytest


def test_that_runs():
    assert True


def test_that_skips():
    pytest.skip("needs something this machine lacks")
