"""Run only by tests/test_log_scan.py in a child pytest (the name keeps it out of normal collection):
with CONVENE_PLANT_LEAK=1 it logs a plaintext that went through an encrypted field, else a harmless
marker. The child run must fail in the first case and pass in the second."""

from __future__ import annotations

import logging
import os

import pytest


@pytest.mark.django_db
def test_plant(world):
    victim = world.case.victims.first()
    line = victim.address if os.environ.get("CONVENE_PLANT_LEAK") == "1" else "nothing sensitive here"
    logging.getLogger("convene.plant").warning("visited %s", line)
