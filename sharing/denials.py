"""Recording a refused case: PERMISSION_DENIED, with what the auditor's flags need.

The policy only decides: ``policy.access_case`` raises ``policy.Denied`` (an Http404, the same body
as a missing case) and writes nothing. ``record`` writes the one row for it, and is called from
exactly these places: pages, ``sharing.middleware.DeniedMiddleware``; the REST API,
``sharing.api.exceptions.exception_handler``; and a view that answers a refusal with a message of
its own instead of a 404 (the meeting's "add a case to the agenda" form), where it catches it.
WebSocket consumers ask ``policy.can_view_case``, never ``access_case``: they have nothing to record.

Here rather than in audit (which imports no domain app) because the event names the refused user's
agency and role and any share of the case that agency once held, and those are the policy's and the
share table's to answer.
"""

from __future__ import annotations

import uuid

from audit.models import AuditEvent, Op
from audit.services import record_event

from . import policy
from .models import CaseShare


def record(exc: BaseException) -> None:
    """Record a refusal if ``exc`` is one (a signed-in user's ``policy.Denied``); else do nothing."""
    if isinstance(exc, policy.Denied) and getattr(exc.user, "is_authenticated", False):
        record_denied(exc.user, exc.case_id, exc.reason)


def record_denied(user: policy.Viewer, case_id: object, surface: str) -> AuditEvent | None:
    """Record PERMISSION_DENIED when ``user`` was refused a case by id (call where access_case 404s).

    ``surface`` names where it happened (a URL name such as ``"cases:detail"`` or ``"api:case-detail"``).
    A forbidden case and a case id that does not exist are recorded alike, with the same queries, so
    the refusal costs the same either way and its timing does not tell the two apart; only a malformed
    id (not a UUID) records nothing. The event notes whether the user's agency once held a share of the
    case that has since been revoked, so the auditor's "attempts after a share was revoked" flag needs
    no further lookup. Never raises for a malformed id; stores only ids.
    """
    try:
        case_uuid = uuid.UUID(str(case_id))
    except ValueError:
        return None
    membership = policy.primary_membership(user)
    agency_ids = policy.agency_ids(user)
    revoked = list(
        CaseShare.objects.filter(case_id=case_uuid, agency_id__in=agency_ids, revoked_at__isnull=False)
        .order_by("-revoked_at")
        .values_list("pk", flat=True)[:1]
    )
    return record_event(
        Op.PERMISSION_DENIED,
        actor=user,
        agency=membership.agency if membership else None,
        role=membership.role if membership else "",
        object_type="cases.Case",
        object_id=str(case_uuid),
        case_id=case_uuid,
        share_id=revoked[0] if revoked else None,
        outcome="denied",
        detail={"surface": surface[:100], "after_revocation": bool(revoked)},
    )


__all__ = ["record", "record_denied"]
