"""Email defaults per role: what each kind of notice does by email when a person has not chosen."""

from __future__ import annotations

from agencies.models import Role

from .models import EmailMode, Kind

NOW, D, OFF = EmailMode.IMMEDIATE, EmailMode.DIGEST, EmailMode.OFF

# The kind's default for everyone, then per-role overrides. A person with several roles gets the
# most urgent of their roles' defaults (immediate > digest > off).
BASE: dict[str, str] = {
    Kind.CASE_SHARED: NOW,
    Kind.SHARE_REVOKED: D,
    Kind.MATCH_NOTICE: NOW,
    Kind.MEETING_INVITED: NOW,
    Kind.AGENDA_CHANGED: D,
    Kind.MINUTES_READY: D,
    Kind.ACTION_ASSIGNED: NOW,
    Kind.ACTION_DUE_SOON: D,
    Kind.ACTION_OVERDUE: NOW,
    Kind.BREAK_GLASS: NOW,
    Kind.AGREEMENT_EXPIRING: D,
    Kind.AGREEMENT_ENDED: NOW,
    Kind.RETENTION_DUE: D,
    Kind.LEGAL_HOLD: NOW,
    Kind.SAR_DEADLINE: NOW,
}
BY_ROLE: dict[str, dict[str, str]] = {
    Role.AUDITOR: {Kind.BREAK_GLASS: D},  # auditors review in batches; chairs are told at once
    Role.CHAIR: {Kind.AGENDA_CHANGED: NOW},
    Role.AGENCY_ADMIN: {Kind.AGREEMENT_EXPIRING: NOW},
    Role.DPO: {Kind.RETENTION_DUE: D},
}
URGENCY: dict[str, int] = {NOW: 2, D: 1, OFF: 0}


def default_mode(kind: str, roles: set[str]) -> str:
    modes = [BY_ROLE.get(role, {}).get(kind, BASE.get(kind, D)) for role in roles] or [BASE.get(kind, D)]
    return max(modes, key=lambda m: URGENCY[m])
