"""Keeping ``CaseVisibility`` complete: a candidate row for every (agency, case) that may be visible.

The database writes the rows itself: AFTER INSERT triggers on cases (the lead, and a change of lead),
shares and break-glass rows (migration 0003), so no writer — a service, a bulk load, an old node in a
rolling deploy — can leave a case out of a list. ``prune`` drops a row once nothing can make it
visible again (the last share revoked, with no lead or break-glass left). Completeness is the only
invariant that matters for correctness — the policy re-applies the exact rule to every candidate —
and ``missing_pairs`` and ``drifted`` check it (``python manage.py rebuild_visibility --check``).
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery

from cases.models import Case

from .models import BreakGlass, CaseShare, CaseVisibility

# Every (agency, case) with a reason to be visible — the lead, an unrevoked share, a break-glass
# row — that has no candidate row yet (the migration that made the table ran the same SELECT).
_REBUILD_SQL = """
INSERT INTO sharing_casevisibility (case_id, agency_id, case_created_at)
SELECT r.case_id, r.agency_id, r.case_created_at FROM (
    SELECT c.id AS case_id, c.lead_agency_id AS agency_id, c.created_at AS case_created_at
      FROM cases_case c
    UNION
    SELECT s.case_id, s.agency_id, c.created_at
      FROM sharing_caseshare s JOIN cases_case c ON c.id = s.case_id
     WHERE s.revoked_at IS NULL
    UNION
    SELECT b.case_id, b.agency_id, c.created_at
      FROM sharing_breakglass b JOIN cases_case c ON c.id = b.case_id
) r
WHERE NOT EXISTS (
    SELECT 1 FROM sharing_casevisibility v WHERE v.case_id = r.case_id AND v.agency_id = r.agency_id
)
"""


def prune(case_id: Any, agency_id: int) -> bool:
    """Drop the candidate row when no lead, unrevoked share or break-glass row is left for it."""
    reasons = (
        Case.objects.filter(pk=case_id, lead_agency_id=agency_id).exists()
        or CaseShare.objects.filter(case_id=case_id, agency_id=agency_id, revoked_at__isnull=True).exists()
        or BreakGlass.objects.filter(case_id=case_id, agency_id=agency_id).exists()
    )
    if reasons:
        return False
    return CaseVisibility.objects.filter(case_id=case_id, agency_id=agency_id).delete()[0] > 0


def rebuild() -> int:
    """Write every missing candidate row from the cases, shares and break-glass rows, and put right
    any row whose copy of created_at has drifted (restores, loads with triggers off). Returns the
    number of rows written or corrected."""
    with connection.cursor() as cursor:
        cursor.execute(_REBUILD_SQL)
        added = max(cursor.rowcount, 0)
    created = Case.objects.filter(pk=OuterRef("case_id")).values("created_at")[:1]
    corrected = drifted_rows().update(case_created_at=Subquery(created))
    return added + corrected


def drifted_rows() -> QuerySet[CaseVisibility]:
    """Candidate rows whose copy of the case's created_at differs from the case's own."""
    return CaseVisibility.objects.exclude(case_created_at=F("case__created_at"))


def missing_pairs(limit: int = 100) -> list[tuple[Any, int]]:
    """(case id, agency id) pairs that have a reason to be visible but no candidate row."""
    candidate = CaseVisibility.objects.filter(case_id=OuterRef("case_id"), agency_id=OuterRef("agency_id"))
    leads = Case.objects.filter(
        ~Exists(CaseVisibility.objects.filter(case_id=OuterRef("pk"), agency_id=OuterRef("lead_agency_id")))
    ).values_list("pk", "lead_agency_id")[:limit]
    shares = (
        CaseShare.objects.filter(revoked_at__isnull=True)
        .filter(~Exists(candidate))
        .values_list("case_id", "agency_id")[:limit]
    )
    glasses = BreakGlass.objects.filter(~Exists(candidate)).values_list("case_id", "agency_id")[:limit]
    found = {*leads, *shares, *glasses}
    return sorted(found, key=str)[:limit]
