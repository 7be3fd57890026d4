"""A world the size of England and Wales, built in bulk but through the real encryption and audit chain.

- Agencies, agreements and their signatures go through the real services (there are few of them).
- Users, memberships, nominals, cases and their records, shares and guardian rows are bulk-inserted
  (``bulk_create`` calls each field's ``pre_save``, so every sensitive value is encrypted by the
  keystore field under its case's data key; data keys come from ``keystore.keyring.create_data_keys``).
- Audit events (one COLLECT per case, one SHARE_GRANTED per share, membership changes, and
  consultations up to the size's total) are written with PostgreSQL COPY together with their seals,
  computed by the chain's own rules (``audit.chain.canonical``/``chain_hash``) from the chain head;
  the few events the real services record are sealed by ``audit.services.seal_pending``.
  ``verify_chain`` holds afterwards (bench/run.py checks it).
- Shares and permission rows go in by COPY too (nothing in them is encrypted).
- Guardian's default generic tables get the same view permissions (lead + shares) so that the
  benchmark can compare ``get_objects_for_user`` against the policy module on equal data.

Sizes: tiny (CI, seconds), small, large (~170 agencies, 10,000 users, 100,000 cases, 1,000,000 events).
"""

from __future__ import annotations

import contextlib
import json
import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.utils import timezone

from agencies.models import Agency, Membership, Role, User
from agencies.services import do_create_agency
from audit.chain import FIELDS, canonical, chain_hash
from audit.models import AuditEvent, AuditSeal, Op
from audit.services import chain_head, seal_pending
from cases import choices as c
from cases.identifiers import (
    name_dob_index,
    nhs_index,
    nhs_with_check,
    person_name_index,
    pnc_index,
    pnc_with_check,
)
from cases.models import Case, Nominal, Note, Referral, RiskAssessment, Victim
from core.categories import DEFAULT_MATRIX, AgencyType
from keystore.fields import EncryptedField
from keystore.keyring import create_data_keys
from sharing import visibility
from sharing.models import AgreementParty, CaseGroupObjectPermission, CaseShare, SharingAgreement
from sharing.services import (
    do_break_glass,
    do_change_agreement_status,
    do_create_agreement,
    do_expire_agreements,
    do_revoke_share,
    do_sign_agreement,
)

REFERENCE_PREFIX = "BEN-"
SEED_USER = "bench_seed"
CHUNK = 1000  # cases per chunk: 2 data keys each stays inside the 4,096-key in-process cache
EVENT_CHUNK = 50_000


@dataclass(frozen=True)
class Size:
    name: str
    police: int
    probation: int
    health: int
    cps: int
    isac: int
    users: int
    cases: int
    events: int

    @property
    def agencies(self) -> int:
        return self.police + self.probation + self.health + self.cps + self.isac


SIZES = {
    "tiny": Size("tiny", 3, 2, 3, 2, 3, users=120, cases=300, events=5_000),
    "small": Size("small", 43, 12, 50, 14, 50, users=2_000, cases=10_000, events=100_000),
    "large": Size("large", 43, 12, 50, 14, 50, users=10_000, cases=100_000, events=1_000_000),
}

