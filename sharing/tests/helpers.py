"""Small builders for sharing tests, all through the real services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from core.categories import DEFAULT_MATRIX
from sharing.models import SharingAgreement
from sharing.services import do_change_agreement_status, do_create_agreement, do_sign_agreement
from tests.world import GATEWAYS, World


def draft_agreement(
    world: World, reference: str, keys: tuple[str, ...] = ("police", "probation"), **extra: Any
) -> SharingAgreement:
    today = timezone.localdate()
    values: dict[str, Any] = {
        "title": f"Agreement {reference}",
        "reference": reference,
        "purpose": "Joint management of stalking perpetrators.",
        "dpia_reference": "DPIA-T-1",
        "retention_rule": "Six years after closure.",
        "security_terms": "OFFICIAL-SENSITIVE handling.",
        "starts_on": today - timedelta(days=1),
        "review_on": today + timedelta(days=300),
        "ends_on": None,
        "drafted_by": world.agencies["police"],
        "acting_user": world.police_admin,
        "parties": [
            {
                "agency": world.agencies[k],
                "legal_gateway": GATEWAYS[world.agencies[k].agency_type],
                "categories": dict(DEFAULT_MATRIX[world.agencies[k].agency_type]),
            }
            for k in keys
        ],
    }
    values.update(extra)
    return do_create_agreement(**values)


def activate(world: World, agreement: SharingAgreement) -> SharingAgreement:
    for party in agreement.parties.select_related("agency"):
        admin = world.users[f"{_key(world, party.agency_id)}_admin"]
        do_sign_agreement(
            party=party, signatory_name="A Person", signatory_role="Director", acting_user=admin
        )
    return do_change_agreement_status(agreement=agreement, status="active", acting_user=world.police_admin)


def _key(world: World, agency_id: int) -> str:
    return next(k for k, a in world.agencies.items() if a.pk == agency_id)
