"""CI's strict mode (CONVENE_CI_STRICT, set by .ci/run) gives every verdict: a test that would skip
there fails the run instead, named with its reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _child_run(strict: bool) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST_WORKER", "CONVENE_CI"))}
    if strict:
        # strict mode insists on PostgreSQL and Redis URLs; the planted tests touch neither
        env.update(
            CONVENE_CI_STRICT="1",
            DATABASE_URL=env.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused"),
            REDIS_URL=env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/strict_skip_plant.py",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:xdist",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_skipped_test_fails_the_run_in_ci_strict_mode_and_only_there():
    # given a run with one passing and one skipping test, in CI's strict mode
    strict = _child_run(strict=True)
    # then the run fails and names the skipped test with its reason
    assert strict.returncode == 1, strict.stdout[-2000:]
    assert "SKIPPED IN CI: tests/strict_skip_plant.py::test_that_skips" in strict.stdout
    assert "needs something this machine lacks" in strict.stdout
    # and outside CI the same skip is only reported
    relaxed = _child_run(strict=False)
    assert relaxed.returncode == 0, relaxed.stdout[-2000:]
