"""Issuing a marked PDF copy to its recipient: render it (core/pdf.py lays it out) and record the issue
as a disclosure to them, in one transaction.

The pages that offer a copy (a case summary, the minutes) call ``do_issue_copy`` with text already
filtered by the policy, exactly as the page itself shows it, and send the bytes it returns as an
attachment (``core.pdf.attachment``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from agencies.models import Agency, User
from audit.models import Op
from audit.services import record_event
from core.pdf import Recipient, Section, render


def recipient_of(user: User, agency: Agency | None, at: datetime | None = None) -> Recipient:
    """Whose copy it is, as every page names it: the person and their agency."""
    return Recipient(
        name=user.get_full_name().strip() or user.get_username(),
        agency=agency.name if agency is not None else "no agency",
        issued_at=at or timezone.now(),
    )


def do_issue_copy(
    *,
    title: str,
    user: User,
    agency: Agency | None,
    sections: Sequence[Section],
    preamble: Sequence[str] = (),
    obj: Model,
    case_id: Any = None,
    categories: Sequence[str],
    justification: str,
    kind: str,
    share_id: Any = None,
    agreement_id: Any = None,
) -> bytes:
    """Render the recipient's copy and record its issue as a disclosure to them, in one transaction;
    returns the PDF.

    The event names the recipient (user and agency), the viewer's justification and what kind of
    copy it was; never its content."""
    recipient = recipient_of(user, agency)
    with transaction.atomic():
        body = render(title, recipient, sections, preamble)
        record_event(
            Op.DISCLOSE,
            actor=user,
            agency=agency,
            obj=obj,
            case_id=case_id,
            categories=sorted(set(categories)),
            justification=justification,
            share_id=share_id,
            agreement_id=agreement_id,
            recipients=[f"user:{user.pk}"] + ([f"agency:{agency.pk}"] if agency is not None else []),
            detail={"export": kind, "format": "pdf"},
        )
    return body


__all__ = ["do_issue_copy", "recipient_of"]
