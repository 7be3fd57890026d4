"""Risk assessments (SDASH, SASH, SRP, OASys): grade and record them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from agencies.models import Agency, User
from core.errors import DomainError

from .. import choices as c
from ..models import Case, RiskAssessment
from .plumbing import (
    _choice,
    _finish_change,
    _lock_case,
    _not_future,
)

SDASH_RISK = {"standard": c.RiskLevel.LOW, "medium": c.RiskLevel.MEDIUM, "high": c.RiskLevel.HIGH}
SASH_RISK = {"low": c.RiskLevel.LOW, "moderate": c.RiskLevel.MEDIUM, "high": c.RiskLevel.HIGH}
SRP_RISK = {"low": c.RiskLevel.LOW, "moderate": c.RiskLevel.MEDIUM, "high": c.RiskLevel.HIGH}
OASYS_LEVELS = tuple(c.RiskLevel.values)


@dataclass
class AssessmentInput:
    tool: str
    level: str = ""
    answers: dict[str, Any] | None = None
    srp_type: str = ""
    srp_domains: dict[str, str] | None = None
    formulation: str | None = None
    assessed_on: date | None = None
    basis: str = c.Basis.OPINION


def grade_assessment(data: AssessmentInput) -> tuple[str, str, int | None]:
    """Validate one tool's answers; return (tool level, headline risk level, S-DASH yes count)."""
    _choice(data.tool, c.Tool.values, "tool", "Choose the assessment tool.")
    answers = data.answers or {}
    if not isinstance(answers, dict):
        raise DomainError("Answers must be given question by question.", field="answers")
    if data.tool == c.Tool.SDASH:
        keys = [key for key, _ in c.SDASH_QUESTIONS]
        missing = [key for key in keys if not isinstance(answers.get(key), bool)]
        if missing:
            raise DomainError("Answer every S-DASH question yes or no.", field=f"answers.{missing[0]}")
        extra = set(answers) - set(keys) - {"notes"}
        if extra:
            raise DomainError("An answer names a question S-DASH does not have.", field="answers")
        _choice(
            data.level, c.SdashGrade.values, "level", "Give the officer's grade: standard, medium or high."
        )
        return data.level, SDASH_RISK[data.level], sum(1 for key in keys if answers[key])
    if data.tool == c.Tool.SASH:
        _choice(data.level, c.SashConcern.values, "level", "Give the SASH concern: low, moderate or high.")
        return data.level, SASH_RISK[data.level], None
    if data.tool == c.Tool.SRP:
        _choice(data.srp_type, c.SrpType.values, "srp_type", "Choose the SRP stalker type.")
        domains = data.srp_domains or {}
        for domain in c.SRP_DOMAINS:
            _choice(
                domains.get(domain),
                c.SRP_DOMAIN_LEVELS,
                f"srp_domains.{domain}",
                f"Rate the {domain.replace('_', ' ')} risk: low, moderate or high.",
            )
        if set(domains) - set(c.SRP_DOMAINS):
            raise DomainError("SRP has four risk domains only.", field="srp_domains")
        order = {level: i for i, level in enumerate(c.SRP_DOMAIN_LEVELS)}
        highest = max((domains[d] for d in c.SRP_DOMAINS), key=order.__getitem__)
        return highest, SRP_RISK[highest], None
    _choice(data.level, OASYS_LEVELS, "level", "Give the RoSH level: low, medium, high or very high.")
    return data.level, data.level, None


@transaction.atomic
def do_record_assessment(
    *, case: Case, agency: Agency, acting_user: User, data: AssessmentInput
) -> RiskAssessment:
    """Add a completed risk tool; the case's headline risk follows the newest assessment."""
    level, risk_level, yes_count = grade_assessment(data)
    assessed_on = data.assessed_on or timezone.localdate()
    _not_future(assessed_on, "assessed_on", "The assessment date")
    _choice(data.basis, c.Basis.values, "basis", "Say whether this is fact or professional opinion.")
    _lock_case(case)
    assessment = RiskAssessment(
        case=case,
        owner_agency=agency,
        created_by=acting_user,
        tool=data.tool,
        answers=data.answers or {},
        yes_count=yes_count,
        level=level,
        risk_level=risk_level,
        srp_type=data.srp_type if data.tool == c.Tool.SRP else "",
        srp_domains=dict(data.srp_domains or {}) if data.tool == c.Tool.SRP else {},
        formulation=data.formulation or None,
        assessor=acting_user,
        assessed_on=assessed_on,
        basis=data.basis,
    )
    assessment.save()
    newest = (
        case.assessments.order_by("-assessed_on", "-created_at").values_list("risk_level", flat=True).first()
    )
    Case.objects.filter(pk=case.pk).update(risk_level=newest or "")
    case.risk_level = newest or ""
    _finish_change(assessment, case=case, agency=agency, acting_user=acting_user, kind="assessment")
    return assessment