FORCES = [
    "Avon and Somerset",
    "Bedfordshire",
    "Cambridgeshire",
    "Cheshire",
    "City of London",
    "Cleveland",
    "Cumbria",
    "Derbyshire",
    "Devon and Cornwall",
    "Dorset",
    "Durham",
    "Dyfed-Powys",
    "Essex",
    "Gloucestershire",
    "Greater Manchester",
    "Gwent",
    "Hampshire and Isle of Wight",
    "Hertfordshire",
    "Humberside",
    "Kent",
    "Lancashire",
    "Leicestershire",
    "Lincolnshire",
    "Merseyside",
    "Metropolitan",
    "Norfolk",
    "North Wales",
    "North Yorkshire",
    "Northamptonshire",
    "Northumbria",
    "Nottinghamshire",
    "South Wales",
    "South Yorkshire",
    "Staffordshire",
    "Suffolk",
    "Surrey",
    "Sussex",
    "Thames Valley",
    "Warwickshire",
    "West Mercia",
    "West Midlands",
    "West Yorkshire",
    "Wiltshire",
]
REGIONS = [
    "North East",
    "North West",
    "Yorkshire and the Humber",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "Kent, Surrey and Sussex",
    "South Central",
    "South West",
    "Wales",
    "Greater Manchester",
]
CPS_AREAS = [
    "Cymru-Wales",
    "East Midlands",
    "East of England",
    "London North",
    "London South",
    "Mersey-Cheshire",
    "North East",
    "North West",
    "South East",
    "South West",
    "Thames and Chiltern",
    "Wessex",
    "West Midlands",
    "Yorkshire and Humberside",
]
GIVEN = [
    "James",
    "Oliver",
    "Harry",
    "Jack",
    "George",
    "Noah",
    "Charlie",
    "Jacob",
    "Alfie",
    "Freddie",
    "Thomas",
    "Daniel",
    "Liam",
    "Ryan",
    "Connor",
    "Mark",
    "Paul",
    "Stephen",
    "Craig",
    "Dean",
    "Amelia",
    "Olivia",
    "Emily",
    "Sophie",
    "Jessica",
    "Lauren",
    "Chloe",
    "Megan",
    "Hannah",
    "Rebecca",
    "Sarah",
    "Claire",
]
FAMILY = [
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Patel",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
]
STREETS = ["High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane", "Park Avenue"]
BEHAVIOURS = [
    "repeated unwanted messages on several platforms",
    "loitering near the victim's workplace at the start and end of shifts",
    "sending gifts and letters to the victim's family",
    "creating new social media accounts after each block",
    "turning up at the victim's gym and following her home",
    "contacting the victim's employer with false allegations",
    "tracking the victim's car with a concealed device",
]
RISK_TEXT = [
    "Fixation has intensified since the relationship ended; preoccupation is constant.",
    "Escalation from online contact to physical approach within four weeks.",
    "Previous breach of a restraining order; minimises the impact on the victim.",
    "Reports suicidal ideation linked to the loss of the relationship; risk to self and others.",
    "Substance misuse increases the frequency of contact at night.",
]
ROUTINES = [
    "Leaves home at 07:40 for the school run, then drives to the office.",
    "Works late shifts on Tuesdays and Thursdays; takes the 23:10 bus home.",
    "Attends a gym class on Monday and Wednesday evenings.",
]


def _text(rng: random.Random, parts: list[str], sentences: int) -> str:
    return " ".join(rng.choice(parts) for _ in range(sentences))


@contextlib.contextmanager
def explicit_timestamps(*model_classes: type[models.Model]) -> Iterator[None]:
    """Let bulk inserts carry spread-out created_at values instead of 'now' (seed process only)."""
    changed: list[tuple[models.DateTimeField, bool, bool]] = []
    for model in model_classes:
        for field in model._meta.concrete_fields:
            if isinstance(field, models.DateTimeField) and (field.auto_now_add or field.auto_now):
                changed.append((field, field.auto_now_add, field.auto_now))
                field.auto_now_add = False
                field.auto_now = False
    try:
        yield
    finally:
        for field, add, now in changed:
            field.auto_now_add = add
            field.auto_now = now


JSON_COLUMNS = frozenset({"categories", "recipients", "detail"})


def _reserve_ids(model: type[models.Model], count: int) -> int:
    """Reserve ``count`` consecutive ids from the model's id sequence; return the first."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s)", [sequence])
            first = int(cursor.fetchone()[0])
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
            return first
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - a model's own table
        return int(cursor.fetchone()[0]) + 1


def copy_rows(model: type[models.Model], columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """COPY rows into the model's table on PostgreSQL; bulk_create elsewhere (the tiny SQLite smoke test)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        table = model._meta.db_table
        names = ", ".join(f'"{c}"' for c in columns)
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    attnames = {f.column: f.attname for f in model._meta.concrete_fields}
    objects = []
    for row in rows:
        values = {
            attnames[c]: (json.loads(v) if c in JSON_COLUMNS and isinstance(v, str) else v)
            for c, v in zip(columns, row, strict=True)
        }
        objects.append(model(**values))
    model._default_manager.bulk_create(objects, batch_size=2000)


def copy_instances(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """COPY model instances on PostgreSQL; bulk_create elsewhere (the tiny SQLite smoke test).

    Every value comes from the field's own ``pre_save`` and ``get_db_prep_save``, exactly as
    ``bulk_create`` would compute it: encrypted fields encrypt there under their row's data key.
    """
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objects, batch_size=2000)
        return
    fields = [
        f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))
    ]
    rows = []
    for obj in objects:
        row = []
        for f in fields:
            value = f.pre_save(obj, True)
            if isinstance(f, models.JSONField):
                value = None if value is None else json.dumps(value)
            elif isinstance(f, EncryptedField):
                value = f.get_db_prep_save(value, connection)
            row.append(value)
        rows.append(tuple(row))
    copy_rows(model, [_column(f) for f in fields], rows)


