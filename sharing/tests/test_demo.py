"""The sharing demo seed: draft and suspended agreements, a pending break-glass, a disclosure; idempotent."""

from __future__ import annotations

import pytest

from agencies.models import User
from sharing import policy
from sharing.models import BreakGlass, Disclosure, SharingAgreement

pytestmark = pytest.mark.django_db


def test_demo_seed_adds_sharing_examples_once():
    from agencies.demo import seed

    # given the demo world seeded twice
    seed(log=lambda line: None)
    seed(log=lambda line: None)
    # then there is one draft and one suspended agreement besides the active one
    assert SharingAgreement.objects.get(reference="ISA-NS-2026-02").status == "draft"
    assert SharingAgreement.objects.get(reference="ISA-NS-2025-07").status == "suspended"
    # one break-glass waiting in the lead agency chair's review queue
    glass = BreakGlass.objects.get()
    chair = User.objects.get(username="police.chair")
    assert glass.reviewed_at is None
    chairs_membership = policy.primary_membership(chair)
    assert chairs_membership is not None
    if glass.case.lead_agency.name == chairs_membership.agency.name:
        assert glass in policy.break_glass_review_queue(chair)
    # and one chair-approved disclosure
    disclosure = Disclosure.objects.get()
    assert disclosure.approved_by.username == "police.chair"
