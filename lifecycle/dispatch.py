"""Access checks and dispatch shared by the lifecycle pages and API (policy first, then a service).

Forbidden looks like not-found: every lookup a user may not act on raises Http404.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.http import Http404

from agencies.models import Agency
from cases.models import Case
from core.errors import DomainError
from sharing import policy

from .models import Decision, ErasureCertificate, LegalHold, RecordType, SubjectAccessRequest
from .services import (
    do_erase_case,
    do_erase_contribution,
    do_retain,
    record_agency_id,
    resolve_record,
)


def managed_agency(user: Any, agency_id: Any = None, *, sar: bool = False) -> Agency:
    """The agency the user acts for on lifecycle pages (policy.lifecycle_agency)."""
    return policy.lifecycle_agency(user, agency_id, sar=sar)


def access_record(user: Any, record_type: str, object_id: Any) -> tuple[Case, Any, Agency]:
    """The record under review, if the user manages retention for its controller; else 404."""
    try:
        case, obj = resolve_record(record_type, object_id)
    except DomainError as exc:
        raise Http404("Not found.") from exc
    agency_id = record_agency_id(record_type, obj)
    if case.erased_at is not None or not policy.can_manage_retention(user, agency_id):
        raise Http404("Not found.")
    return case, obj, next(m.agency for m in policy.memberships(user) if m.agency_id == agency_id)


def decide(
    user: Any,
    *,
    record_type: str,
    object_id: Any,
    decision: str,
    reason: str,
    next_review_on: date | None = None,
) -> Any:
    """Apply a retention decision (retain or erase) on a record the user may review."""
    if record_type not in RecordType.values:
        raise DomainError("Choose the type of record.", field="record_type")
    case, obj, agency = access_record(user, record_type, object_id)
    if decision == Decision.RETAIN:
        return do_retain(
            record_type=record_type,
            obj=obj,
            reason=reason,
            next_review_on=next_review_on,
            acting_user=user,
            agency=agency,
        )
    if decision != Decision.ERASE:
        raise DomainError("Choose retain or erase.", field="decision")
    if record_type == RecordType.CASE:
        if not policy.can_erase_case(user, case):
            raise Http404("Not found.")
        return do_erase_case(case, acting_user=user, agency=agency, rule=None, reason=reason)
    return do_erase_contribution(
        record_type=record_type, obj=obj, acting_user=user, agency=agency, rule=None, reason=reason
    )


def access_case_for_hold(user: Any, case_ref: Any) -> Case:
    """A case by id or reference that the user may put under (or out of) legal hold."""
    case = policy.access_case_for_hold(user, case_ref)
    if case is None:
        raise DomainError("No case with that reference that your agency may hold.", field="case")
    return case


def hold_agency(user: Any, case: Case) -> Agency:
    """The agency a hold is placed for (policy.legal_hold_placing_agency_id); 404 if none."""
    agency_id = policy.legal_hold_placing_agency_id(user, case)
    if agency_id is None:
        raise Http404("Not found.")
    if agency_id == case.lead_agency_id:
        return case.lead_agency
    return next(m.agency for m in policy.memberships(user) if m.agency_id == agency_id)


def access_hold(user: Any, pk: Any) -> LegalHold:
    """A hold the user may lift (policy.can_lift_legal_hold); Http404 whether missing or forbidden."""
    hold = (
        policy.legal_holds_visible_to(user)
        .select_related("case", "case__lead_agency", "agency")
        .filter(pk=_uuid(pk))
        .first()
    )
    if hold is None or not policy.can_lift_legal_hold(user, hold):
        raise Http404("Not found.")
    return hold


def lift_agency(user: Any, hold: LegalHold) -> Agency:
    """The agency the user lifts ``hold`` for: the placing agency, or the case's lead agency."""
    agency_id = policy.legal_hold_lifting_agency_id(user, hold)
    if agency_id is None:
        raise Http404("Not found.")
    return hold.agency if agency_id == hold.agency_id else hold.case.lead_agency


def access_certificate(user: Any, pk: Any) -> ErasureCertificate:
    certificate = (
        policy.erasure_certificates_visible_to(user)
        .select_related("agency", "erased_by")
        .filter(pk=_uuid(pk))
        .first()
    )
    if certificate is None or not policy.can_manage_retention(user, certificate.agency_id):
        raise Http404("Not found.")
    return certificate


def access_sar(user: Any, pk: Any) -> SubjectAccessRequest:
    sar = (
        policy.subject_access_requests_visible_to(user).select_related("agency").filter(pk=_uuid(pk)).first()
    )
    if sar is None or not policy.can_handle_sar(user, sar.agency_id):
        raise Http404("Not found.")
    return sar


def _uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise Http404("Not found.") from exc