def _column(field: models.Field[Any, Any]) -> str:
    if field.column is None:  # only a field not (yet) on a model has none
        raise ValueError(f"{field.name} has no column")
    return field.column


class Progress:
    """tqdm when available and wanted; otherwise silent."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def bar(self, total: int, desc: str) -> Any:
        if self.enabled:
            from tqdm import tqdm

            return tqdm(total=total, desc=desc, unit="row", dynamic_ncols=True, mininterval=0.5)
        return contextlib.nullcontext(_NullBar())


class _NullBar:
    def update(self, n: int = 1) -> None:
        pass


@dataclass
class SeedResult:
    size: str
    agencies: int
    users: int
    cases: int
    shares: int
    events: int
    sealed: int
    seconds: float


def is_seeded(size: Size) -> bool:
    """The size's world is complete (later benchmark runs add notes and events; that is fine)."""
    return (
        Case.objects.filter(reference__startswith=REFERENCE_PREFIX).count() == size.cases
        and AuditEvent.objects.count() >= size.events
    )


def seed(size: Size, progress: bool = True, rng_seed: int = 2026) -> SeedResult:
    """Build the world for ``size`` in an empty database. Raises if benchmark cases already exist."""
    import time

    started = time.perf_counter()
    if Case.objects.filter(reference__startswith=REFERENCE_PREFIX).exists():
        raise RuntimeError("This database already holds a benchmark world; use a fresh database.")
    rng = random.Random(rng_seed)
    bars = Progress(progress)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # durability of the seed is not needed; correctness is kept
            cursor.execute("SET synchronous_commit TO off")
    builder = _Builder(size, rng, bars)
    builder.agencies_and_agreements()
    builder.users_and_memberships()
    builder.cases()
    builder.consultations()
    visibility.rebuild()  # the case-list candidate rows for the bulk-loaded cases and shares
    builder.wear()  # then what a living system has: suspended and expired agreements, revoked shares…
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # planner statistics for the bulk-loaded tables
            cursor.execute("ANALYZE")
    return SeedResult(
        size=size.name,
        agencies=len(builder.agencies),
        users=size.users,
        cases=size.cases,
        shares=builder.share_count,
        events=AuditEvent.objects.count(),
        sealed=builder.sealed,
        seconds=time.perf_counter() - started,
    )


