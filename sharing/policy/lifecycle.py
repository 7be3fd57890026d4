"""Information lifecycle (retention review, erasure, legal holds, subject access): lifecycle/."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.http import Http404

from agencies.models import Agency, Role, User
from cases.models import Case, Nominal
from sharing.models import CaseShare
from sharing.policy.identity import Viewer, _is_uuid, agency_ids, has_role, memberships

if TYPE_CHECKING:
    from audit.models import AuditEvent
    from lifecycle.models import ErasureCertificate, LegalHold, SubjectAccessRequest
    from sharing.models import Disclosure


def lifecycle_agency_ids(user: Viewer) -> frozenset[int]:
    """Agencies whose retention, holds and erasures this user manages (DPOs and agency admins)."""
    return agency_ids(user, [Role.DPO, Role.AGENCY_ADMIN])


def can_manage_retention(user: Viewer, agency: Agency | int) -> bool:
    """Review, retain and erase what the agency controls: its DPO or agency admin."""
    return has_role(user, Role.DPO, agency) or has_role(user, Role.AGENCY_ADMIN, agency)


def can_handle_sar(user: Viewer, agency: Agency | int) -> bool:
    """Subject access requests are answered by the agency's data-protection officer."""
    return has_role(user, Role.DPO, agency)


def can_set_legal_hold(user: Viewer, case: Case) -> bool:
    """DPOs and admins of the lead agency, or of an agency the case is shared with (e.g. the CPS)."""
    mine = lifecycle_agency_ids(user)
    if case.erased_at is not None or not mine:
        return False
    if case.lead_agency_id in mine:
        return True
    return CaseShare.objects.filter(case_id=case.pk, agency_id__in=mine, revoked_at__isnull=True).exists()


def legal_holds_visible_to(user: User) -> QuerySet[LegalHold]:
    """Holds a DPO or agency admin sees: those their agency placed, and those on cases it leads."""
    from lifecycle.models import LegalHold

    mine = lifecycle_agency_ids(user)
    if not mine:
        return LegalHold.objects.none()
    return LegalHold.objects.filter(Q(agency_id__in=mine) | Q(case__lead_agency_id__in=mine))


def legal_hold_lifting_agency_id(user: User, hold: LegalHold) -> int | None:
    """The agency on whose behalf ``user`` may lift ``hold``, or None (docs/security.md, legal holds).

    The placing agency's DPO lifts its own hold; the lead agency's DPO may lift another agency's hold
    on its case (the service then records the override and the reason). Nobody else: not the agency
    admins, not the other agencies the case is shared with.
    """
    if has_role(user, Role.DPO, hold.agency_id):
        return hold.agency_id
    if has_role(user, Role.DPO, hold.case.lead_agency_id):
        return hold.case.lead_agency_id
    return None


def can_lift_legal_hold(user: User, hold: LegalHold) -> bool:
    return legal_hold_lifting_agency_id(user, hold) is not None


# --- the agency a DPO or admin acts for, and where a hold is placed (lifecycle/dispatch.py asks) ---
def lifecycle_agency(user: Viewer, agency_id: Any = None, *, sar: bool = False) -> Agency:
    """The agency the user acts for on lifecycle pages: the one chosen, if they manage it (DPO for
    subject access, DPO or admin otherwise), else their lowest-numbered such agency; Http404 if none."""
    allowed = agency_ids(user, [Role.DPO]) if sar else lifecycle_agency_ids(user)
    if not allowed:
        raise Http404("Not found.")
    if agency_id in (None, ""):
        chosen = min(allowed)
    else:
        try:
            chosen = int(agency_id)
        except (TypeError, ValueError) as exc:
            raise Http404("Not found.") from exc
        if chosen not in allowed:
            raise Http404("Not found.")
    return next(m.agency for m in memberships(user) if m.agency_id == chosen)


def legal_hold_placing_agency_id(user: Viewer, case: Case) -> int | None:
    """The agency a hold on ``case`` is placed for, or None if the user may not place one.

    The lead agency when the user is its DPO or admin; otherwise the lowest-numbered of the
    user's DPO/admin agencies that holds an unrevoked share of the case (the same rule as
    ``can_set_legal_hold``). Never an agency whose share was revoked, never a guess.
    """
    mine = lifecycle_agency_ids(user)
    if case.erased_at is not None or not mine:
        return None
    if case.lead_agency_id in mine:
        return case.lead_agency_id
    shared = CaseShare.objects.filter(case_id=case.pk, agency_id__in=mine, revoked_at__isnull=True)
    return shared.order_by("agency_id").values_list("agency_id", flat=True).first()


def access_case_for_hold(user: Viewer, case_ref: Any) -> Case | None:
    """A case by id or reference that the user may put under legal hold; None if missing or not."""
    text = str(case_ref or "").strip()
    cases = Case.objects.select_related("lead_agency")
    case = cases.filter(pk=uuid.UUID(text)).first() if _is_uuid(text) else None
    if case is None:
        case = cases.filter(reference=text.upper()).first()
    if case is None or not can_set_legal_hold(user, case):
        return None
    return case


