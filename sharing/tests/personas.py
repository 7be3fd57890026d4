"""Personas for the access matrix and the parity tests, built on the shared world through services.

Each persona maps to (user, expected levels on ``world.case`` or None for no access). Expected
levels come from DEFAULT_MATRIX and the share categories, never from the policy under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from agencies.services import do_add_membership, do_create_agency, do_end_membership
from cases.services import do_add_note
from core.categories import ALL_CATEGORIES, DEFAULT_MATRIX, FULL_ACCESS, AgencyType
from sharing.models import BreakGlass
from sharing.services import do_break_glass, do_change_agreement_status, do_share_case
from sharing.tests.helpers import draft_agreement
from tests.world import World, make_user

AGENCY_KEYS = ("police", "probation", "health", "cps", "isac")
ROLE_KEYS = ("practitioner", "chair", "auditor", "admin", "dpo")
SPECIAL = (
    "outsider_practitioner",
    "outsider_chair",
    "ended_membership",
    "expired_agreement_party",
    "break_glass_live",
    "break_glass_expired",
)
PERSONAS = tuple(f"{a}_{r}" for a in AGENCY_KEYS for r in ROLE_KEYS) + SPECIAL
NOTE_BODY = "matrix-note-{}-body"
VICTIM_NAME = "Priya Shah"
VICTIM_ADDRESS = "3 Willow Court"


def matrix_levels(agency_type: str) -> dict[str, int]:
    return {c: v for c, v in DEFAULT_MATRIX[agency_type].items() if v > 0}


@dataclass
class Persona:
    name: str
    user: Any
    levels: dict[str, int] | None  # None: must not see world.case at all


def _agency_with_practitioner(world: World, key: str, name: str) -> tuple[Any, Any]:
    agency = do_create_agency(name=name, agency_type=AgencyType.OTHER, area="Northshire")
    user = make_user(f"{key}_practitioner")
    do_add_membership(user=user, agency=agency, role="practitioner", acting_user=world.police_admin)
    world.agencies[key] = agency
    world.users[f"{key}_practitioner"] = user
    return agency, user


def _agreement_with(world: World, key: str, reference: str) -> Any:
    from sharing.tests.helpers import activate

    world.users.setdefault(f"{key}_admin", world.police_admin)
    agreement = draft_agreement(
        world,
        reference,
        keys=("police",),
        parties=[
            {"agency": world.agencies["police"], "legal_gateway": "s325", "categories": dict(FULL_ACCESS)},
            {
                "agency": world.agencies[key],
                "legal_gateway": "UK GDPR Art 6(1)(e)",
                "categories": dict(DEFAULT_MATRIX[AgencyType.OTHER]),
            },
        ],
    )
    return activate(world, agreement)


def add_category_notes(world: World) -> dict[str, str]:
    """One police note in each category on world.case; returns note id → category."""
    assert world.case is not None
    ids = {}
    for category in ALL_CATEGORIES:
        note = do_add_note(
            case=world.case,
            agency=world.agencies["police"],
            acting_user=world.police_practitioner,
            body=NOTE_BODY.format(category),
            category=category,
        )
        ids[str(note.pk)] = category
    return ids


def build_persona(world: World, name: str) -> Persona:
    """Put the world into the state this persona needs and return it with its expected levels."""
    if name in SPECIAL:
        return _special(world, name)
    agency_key, role_key = name.split("_", 1)
    user = world.users[name]
    if role_key not in ("practitioner", "chair"):
        return Persona(name, user, None)
    if agency_key == "police":
        return Persona(name, user, dict(FULL_ACCESS))
    return Persona(name, user, matrix_levels(world.agencies[agency_key].agency_type))


def _special(world: World, name: str) -> Persona:
    if name in ("outsider_practitioner", "outsider_chair"):
        return Persona(name, world.users[name], None)
    if name == "ended_membership":
        do_end_membership(
            membership=world.memberships["probation_practitioner"], acting_user=world.probation_admin
        )
        return Persona(name, world.probation_practitioner, None)
    if name == "expired_agreement_party":
        _, user = _agency_with_practitioner(world, "housing", "Northshire Housing")
        agreement = _agreement_with(world, "housing", "ISA-HOUSING-01")
        assert world.case is not None
        do_share_case(
            case=world.case,
            agency=world.agencies["housing"],
            agreement=agreement,
            categories=sorted(matrix_levels(AgencyType.OTHER)),
            purpose="Housing safeguarding",
            acting_user=world.police_practitioner,
            acting_agency=world.agencies["police"],
        )
        do_change_agreement_status(
            agreement=agreement, status="expired", acting_user=world.police_admin, reason="End date"
        )
        return Persona(name, user, None)
    # break-glass: children's services are party to an agreement with police, with no share
    _, user = _agency_with_practitioner(world, "children", "Northshire Children's Services")
    agreement = _agreement_with(world, "children", "ISA-CHILDREN-01")
    assert world.case is not None
    glass = do_break_glass(
        case=world.case,
        user=user,
        agency=world.agencies["children"],
        agreement=agreement,
        reason="Child at the victim's address disclosed a threat tonight",
    )
    if name == "break_glass_expired":
        BreakGlass.objects.filter(pk=glass.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        return Persona(name, user, None)
    return Persona(name, user, matrix_levels(AgencyType.OTHER))