class _Builder:
    def __init__(self, size: Size, rng: random.Random, bars: Progress) -> None:
        self.size = size
        self.rng = rng
        self.bars = bars
        self.now = timezone.now()
        self.agencies: list[Agency] = []
        self.by_type: dict[str, list[Agency]] = {}
        self.agreements: list[tuple[SharingAgreement, list[Agency]]] = []
        self.practitioners: dict[int, list[int]] = {}
        self.usernames: dict[int, str] = {}
        self.share_count = 0
        self.sealed = 0
        self.case_ids: list[tuple[uuid.UUID, int]] = []  # (case id, lead agency id) for consultations
        self.pending_events: list[dict[str, Any]] = []
        self.view_perm = Permission.objects.get(content_type__app_label="cases", codename="view_case")
        self.case_ct = ContentType.objects.get_for_model(Case)

    # --- agencies and agreements --------------------------------------------------------------
    def agencies_and_agreements(self) -> None:
        size = self.size
        self.system = User.objects.create_user(username=SEED_USER, password=None)
        specs = (
            [
                (f"{FORCES[i % 43]} Police" + ("" if i < 43 else f" {i}"), AgencyType.POLICE, FORCES[i % 43])
                for i in range(size.police)
            ]
            + [
                (
                    f"Probation Service {REGIONS[i % 12]}" + ("" if i < 12 else f" {i}"),
                    AgencyType.PROBATION,
                    REGIONS[i % 12],
                )
                for i in range(size.probation)
            ]
            + [
                (f"{FORCES[i % 43]} NHS Trust {i + 1}", AgencyType.HEALTH, FORCES[i % 43])
                for i in range(size.health)
            ]
            + [
                (f"CPS {CPS_AREAS[i % 14]}" + ("" if i < 14 else f" {i}"), AgencyType.CPS, CPS_AREAS[i % 14])
                for i in range(size.cps)
            ]
            + [
                (
                    f"{FORCES[i % 43]} Stalking Advocacy Service {i + 1}",
                    AgencyType.VICTIM_SUPPORT,
                    FORCES[i % 43],
                )
                for i in range(size.isac)
            ]
        )
        with self.bars.bar(len(specs), "agencies") as bar:
            for name, kind, area in specs:
                agency = do_create_agency(name=name, agency_type=kind, area=area, acting_user=self.system)
                self.agencies.append(agency)
                self.by_type.setdefault(kind, []).append(agency)
                bar.update(1)
        police = self.by_type[AgencyType.POLICE]
        probation = self.by_type[AgencyType.PROBATION]
        health = self.by_type[AgencyType.HEALTH]
        cps = self.by_type[AgencyType.CPS]
        isac = self.by_type[AgencyType.VICTIM_SUPPORT]
        today = timezone.localdate()
        with self.bars.bar(len(police), "agreements") as bar:
            for i, force in enumerate(police):
                parties = [
                    force,
                    probation[i % len(probation)],
                    cps[i % len(cps)],
                    health[i % len(health)],
                    health[(i + len(police)) % len(health)],
                    isac[i % len(isac)],
                ]
                unique = list({a.pk: a for a in parties}.values())
                agreement = do_create_agreement(
                    title=f"{force.area} MAPPA and stalking clinic information-sharing agreement",
                    reference=f"ISA-BEN-{i + 1:03d}",
                    purpose="Joint assessment and management of stalking perpetrators (MAPPA, MASIP).",
                    dpia_reference=f"DPIA-BEN-{i + 1:03d}",
                    retention_rule="MoPI group 1 review; 6 years for partner contributions.",
                    security_terms="OFFICIAL-SENSITIVE handling; vetted users; no onward sharing.",
                    starts_on=today - timedelta(days=900),
                    review_on=today + timedelta(days=200),
                    ends_on=None,
                    drafted_by=force,
                    acting_user=self.system,
                    parties=[
                        {
                            "agency": a,
                            "legal_gateway": "CJA 2003 s325; DPA 2018 Part 3 / UK GDPR Art 6(1)(e), 9(2)(g)",
                            "categories": dict(DEFAULT_MATRIX[a.agency_type]),
                        }
                        for a in unique
                    ],
                )
                for party in agreement.parties.all():
                    do_sign_agreement(
                        party=party,
                        signatory_name="A Signatory",
                        signatory_role="Head of service",
                        acting_user=self.system,
                    )
                agreement = do_change_agreement_status(
                    agreement=agreement, status="active", acting_user=self.system
                )
                self.agreements.append((agreement, unique))
                bar.update(1)
        self.party_levels = {
            (p.agreement_id, p.agency_id): p.categories
            for p in AgreementParty.objects.filter(agreement__in=[a for a, _ in self.agreements])
        }

    # --- people ---------------------------------------------------------------------------------
    def users_and_memberships(self) -> None:
        size, rng = self.size, self.rng
        password = make_password(None)
        roles = [Role.PRACTITIONER] * 14 + [Role.CHAIR] * 3 + [Role.AUDITOR, Role.AGENCY_ADMIN, Role.DPO]
        with self.bars.bar(size.users, "users") as bar, explicit_timestamps(Membership):
            for start in range(0, size.users, 2000):
                users, memberships = [], []
                for n in range(start, min(size.users, start + 2000)):
                    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
                    users.append(
                        User(
                            username=f"bench_{n:05d}",
                            first_name=given,
                            last_name=family,
                            password=password,
                            email=f"bench_{n:05d}@example.org",
                            is_active=True,
                        )
                    )
                User.objects.bulk_create(users, batch_size=1000)
                users = list(
                    User.objects.filter(username__in=[u.username for u in users]).order_by("username")
                )
                groups = []
                for offset, user in enumerate(users):
                    n = start + offset
                    agency = self.agencies[n % len(self.agencies)]
                    # the first user of each agency is a practitioner, so every agency has one
                    role = Role.PRACTITIONER if n < len(self.agencies) else roles[n % len(roles)]
                    memberships.append(
                        Membership(
                            user=user,
                            agency=agency,
                            role=role,
                            vetting_level="nppv2",
                            valid_from=self.now - timedelta(days=1000),
                            created_at=self.now - timedelta(days=1000),
                        )
                    )
                    groups.append(User.groups.through(user_id=user.pk, group_id=agency.group_id))
                    if role == Role.PRACTITIONER:
                        self.practitioners.setdefault(agency.pk, []).append(user.pk)
                    self.usernames[user.pk] = user.username
                    self.event(
                        Op.MEMBERSHIP,
                        actor_id=self.system.pk,
                        actor_username=SEED_USER,
                        occurred_at=self.now - timedelta(days=1000),
                        object_type="agencies.Membership",
                        object_id=str(memberships[-1].pk),
                        agency_id=agency.pk,
                        detail={"change": "added", "role": role, "user_id": user.pk},
                    )
                Membership.objects.bulk_create(memberships, batch_size=2000)
                User.groups.through.objects.bulk_create(groups, batch_size=2000)
                bar.update(len(users))
        self.flush_events()

    # --- audit ----------------------------------------------------------------------------------
    def event(
        self,
        op: str,
        *,
        actor_id: int | None,
        actor_username: str,
        occurred_at: datetime,
        object_type: str,
        object_id: str,
        agency_id: int | None = None,
        role: str = "",
        case_id: uuid.UUID | None = None,
        categories: list[str] | None = None,
        justification: str = "",
        share_id: uuid.UUID | None = None,
        agreement_id: uuid.UUID | None = None,
        recipients: list[str] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.pending_events.append(
            {
                "occurred_at": occurred_at,
                "actor_id": actor_id,
                "actor_username": actor_username,
                "actor_agency_id": agency_id,
                "actor_role": role,
                "op": str(op),
                "object_type": object_type,
                "object_id": object_id,
                "case_id": case_id,
                "categories": categories or [],
                "justification": justification,
                "share_id": share_id,
                "agreement_id": agreement_id,
                "recipients": recipients or [],
                "outcome": "ok",
                "detail": detail or {},
                "request_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "client_ip": "10.20.0.7",
            }
        )
        if len(self.pending_events) >= EVENT_CHUNK:
            self.flush_events()

    def flush_events(self) -> None:
        """Write the buffered events and their chain seals (audit.chain rules) in one transaction.

        Ids are reserved from the event sequence first, because each event's id is part of what its
        seal hashes; the seals continue the chain from its current head, exactly as seal_pending
        would. ``verify_chain`` re-derives every hash from the stored rows afterwards.
        """
        if not self.pending_events:
            return
        events = self.pending_events
        self.pending_events = []
        self.sealed += seal_pending()  # events the real services recorded go first, as the sealer would
        with transaction.atomic():
            first_id = _reserve_ids(AuditEvent, len(events))
            seq, prev = chain_head()
            sealed_at = timezone.now()
            seals = []
            for offset, event in enumerate(events):
                event["id"] = first_id + offset
                seq += 1
                digest = chain_hash(prev, canonical(event, seq))
                seals.append((seq, event["id"], prev, digest, sealed_at))
                prev = digest
            columns = ["id", *(name for name in FIELDS if name != "id")]
            copy_rows(
                AuditEvent,
                columns,
                [tuple(json.dumps(e[c]) if c in JSON_COLUMNS else e[c] for c in columns) for e in events],
            )
            copy_rows(AuditSeal, ["seq", "event_id", "prev_hash", "hash", "sealed_at"], seals)
        self.sealed += len(seals)

    # --- cases ----------------------------------------------------------------------------------
    def cases(self) -> None:
        size = self.size
        with self.bars.bar(size.cases, "cases") as bar:
            for start in range(0, size.cases, CHUNK):
                count = min(CHUNK, size.cases - start)
                with (
                    transaction.atomic(),
                    explicit_timestamps(Case, Nominal, Referral, Victim, RiskAssessment, Note, CaseShare),
                ):
                    self._case_chunk(start, count)
                bar.update(count)
        self.flush_events()

    def _case_chunk(self, start: int, count: int) -> None:
        rng = self.rng
        case_keys = create_data_keys("case", count)
        nominal_keys = create_data_keys("nominal", count)
        nominals, cases, referrals, victims, assessments, notes = [], [], [], [], [], []
        shares, grants, generic = [], [], []
        from guardian.models import GroupObjectPermission

        for k in range(count):
            n = start + k
            agreement, parties = self.agreements[n % len(self.agreements)]
            force = parties[0]
            lead = force
            if rng.random() < 0.15:
                lead = next(a for a in parties if a.agency_type == AgencyType.PROBATION)
            owner_id = rng.choice(self.practitioners.get(lead.pk) or [self.system.pk])
            created = self.now - timedelta(minutes=(self.size.cases - n) * (1_500_000 // self.size.cases))
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            dob = date(1960, 1, 1) + timedelta(days=rng.randrange(0, 15000))
            pnc = pnc_with_check(f"{rng.randrange(0, 100):02d}", str(rng.randrange(1, 9_999_999)))
            nhs = nhs_with_check(f"{rng.randrange(100000000, 999999999)}")
            names = [{"given": given, "family": family, "kind": "primary"}]
            if rng.random() < 0.3:
                names.append({"given": given[0] + ".", "family": rng.choice(FAMILY), "kind": "alias"})
            nominal = Nominal(
                data_key_id=nominal_keys[k],
                owner_agency_id=lead.pk,
                created_by_id=owner_id,
                created_at=created,
                updated_at=created,
                names=names,
                date_of_birth=dob,
                ethnicity="White British",
                address=f"{rng.randrange(1, 200)} {rng.choice(STREETS)}, {lead.area}",
                pnc_id=pnc,
                nhs_number=nhs,
                pnc_index=pnc_index(pnc),
                nhs_index=nhs_index(nhs) if nhs else None,
                name_dob_index=name_dob_index(given, family, dob),
                name_index=person_name_index(f"{given} {family}"),
            )
            status = rng.choice(
                [c.CaseStatus.ACTIVE] * 6
                + [c.CaseStatus.REFERRED, c.CaseStatus.SCREENING, c.CaseStatus.CLOSED]
            )
            forum = c.Forum.MAPPA if rng.random() < 0.4 else c.Forum.CLINIC
            case = Case(
                reference=f"{REFERENCE_PREFIX}{n + 1:07d}",
                nominal=nominal,
                data_key_id=case_keys[k],
                forum=forum,
                mappa_category=2 if forum == c.Forum.MAPPA else None,
                mappa_level=rng.choice([1, 2, 3]) if forum == c.Forum.MAPPA else None,
                status=status,
                lead_agency_id=lead.pk,
                owner_id=owner_id,
                owner_agency_id=lead.pk,
                created_by_id=owner_id,
                created_at=created,
                updated_at=created,
                risk_level=rng.choice(c.RiskLevel.values),
                next_review_on=(created + timedelta(days=rng.randrange(30, 200))).date(),
            )
            referrals.append(
                Referral(
                    case=case,
                    owner_agency_id=lead.pk,
                    created_by_id=owner_id,
                    created_at=created,
                    updated_at=created,
                    referring_agency_id=lead.pk,
                    referred_by_id=owner_id,
                    reason=_text(rng, BEHAVIOURS, 3),
                    lawful_basis="CJA 2003 s325",
                    index_offence="Stalking involving fear of violence (s4A PHA 1997)",
                    received_on=created.date(),
                    urgency=rng.choice(c.Urgency.values),
                    advice_given=_text(rng, RISK_TEXT, 2),
                )
            )
            vgiven, vfamily = rng.choice(GIVEN), rng.choice(FAMILY)
            victims.append(
                Victim(
                    case=case,
                    owner_agency_id=lead.pk,
                    created_by_id=owner_id,
                    created_at=created,
                    updated_at=created,
                    name=f"{vgiven} {vfamily}",
                    contact=f"07{rng.randrange(100000000, 999999999)}",
                    address=f"{rng.randrange(1, 200)} {rng.choice(STREETS)}, {lead.area}",
                    area=f"{lead.area} (north)",
                    routines=_text(rng, ROUTINES, 2),
                    workplace="Retail unit, town centre",
                    relationship=rng.choice(c.Relationship.values),
                    vulnerabilities="Anxiety; lives alone with two children.",
                    consent=c.Consent.GIVEN,
                    name_index=person_name_index(f"{vgiven} {vfamily}", "victim.name"),
                )
            )
            assessments.append(
                RiskAssessment(
                    case=case,
                    owner_agency_id=lead.pk,
                    created_by_id=owner_id,
                    created_at=created,
                    updated_at=created,
                    tool=c.Tool.SDASH,
                    answers={f"q{i}": rng.random() < 0.5 for i in range(1, 12)},
                    yes_count=rng.randrange(0, 12),
                    level="high",
                    risk_level=case.risk_level or "medium",
                    formulation=_text(rng, RISK_TEXT, 4),
                    assessor_id=owner_id,
                    assessed_on=created.date(),
                )
            )
            for j in range(2):
                notes.append(
                    Note(
                        case=case,
                        owner_agency_id=lead.pk,
                        created_by_id=owner_id,
                        category="C2",
                        created_at=created + timedelta(hours=j + 1),
                        updated_at=created + timedelta(hours=j + 1),
                        body=_text(rng, BEHAVIOURS + RISK_TEXT, 5),
                        basis=c.Basis.FACT,
                    )
                )
            nominals.append(nominal)
            cases.append(case)
            username = self.usernames.get(owner_id, SEED_USER)
            self.event(
                Op.COLLECT,
                actor_id=owner_id,
                actor_username=username,
                occurred_at=created,
                object_type="cases.Case",
                object_id=str(case.pk),
                agency_id=lead.pk,
                role=Role.PRACTITIONER,
                case_id=case.pk,
                categories=["C1", "C2"],
                justification="CJA 2003 s325",
                detail={"created": "case_and_referral"},
            )
            generic.append(
                GroupObjectPermission(
                    content_type=self.case_ct,
                    object_pk=str(case.pk),
                    group_id=lead.group_id,
                    permission=self.view_perm,
                )
            )
            for partner in parties:
                if partner.pk == lead.pk:
                    continue
                levels = self.party_levels.get((agreement.pk, partner.pk), {})
                categories = sorted(cat for cat, level in levels.items() if int(level) > 0)
                share = CaseShare(
                    case=case,
                    agency=partner,
                    agreement=agreement,
                    purpose="MAPPA / MASIP joint management",
                    categories=categories,
                    valid_from=created,
                    shared_by_id=owner_id,
                    created_at=created,
                )
                shares.append(share)
                grants.append(
                    CaseGroupObjectPermission(
                        content_object=case, group_id=partner.group_id, permission=self.view_perm
                    )
                )
                generic.append(
                    GroupObjectPermission(
                        content_type=self.case_ct,
                        object_pk=str(case.pk),
                        group_id=partner.group_id,
                        permission=self.view_perm,
                    )
                )
                self.event(
                    Op.SHARE_GRANTED,
                    actor_id=owner_id,
                    actor_username=username,
                    occurred_at=created,
                    object_type="sharing.CaseShare",
                    object_id=str(share.pk),
                    agency_id=lead.pk,
                    role=Role.PRACTITIONER,
                    case_id=case.pk,
                    categories=categories,
                    justification=share.purpose,
                    share_id=share.pk,
                    agreement_id=agreement.pk,
                    recipients=[f"agency:{partner.pk}"],
                )
            self.case_ids.append((case.pk, lead.pk))
        # Each field's pre_save runs as bulk_create would run it: the keystore fields encrypt there.
        for model, objects in (
            (Nominal, nominals),
            (Case, cases),
            (Referral, referrals),
            (Victim, victims),
            (RiskAssessment, assessments),
            (Note, notes),
        ):
            copy_instances(model, objects)
        copy_instances(CaseShare, shares)
        copy_instances(CaseGroupObjectPermission, grants)
        copy_instances(GroupObjectPermission, generic)
        self.share_count += len(shares)

    # --- wear: what months of use leave behind ----------------------------------------------------
    def wear(self) -> None:
        """A world whose every agreement is active and every share live is the policy's best case (the
        exact rule never rejects a candidate row). Add what use leaves: one agreement suspended and one
        expired (through the services, so their candidate rows stay, as in production), shares revoked
        through the service and shares whose window has ended, live and expired break-glass, and people
        who work for two agencies."""
        rng, now = self.rng, timezone.now()
        n = len(self.agreements)
        suspended, _ = self.agreements[n // 3]
        do_change_agreement_status(
            agreement=suspended,
            status="suspended",
            acting_user=self.system,
            reason="Benchmark: a party's DPIA review is overdue",
        )
        expired, _ = self.agreements[(2 * n) // 3]
        if n >= 3:  # (a world of two agreements keeps one of them in force)
            SharingAgreement.objects.filter(pk=expired.pk).update(
                ends_on=timezone.localdate() - timedelta(days=1)
            )
            do_expire_agreements(acting_user=self.system)
        live = list(  # (a stable order: share ids are random, the seed's choices must not be)
            CaseShare.objects.filter(revoked_at__isnull=True, agreement__status="active")
            .order_by("created_at", "case__reference", "agency__name")
            .values_list("pk", flat=True)
        )
        rng.shuffle(live)
        revoke = live[: max(6, min(500, len(live) // 100))]
        ended = live[len(revoke) : len(revoke) + max(2, len(live) * 3 // 100)]
        with self.bars.bar(len(revoke), "revoked shares") as bar:
            for share in CaseShare.objects.filter(pk__in=revoke).select_related("case"):
                do_revoke_share(share=share, reason="Benchmark: purpose fulfilled", acting_user=self.system)
                bar.update(1)
        # a share's window ending is time passing, not an action: no service runs, candidate rows stay
        CaseShare.objects.filter(pk__in=ended).update(valid_to=now - timedelta(days=1))
        self.wear_break_glass()
        self.wear_second_memberships()
        self.wear_guardian_baseline()

    def wear_guardian_baseline(self) -> None:
        """Keep guardian's generic tables (the comparison baseline) holding what a guardian-only
        application would hold after the same events: no row for an agency whose share was revoked or
        ended or whose agreement is not in force, and a user row for each live break-glass."""
        from guardian.models import GroupObjectPermission, UserObjectPermission

        from sharing.models import BreakGlass

        now = timezone.now()
        gone = (
            CaseShare.objects.filter(
                models.Q(revoked_at__isnull=False)
                | models.Q(valid_to__lte=now)
                | ~models.Q(agreement__status="active")
            )
            .exclude(case__lead_agency_id=models.F("agency_id"))
            .values_list("case_id", "agency__group_id")
        )
        pairs = list(gone)
        for start in range(0, len(pairs), 500):
            condition = models.Q()
            for case_id, group_id in pairs[start : start + 500]:
                condition |= models.Q(object_pk=str(case_id), group_id=group_id)
            GroupObjectPermission.objects.filter(condition, content_type=self.case_ct).delete()
        UserObjectPermission.objects.bulk_create(
            [
                UserObjectPermission(
                    content_type=self.case_ct,
                    object_pk=str(g.case_id),
                    user_id=g.user_id,
                    permission=self.view_perm,
                )
                for g in BreakGlass.objects.filter(expires_at__gt=now)
            ],
            ignore_conflicts=True,
        )

    def wear_break_glass(self) -> None:
        """Break-glass by partners on cases whose share to them was revoked (the only cases of their
        agreement they no longer see), under agreements still in force: half of them expired."""
        revoked = (
            CaseShare.objects.filter(revoked_at__isnull=False, agreement__status="active")
            .select_related("case", "agency", "agreement")
            .order_by("created_at", "case__reference", "agency__name")[:40]
        )
        granted = 0
        for share in revoked:
            users = self.practitioners.get(share.agency_id)
            if not users:
                continue
            granted += 1
            glass = do_break_glass(
                case=share.case,
                user=User.objects.get(pk=self.rng.choice(users)),
                agency=share.agency,
                agreement=share.agreement,
                reason="Benchmark: risk to the victim reported out of hours",
            )
            if granted % 2 == 0:
                type(glass).objects.filter(pk=glass.pk).update(expires_at=timezone.now() - timedelta(hours=1))

    def wear_second_memberships(self) -> None:
        """Two in every hundred people also work for a second agency of the same kind."""
        rng = self.rng
        memberships, groups = [], []
        people = list(
            Membership.objects.filter(role=Role.PRACTITIONER)
            .select_related("agency")
            .order_by("user__username")
        )
        rng.shuffle(people)
        for m in people[: max(1, len(people) // 50)]:
            others = [a for a in self.by_type.get(m.agency.agency_type, []) if a.pk != m.agency_id]
            if not others:
                continue
            second = rng.choice(others)
            memberships.append(
                Membership(
                    user_id=m.user_id,
                    agency=second,
                    role=Role.PRACTITIONER,
                    vetting_level="nppv2",
                    valid_from=self.now - timedelta(days=200),
                )
            )
            groups.append(User.groups.through(user_id=m.user_id, group_id=second.group_id))
            self.practitioners.setdefault(second.pk, []).append(m.user_id)
        Membership.objects.bulk_create(memberships)
        User.groups.through.objects.bulk_create(groups, ignore_conflicts=True)

    # --- consultations ---------------------------------------------------------------------------
    def consultations(self) -> None:
        """Fill the audit log up to the size's total with CONSULT events (reads by the lead agency)."""
        self.flush_events()
        missing = self.size.events - AuditEvent.objects.count()
        if missing <= 0:
            return
        rng = self.rng
        with self.bars.bar(missing, "audit events") as bar:
            done = 0
            while done < missing:
                batch = min(EVENT_CHUNK, missing - done)
                for _ in range(batch):
                    case_id, lead_id = rng.choice(self.case_ids)
                    actor = rng.choice(self.practitioners.get(lead_id) or [self.system.pk])
                    self.event(
                        Op.CONSULT,
                        actor_id=actor,
                        actor_username=self.usernames.get(actor, SEED_USER),
                        occurred_at=self.now - timedelta(seconds=rng.randrange(0, 86400 * 365)),
                        object_type="cases.Case",
                        object_id=str(case_id),
                        agency_id=lead_id,
                        role=Role.PRACTITIONER,
                        case_id=case_id,
                        categories=["C1", "C2", "C3", "C4", "C5"],
                        justification="lead agency",
                        detail={"view": "case_detail"},
                    )
                self.flush_events()
                done += batch
                bar.update(batch)


def run_seed(size_name: str, progress: bool = True, echo: Callable[[str], None] = print) -> SeedResult:
    size = SIZES[size_name]
    result = seed(size, progress=progress)
    echo(
        f"Seeded {size.name}: {result.agencies} agencies, {result.users} users, {result.cases} cases, "
        f"{result.shares} shares, {result.events} audit events ({result.sealed} sealed) "
        f"in {result.seconds:.1f} s."
    )
    return result
