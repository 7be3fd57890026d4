"""The demo world made by ``python manage.py seed_demo``: Northshire's five agencies, one outsider force,
one account per role per agency, an active sharing agreement and a few cases.

Everything is made through the real services and looked up by a natural key first (agency name,
username, agreement reference, or a ``DemoObject`` marker), so running the seed again changes nothing.
Other apps add their own content in ``<app>.demo.seed(ctx)``; ``DemoContext.once`` gives them the
same idempotence for objects with no natural key.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any, TypeVar

from django.apps import apps
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.categories import DEFAULT_MATRIX, AgencyType

from .models import Agency, DemoObject, Membership, Role, User
from .services import do_add_membership, do_create_agency, do_create_person

DEMO_PASSWORD = "Convene-demo-2026!"  # noqa: S105 - published on purpose; refused in production (convene.E010)
AREA = "Northshire"
AGREEMENT_REFERENCE = "ISA-NS-DEMO-01"
HOOK_APPS = ("cases", "sharing", "meetings", "lifecycle")

T = TypeVar("T", bound=Model)

# key: (name, type, DPO, DPO email, Caldicott Guardian, Caldicott email)
AGENCIES: dict[str, tuple[str, str, str, str, str, str]] = {
    "police": (
        "Northshire Police",
        AgencyType.POLICE,
        "Ruth Adeyemi",
        "dpo@police.northshire.example",
        "",
        "",
    ),
    "probation": (
        "Northshire Probation Delivery Unit",
        AgencyType.PROBATION,
        "Tom Kowalski",
        "dpo@probation.northshire.example",
        "",
        "",
    ),
    "health": (
        "Northshire Forensic Mental Health Trust",
        AgencyType.HEALTH,
        "Aisha Rahman",
        "dpo@nhs.northshire.example",
        "Dr Helen Marlow",
        "caldicott@nhs.northshire.example",
    ),
    "cps": ("CPS Northshire", AgencyType.CPS, "Owen Pritchard", "dpo@cps.northshire.example", "", ""),
    "isac": (
        "Northshire Stalking Advocacy Service",
        AgencyType.VICTIM_SUPPORT,
        "Grace Obi",
        "dpo@advocacy.northshire.example",
        "",
        "",
    ),
    "outsider": (
        "Southshire Police",
        AgencyType.POLICE,
        "Ian Fletcher",
        "dpo@police.southshire.example",
        "",
        "",
    ),
}
PARTNERS = ("police", "probation", "health", "cps", "isac")
ROLES: dict[str, str] = {
    "practitioner": Role.PRACTITIONER,
    "chair": Role.CHAIR,
    "auditor": Role.AUDITOR,
    "admin": Role.AGENCY_ADMIN,
    "dpo": Role.DPO,
}
# Fictional people, one per account, so screens read like a real partnership.
PEOPLE: dict[str, tuple[str, str]] = {
    "police.practitioner": ("Sam", "Okoro"),
    "police.chair": ("Claire", "Whitfield"),
    "police.auditor": ("Martin", "Doyle"),
    "police.admin": ("Nadia", "Hussain"),
    "police.dpo": ("Ruth", "Adeyemi"),
    "probation.practitioner": ("Jo", "Lindqvist"),
    "probation.chair": ("Patrick", "Evans"),
    "probation.auditor": ("Lena", "Marsh-Taylor"),
    "probation.admin": ("Callum", "Reid"),
    "probation.dpo": ("Tom", "Kowalski"),
    "health.practitioner": ("Dr Priti", "Desai"),
    "health.chair": ("Dr Mark", "Ellison"),
    "health.auditor": ("Fiona", "Grant"),
    "health.admin": ("Ben", "Achebe"),
    "health.dpo": ("Aisha", "Rahman"),
    "cps.practitioner": ("Eleanor", "Vaughan"),
    "cps.chair": ("Rhys", "Morgan"),
    "cps.auditor": ("Kate", "Holloway"),
    "cps.admin": ("Dev", "Patel"),
    "cps.dpo": ("Owen", "Pritchard"),
    "isac.practitioner": ("Maya", "Collins"),
    "isac.chair": ("Hannah", "Brooks"),
    "isac.auditor": ("Leo", "Fernandes"),
    "isac.admin": ("Zoe", "Carter"),
    "isac.dpo": ("Grace", "Obi"),
    "outsider.practitioner": ("Alex", "Turner"),
    "outsider.chair": ("Morag", "Stewart"),
    "outsider.auditor": ("Neil", "Burton"),
    "outsider.admin": ("Imogen", "Shaw"),
    "outsider.dpo": ("Ian", "Fletcher"),
}
GATEWAYS: dict[str, str] = {
    AgencyType.POLICE: "CJA 2003 s325; DPA 2018 Part 3, Schedule 8 para 1 (statutory purposes)",
    AgencyType.PROBATION: "CJA 2003 s325; DPA 2018 Part 3, Schedule 8 para 1",
    AgencyType.HEALTH: "UK GDPR Art 6(1)(e), Art 9(2)(g); DPA 2018 Sch 1 para 18; common-law public interest",
    AgencyType.CPS: "DPA 2018 Part 3, Schedule 8 para 1 (prosecution)",
    AgencyType.VICTIM_SUPPORT: "UK GDPR Art 6(1)(e), Art 9(2)(g); DPA 2018 Sch 1 para 18 (safeguarding)",
}


@dataclass
class DemoContext:
    """What the seed has made so far; passed to each ``<app>.demo.seed(ctx)`` in turn."""

    agencies: dict[str, Agency] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    agreement: Any = None
    cases: dict[str, Any] = field(default_factory=dict)
    password: str = DEMO_PASSWORD
    extra: dict[str, Any] = field(default_factory=dict)
    log: Callable[[str], None] = print

    def recall(self, key: str) -> Any | None:
        """The object seeded under ``key`` by an earlier run, or None."""
        marker = DemoObject.objects.filter(key=key).first()
        if marker is None:
            return None
        model = apps.get_model(marker.model)
        return model._default_manager.filter(pk=marker.object_pk).first()

    def once(self, key: str, make: Callable[[], T]) -> T:
        """Return the object seeded under ``key``; make it (and remember it) only the first time."""
        existing = self.recall(key)
        if existing is not None:
            return existing  # type: ignore[no-any-return]
        with transaction.atomic():
            obj = make()
            DemoObject.objects.update_or_create(
                key=key, defaults={"model": obj._meta.label, "object_pk": str(obj.pk)}
            )
        return obj


# --- agencies and people ----------------------------------------------------------------------
def seed_agencies(ctx: DemoContext) -> None:
    for key, (name, kind, dpo, dpo_email, caldicott, caldicott_email) in AGENCIES.items():
        agency = Agency.objects.filter(name=name).first()
        if agency is None:
            area = "Southshire" if key == "outsider" else AREA
            agency = do_create_agency(
                name=name,
                agency_type=kind,
                area=area,
                acting_user=None,
                dpo_name=dpo,
                dpo_email=dpo_email,
                caldicott_name=caldicott,
                caldicott_email=caldicott_email,
            )
        ctx.agencies[key] = agency


def _confirmed_device(user: User) -> None:
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        TOTPDevice.objects.create(user=user, name="Demo authenticator", confirmed=True)


def seed_people(ctx: DemoContext) -> None:
    admin_of = {}
    for key in ctx.agencies:
        for role_key, role in ROLES.items():
            username = f"{key}.{role_key}"
            user = User.objects.filter(username=username).first()
            if user is None:
                first, last = PEOPLE[username]
                user, _ = do_create_person(
                    username=username,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@demo.convene.example",
                    password=ctx.password,
                    is_demo=True,
                    acting_user=None,
                )
            _confirmed_device(user)
            ctx.users[username] = user
            if role == Role.AGENCY_ADMIN:
                admin_of[key] = user
    for key, agency in ctx.agencies.items():
        for role_key, role in ROLES.items():
            user = ctx.users[f"{key}.{role_key}"]
            if not Membership.objects.filter(user=user, agency=agency, role=role).exists():
                do_add_membership(
                    user=user, agency=agency, role=role, acting_user=admin_of.get(key), vetting_level="sc"
                )


# --- the agreement ---------------------------------------------------------------------------
def seed_agreement(ctx: DemoContext) -> None:
    from sharing.models import AgreementStatus, SharingAgreement
    from sharing.services import do_change_agreement_status, do_create_agreement, do_sign_agreement

    agreement = SharingAgreement.objects.filter(reference=AGREEMENT_REFERENCE).first()
    admin = ctx.users["police.admin"]
    if agreement is None:
        today = timezone.localdate()
        agreement = do_create_agreement(
            title="Northshire MAPPA and stalking clinic information-sharing agreement",
            reference=AGREEMENT_REFERENCE,
            purpose="Joint assessment and management of stalking perpetrators (MAPPA, stalking clinic).",
            dpia_reference="DPIA-NS-114",
            retention_rule="Partner contributions kept 6 years after closure, then reviewed (MoPI group 2).",
            security_terms="OFFICIAL-SENSITIVE handling; vetted users; no onward sharing without the chair.",
            starts_on=today - timedelta(days=60),
            review_on=today + timedelta(days=305),
            ends_on=None,
            drafted_by=ctx.agencies["police"],
            acting_user=admin,
            parties=[
                {
                    "agency": ctx.agencies[k],
                    "legal_gateway": GATEWAYS[ctx.agencies[k].agency_type],
                    "categories": dict(DEFAULT_MATRIX[ctx.agencies[k].agency_type]),
                }
                for k in PARTNERS
            ],
        )
    if agreement.status == AgreementStatus.DRAFT:
        for party in agreement.parties.select_related("agency"):
            if party.signed_on:
                continue
            key = next(k for k, a in ctx.agencies.items() if a.pk == party.agency_id)
            signer = ctx.users[f"{key}.admin"]
            do_sign_agreement(
                party=party,
                signatory_name=signer.get_full_name(),
                signatory_role="Head of service",
                acting_user=signer,
            )
        agreement = do_change_agreement_status(agreement=agreement, status="active", acting_user=admin)
    ctx.agreement = agreement


# --- cases -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoCase:
    key: str
    lead: str
    given_name: str
    family_name: str
    born: date
    forum: str
    mappa_category: int | None
    mappa_level: int | None
    reason: str
    offence: str
    victim: str
    relationship: str
    note: str


CASES = (
    DemoCase(
        key="marsh",
        lead="police",
        given_name="Daniel",
        family_name="Marsh",
        born=date(1986, 4, 12),
        forum="mappa",
        mappa_category=2,
        mappa_level=2,
        reason="Repeated unwanted contact and following after the end of the relationship.",
        offence="Stalking involving fear of violence (PHA 1997 s4A)",
        victim="Priya Shah",
        relationship="ex_partner",
        note="Seen twice near the victim's workplace this month; both sightings reported by the ISAC.",
    ),
    DemoCase(
        key="hollis",
        lead="police",
        given_name="Gareth",
        family_name="Hollis",
        born=date(1979, 9, 3),
        forum="mappa",
        mappa_category=2,
        mappa_level=3,
        reason="Escalating threats and a breach of a restraining order within days of release.",
        offence="Stalking involving serious alarm or distress (PHA 1997 s4A)",
        victim="Megan Price",
        relationship="ex_partner",
        note="Level 3 referral accepted: senior management oversight needed for the release plan.",
    ),
    DemoCase(
        key="fenwick",
        lead="probation",
        given_name="Lewis",
        family_name="Fenwick",
        born=date(1992, 1, 27),
        forum="mappa",
        mappa_category=2,
        mappa_level=1,
        reason="On licence for stalking; managed by probation with routine partner information sharing.",
        offence="Stalking (PHA 1997 s2A)",
        victim="Olivia Grant",
        relationship="workplace",
        note="Licence conditions explained again at supervision; compliant so far.",
    ),
    DemoCase(
        key="quinn",
        lead="police",
        given_name="Adrian",
        family_name="Quinn",
        born=date(1990, 6, 18),
        forum="clinic",
        mappa_category=None,
        mappa_level=None,
        reason="Fixated online contact with a local GP; referred to the stalking clinic for assessment.",
        offence="Stalking (PHA 1997 s2A)",
        victim="Dr Sarah Lennox",
        relationship="professional",
        note="Clinic asked health for a view on fixation and any treatable mental illness.",
    ),
)


def _make_case(ctx: DemoContext, spec: DemoCase) -> Any:
    from cases import choices as c
    from cases.services import (
        NominalInput,
        ReferralInput,
        do_add_note,
        do_add_victim,
        do_create_case,
        do_create_nominal,
    )

    lead = ctx.agencies[spec.lead]
    owner = ctx.users[f"{spec.lead}.practitioner"]
    today = timezone.localdate()
    nominal = do_create_nominal(
        data=NominalInput(given_name=spec.given_name, family_name=spec.family_name, date_of_birth=spec.born),
        agency=lead,
        acting_user=owner,
    )
    case = do_create_case(
        nominal=nominal,
        forum=spec.forum,
        lead_agency=lead,
        owner=owner,
        acting_user=owner,
        mappa_category=spec.mappa_category,
        mappa_level=spec.mappa_level,
        next_review_on=today + timedelta(days=14),
        referral=ReferralInput(
            reason=spec.reason,
            lawful_basis=GATEWAYS[lead.agency_type],
            index_offence=spec.offence,
            received_on=today - timedelta(days=21),
        ),
    )
    do_add_victim(
        case=case,
        agency=lead,
        acting_user=owner,
        name=spec.victim,
        relationship=spec.relationship,
        area="Northtown",
        consent=c.Consent.GIVEN,
    )
    do_add_note(case=case, agency=lead, acting_user=owner, body=spec.note, category="C2")
    case.refresh_from_db()
    return case


def _share_with_partners(ctx: DemoContext, case: Any, spec: DemoCase) -> None:
    from sharing.models import CaseShare
    from sharing.services import do_share_case

    lead = ctx.agencies[spec.lead]
    owner = ctx.users[f"{spec.lead}.practitioner"]
    for key in PARTNERS:
        agency = ctx.agencies[key]
        if agency.pk == lead.pk:
            continue
        if CaseShare.objects.filter(case=case, agency=agency, agreement=ctx.agreement).exists():
            continue
        categories = sorted(k for k, v in DEFAULT_MATRIX[agency.agency_type].items() if v > 0)
        do_share_case(
            case=case,
            agency=agency,
            agreement=ctx.agreement,
            categories=categories,
            purpose="Joint risk management of a stalking perpetrator under the Northshire agreement",
            acting_user=owner,
            acting_agency=lead,
        )


def seed_cases(ctx: DemoContext) -> None:
    for spec in CASES:
        case = ctx.once(f"case:{spec.key}", partial(_make_case, ctx, spec))
        _share_with_partners(ctx, case, spec)
        ctx.cases[spec.key] = case


# --- the whole seed --------------------------------------------------------------------------
def app_hooks() -> list[tuple[str, Callable[[DemoContext], Any]]]:
    """``<app>.demo.seed`` for each app that has one, in order; an app without the module is skipped."""
    hooks = []
    for app in HOOK_APPS:
        module_name = f"{app}.demo"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        seed = getattr(module, "seed", None)
        if callable(seed):
            hooks.append((app, seed))
    return hooks


def seed(log: Callable[[str], None] = print) -> DemoContext:
    ctx = DemoContext(log=log)
    seed_agencies(ctx)
    seed_people(ctx)
    seed_agreement(ctx)
    seed_cases(ctx)
    for app, hook in app_hooks():
        log(f"Adding the {app} demo content…")
        hook(ctx)
    return ctx
