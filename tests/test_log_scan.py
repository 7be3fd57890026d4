"""The whole-run log scan (conftest.py) must be able to fail: it sees what is logged and knows the
plaintexts that passed through encrypted fields."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path


def test_the_log_scan_sees_log_records_and_remembers_encrypted_values(world):
    from conftest import _LOG_LINES, _SENSITIVE

    # given the world's victim address went through an encrypted field
    assert "3 Willow Court, Northtown NT1 5AB" in _SENSITIVE
    # when something is logged
    marker = f"log-scan-probe-{uuid.uuid4().hex}"
    logging.getLogger("convene.probe").warning("probe %s", marker)
    # then the scan has it
    assert any(marker in line for line in _LOG_LINES)


def test_the_scan_knows_when_no_record_reaches_it():
    from conftest import _HANDLER, _keeper_hears_the_root_logger

    # given the keeper on the root logger, a probe reaches it
    assert _keeper_hears_the_root_logger()
    # when the keeper is taken off the root logger (as a logging reconfiguration would)
    root = logging.getLogger()
    root.removeHandler(_HANDLER)
    try:
        # then the probe says the scan hears nothing
        assert not _keeper_hears_the_root_logger()
    finally:
        root.addHandler(_HANDLER)


def _child_run(plant: bool) -> subprocess.CompletedProcess[str]:
    """A separate pytest run of tests/log_scan_plant.py on SQLite (its own in-memory databases)."""
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "KEYSTORE_", "REDIS_"))}
    env.pop("CONVENE_CI_STRICT", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    env["CONVENE_PLANT_LEAK"] = "1" if plant else "0"
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/log_scan_plant.py",
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


def test_a_planted_plaintext_in_a_log_line_fails_the_run_and_a_harmless_line_does_not():
    # given a run whose only test logs the victim's address (a value that went through an encrypted field)
    planted = _child_run(plant=True)
    # then the run fails, saying a sensitive value reached a log line, without printing it
    assert planted.returncode == 1, planted.stdout[-2000:]
    assert "1 sensitive value(s) reached a log line" in planted.stdout
    assert "Willow Court" not in planted.stdout
    # and the same run logging something harmless passes
    harmless = _child_run(plant=False)
    assert harmless.returncode == 0, harmless.stdout[-2000:]


def test_collecting_without_running_does_not_trip_the_guard():
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "sensitive value" not in result.stdout
