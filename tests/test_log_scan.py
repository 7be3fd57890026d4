"""The whole-run log scan (conftest.py) must be able to fail: it sees what is logged and knows the
plaintexts that passed through encrypted fields."""

from __future__ import annotations

import logging
import uuid


def test_the_log_scan_sees_log_records_and_remembers_encrypted_values(world):
    from conftest import _LOG_LINES, _SENSITIVE

    # given the world's victim address went through an encrypted field
    assert "3 Willow Court, Northtown NT1 5AB" in _SENSITIVE
    # when something is logged
    marker = f"log-scan-probe-{uuid.uuid4().hex}"
    logging.getLogger("convene.probe").warning("probe %s", marker)
    # then the scan has it
    assert any(marker in line for line in _LOG_LINES)
