"""A small named world for tests, built through the real services (never raw saves).

Agencies: Northshire Police (lead), Northshire Probation, Northshire Forensic Health (NHS),
CPS Northshire, Northshire Stalking Advocacy (ISAC), and Southshire Police (an outsider, party to
no agreement). Personas are named by agency and role: ``police_practitioner`` owns the case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from agencies.models import Agency, Membership, Role, User
from agencies.services import do_add_membership, do_create_agency
from cases import choices as c
from cases.models import Case
from cases.services import NominalInput, ReferralInput, do_add_victim, do_create_case, do_create_nominal
from core.categories import DEFAULT_MATRIX, AgencyType
from sharing.models import SharingAgreement
from sharing.services import do_change_agreement_status, do_create_agreement, do_share_case, do_sign_agreement

PASSWORD = "correct horse battery staple"


@dataclass
class World:
    agencies: dict[str, Agency] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    memberships: dict[str, Membership] = field(default_factory=dict)
    agreement: SharingAgreement | None = None
    case: Case | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)


AGENCIES = {
    "police": ("Northshire Police", AgencyType.POLICE),
    "probation": ("Northshire Probation Delivery Unit", AgencyType.PROBATION),
    "health": ("Northshire Forensic Mental Health Trust", AgencyType.HEALTH),
    "cps": ("CPS Northshire", AgencyType.CPS),
    "isac": ("Northshire Stalking Advocacy Service", AgencyType.VICTIM_SUPPORT),
    "outsider": ("Southshire Police", AgencyType.POLICE),
}
ROLES = {
    "practitioner": Role.PRACTITIONER,
    "chair": Role.CHAIR,
    "auditor": Role.AUDITOR,
    "admin": Role.AGENCY_ADMIN,
    "dpo": Role.DPO,
}
GATEWAYS: dict[str, str] = {  # by agency type
    AgencyType.POLICE: "CJA 2003 s325; DPA 2018 Part 3, Schedule 8 para 1 (statutory purposes)",
    AgencyType.PROBATION: "CJA 2003 s325; DPA 2018 Part 3, Schedule 8 para 1",
    AgencyType.HEALTH: "UK GDPR Art 6(1)(e), Art 9(2)(g); DPA 2018 Sch 1 para 18; common-law public interest",
    AgencyType.CPS: "DPA 2018 Part 3, Schedule 8 para 1 (prosecution)",
    AgencyType.VICTIM_SUPPORT: "UK GDPR Art 6(1)(e), Art 9(2)(g); DPA 2018 Sch 1 para 18 (safeguarding)",
}


def make_user(username: str, **extra: Any) -> User:
    return User.objects.create_user(
        username=username, password=PASSWORD, first_name=username.split("_")[0].title(), **extra
    )


def build_world(share_with: tuple[str, ...] = ("probation", "health", "cps", "isac")) -> World:
    world = World()
    system = make_user("system_setup")
    for key, (name, kind) in AGENCIES.items():
        world.agencies[key] = do_create_agency(
            name=name, agency_type=kind, area="Northshire", acting_user=None
        )
    for key, agency in world.agencies.items():
        for role_key, role in ROLES.items():
            username = f"{key}_{role_key}"
            user = make_user(username)
            world.users[username] = user
            world.memberships[username] = do_add_membership(
                user=user, agency=agency, role=role, acting_user=system
            )
    today = timezone.localdate()
    parties = [
        {
            "agency": world.agencies[k],
            "legal_gateway": GATEWAYS[world.agencies[k].agency_type],
            "categories": dict(DEFAULT_MATRIX[world.agencies[k].agency_type]),
        }
        for k in ("police", "probation", "health", "cps", "isac")
    ]
    agreement = do_create_agreement(
        title="Northshire MAPPA and stalking clinic information-sharing agreement",
        reference="ISA-NS-2026-01",
        purpose="Joint assessment and management of stalking perpetrators (MAPPA, MASIP).",
        dpia_reference="DPIA-NS-114",
        retention_rule="Reviewed with MoPI group 1 rules; 6 years for partner contributions.",
        security_terms="OFFICIAL-SENSITIVE handling; vetted users; no onward sharing without the chair.",
        starts_on=today - timedelta(days=30),
        review_on=today + timedelta(days=335),
        ends_on=None,
        drafted_by=world.agencies["police"],
        acting_user=world.users["police_admin"],
        parties=parties,
    )
    for party in agreement.parties.select_related("agency"):
        do_sign_agreement(
            party=party, signatory_name="A Signatory", signatory_role="Head of service", acting_user=system
        )
    agreement = do_change_agreement_status(
        agreement=agreement, status="active", acting_user=world.users["police_admin"]
    )
    world.agreement = agreement
    world.case = make_case(world, share_with=share_with)
    return world


def make_case(world: World, share_with: tuple[str, ...] = (), level: int = 2, family: str = "Marsh") -> Case:
    police = world.agencies["police"]
    owner = world.users["police_practitioner"]
    nominal = do_create_nominal(
        data=NominalInput(
            given_name="Daniel",
            family_name=family,
            date_of_birth=date(1986, 4, 12),
            address="14 Quarry Lane, Northtown NT4 2QP",
            nhs_number="9434765919",
        ),
        agency=police,
        acting_user=owner,
    )
    case = do_create_case(
        nominal=nominal,
        forum=c.Forum.MAPPA,
        lead_agency=police,
        owner=owner,
        acting_user=owner,
        mappa_category=2,
        mappa_level=level,
        next_review_on=timezone.localdate() + timedelta(days=14),
        referral=ReferralInput(
            reason="Repeated unwanted contact and following after the end of the relationship.",
            lawful_basis="DPA 2018 Part 3, Sch 8 para 1",
            index_offence="Stalking (PHA 1997 s2A)",
            received_on=timezone.localdate() - timedelta(days=20),
        ),
    )
    do_add_victim(
        case=case,
        agency=police,
        acting_user=owner,
        name="Priya Shah",
        relationship=c.Relationship.EX_PARTNER,
        address="3 Willow Court, Northtown NT1 5AB",
        area="Northtown east",
        routines="Gym on Tuesday evenings",
        workplace="Northtown library",
        contact="07700 900123",
        consent=c.Consent.GIVEN,
    )
    case.refresh_from_db()
    assert world.agreement is not None, "build_world makes the agreement first"
    for key in share_with:
        agency = world.agencies[key]
        categories = sorted(k for k, v in DEFAULT_MATRIX[agency.agency_type].items() if v > 0)
        do_share_case(
            case=case,
            agency=agency,
            agreement=world.agreement,
            categories=categories,
            purpose="MAPPA level 2 joint risk management",
            acting_user=owner,
            acting_agency=police,
        )
    return case