def erasure_certificates_visible_to(user: Viewer) -> QuerySet[ErasureCertificate]:
    """Certificates of the agencies whose retention the user manages (can_manage_retention)."""
    from lifecycle.models import ErasureCertificate

    return ErasureCertificate.objects.filter(agency_id__in=lifecycle_agency_ids(user))


def subject_access_requests_visible_to(user: Viewer) -> QuerySet[SubjectAccessRequest]:
    """Subject access requests of the agencies where the user is the DPO (can_handle_sar)."""
    from lifecycle.models import SubjectAccessRequest

    return SubjectAccessRequest.objects.filter(agency_id__in=agency_ids(user, [Role.DPO]))


# --- subject access (lifecycle/sar.py asks) --------------------------------------------------------
# A subject access request is answered by ONE agency's DPO, for what that agency controls: its own
# records about the person in full (a victim's identity and location withheld from a perpetrator,
# a perpetrator's record withheld from a victim), other agencies' records only counted and referred
# to them. The lookups find the person by blind index only; nothing else of other agencies is read.
SAR_EXPORT = "export"  # the agency's own record about the subject, victim categories protected
SAR_EXPORT_OWN = "export_own"  # a victim's own record, in full
SAR_WITHHOLD_VICTIM = "withhold_victim"  # a victim's record, asked for by the perpetrator
SAR_WITHHOLD_PERPETRATOR = "withhold_perpetrator"  # the perpetrator's case, asked for by a victim
SAR_REFER = "refer"  # another agency's record: counted, "refer the request to them"
SAR_SKIP = "skip"  # another agency's record that is not about the subject
BLIND_INDEXES = frozenset({"pnc_index", "nhs_index", "name_dob_index", "name_index"})


def sar_disposition(
    agency_id: int, obj: Any, *, perpetrator: bool, is_victim: bool, subject_ids: Iterable[Any]
) -> str:
    """What a SAR export for ``agency_id`` does with one case record (``owner_agency`` set)."""
    own_record = is_victim and obj.pk in set(subject_ids)
    if obj.owner_agency_id != agency_id:
        return SAR_REFER if perpetrator or own_record else SAR_SKIP
    if not perpetrator and own_record:
        return SAR_EXPORT_OWN
    if perpetrator and is_victim:
        return SAR_WITHHOLD_VICTIM
    return SAR_EXPORT if perpetrator else SAR_WITHHOLD_PERPETRATOR


def sar_victim_ids(name_index: str) -> list[uuid.UUID]:
    """Victims on cases not erased whose name has this blind index."""
    from cases.models import Victim

    rows = Victim.objects.filter(name_index=name_index, case__erased_at__isnull=True)
    return list(rows.values_list("id", flat=True))


def sar_nominal_ids(column: str, value: str) -> set[uuid.UUID]:
    """Nominals whose blind-index ``column`` (pnc_index, nhs_index, name_dob_index, name_index) matches."""
    if column not in BLIND_INDEXES:
        raise ValueError(f"Not a blind index: {column}")
    return set(Nominal.objects.filter(**{column: value}).values_list("id", flat=True))


def sar_nominals(ids: Iterable[Any]) -> QuerySet[Nominal]:
    """The subject's nominal records (a perpetrator's SAR), by the ids it matched."""
    return Nominal.objects.filter(id__in=list(ids))


def sar_cases(kind: str, ids: Iterable[Any]) -> QuerySet[Case]:
    """Cases not erased about the subject: theirs (a perpetrator's nominal) or naming them (a victim)."""
    wanted = list(ids)
    if kind == "perpetrator":
        return Case.objects.filter(nominal_id__in=wanted, erased_at__isnull=True)
    return Case.objects.filter(victims__id__in=wanted, erased_at__isnull=True).distinct()


def sar_disclosure_rows(
    agency_id: int, case_ids: Iterable[Any], led_case_ids: Iterable[Any]
) -> tuple[QuerySet[CaseShare], QuerySet[Disclosure], QuerySet[AuditEvent]]:
    """The agency's disclosure log for the subject's cases: the shares it made of the cases it leads,
    its third-party disclosures, and its audit events of disclosing and sharing."""
    from audit.models import AuditEvent, Op
    from sharing.models import Disclosure

    cases = list(case_ids)
    shares = CaseShare.objects.filter(case_id__in=list(led_case_ids))
    disclosures = Disclosure.objects.filter(case_id__in=cases, agency_id=agency_id)
    ops = [Op.DISCLOSE, Op.SHARE_GRANTED, Op.SHARE_REVOKED]
    events = AuditEvent.objects.filter(case_id__in=cases, actor_agency_id=agency_id, op__in=ops)
    return shares, disclosures, events
