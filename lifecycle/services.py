"""Retention decisions, legal holds and THE erasure service (crypto-shredding) for the whole product.

Every function validates, writes, audits in the same transaction and broadcasts on commit. None
checks permissions: callers ask sharing.policy first (can_manage_retention, can_set_legal_hold,
can_erase_case, can_handle_sar).

Erasure order (ARCHITECTURE-NOTES.md §2): the data keys live in the separate key-store database, so
they are destroyed first; then the main database work runs in one transaction. If that second part
fails the key is already gone (the data is unrecoverable either way) and re-running the service
finishes the job: destroying a destroyed key is a no-op. The main transaction is opened before the
keys are destroyed, only to hold the case's and its nominal's rows (so no referral links a new case
to a nominal whose key is being destroyed); the key store commits on its own.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import date
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models import Model
from django.utils import timezone
from guardian.shortcuts import remove_perm

from agencies.models import Agency, User
from audit.models import AuditSeal, Op
from audit.services import record_event, seal_pending
from cases.models import (
    Action,
    ActionUpdate,
    Breach,
    Case,
    Condition,
    Nominal,
    Note,
    Order,
    OrderEvent,
    Referral,
    RiskAssessment,
    RiskManagementPlan,
    Victim,
)
from cases.services import broadcast_case_changed, bump_case_version
from core.errors import DomainError
from core.text import require_reason
from keystore.fields import encrypted_fields
from keystore.keyring import destroy_data_key
from notifications import services as notifications
from sharing.models import CaseGroupObjectPermission, CaseShare, CaseUserObjectPermission, Disclosure
from sharing.services import VIEW_CASE, do_revoke_share

from .models import (
    Decision,
    ErasureCertificate,
    LegalHold,
    RecordType,
    RetentionDecision,
    RetentionRule,
)
from .retention import CONTRIBUTION_MODELS, Rules, case_review_date

log = logging.getLogger(__name__)

# Rows that carry plaintext and are not needed for integrity once a case is erased, children first.
CASE_ROWS_DELETED: tuple[type[Model], ...] = (
    ActionUpdate,
    Action,
    RiskManagementPlan,
    Breach,
    Condition,
    OrderEvent,
    Order,
    RiskAssessment,
    Note,
    Victim,
    Referral,
)
_HANDLED = {*CASE_ROWS_DELETED, Case, Nominal, Disclosure}


# --- retention rules ------------------------------------------------------------------------
@transaction.atomic
def do_set_retention_rule(
    *, agency: Agency, record_type: str, review_months: int, basis: str, acting_user: User
) -> RetentionRule:
    if record_type not in RecordType.values:
        raise DomainError("Choose the type of record the rule applies to.", field="record_type")
    if not isinstance(review_months, int) or not 1 <= review_months <= 1200:
        raise DomainError(
            "The review period is a whole number of months, from 1 to 1200.", field="review_months"
        )
    basis = require_reason(
        basis, field="basis", message="Say where the retention period comes from (e.g. MoPI group 1)."
    )
    rule, _ = RetentionRule.objects.update_or_create(
        agency=agency,
        record_type=record_type,
        defaults={"review_months": review_months, "basis": basis[:300], "updated_by": acting_user},
    )
    record_event(
        Op.RETENTION,
        actor=acting_user,
        agency=agency,
        obj=rule,
        detail={"change": "rule", "record_type": record_type, "review_months": review_months},
    )
    return rule


# --- review dates ---------------------------------------------------------------------------
@transaction.atomic
def do_recompute_retention(case: Case, *, acting_user: User | None = None) -> date | None:
    """Keep ``Case.retention_review_on`` in line with the rules. Call it when a case closes.

    The cases app's do_change_case_status should call this after setting ``closed_at``; the
    ``retention_sweep`` command calls it for every case. Audited only when the date changes.
    """
    case = Case.objects.select_related("lead_agency").get(pk=case.pk)
    if case.erased_at is not None:
        return None
    review_on = case_review_date(case, Rules([case.lead_agency]))
    if review_on != case.retention_review_on:
        Case.objects.filter(pk=case.pk).update(retention_review_on=review_on)
        record_event(
            Op.RETENTION,
            actor=acting_user,
            agency=case.lead_agency,
            obj=case,
            case_id=case.pk,
            justification="retention schedule",
            detail={"change": "review_date", "review_on": review_on.isoformat()},
        )
    return review_on


# --- which record a decision is about -------------------------------------------------------
def resolve_record(record_type: str, object_id: Any) -> tuple[Case, Model]:
    """The case and the record (the case itself, or a contribution); DomainError if there is none."""
    try:
        pk = uuid.UUID(str(object_id))
    except ValueError as exc:
        raise DomainError("No such record.", field="object_id") from exc
    if record_type == RecordType.CASE:
        case = Case.objects.select_related("lead_agency", "nominal").filter(pk=pk).first()
        if case is None:
            raise DomainError("No such record.", field="object_id")
        return case, case
    model = CONTRIBUTION_MODELS.get(record_type)
    if model is None:
        raise DomainError("Choose the type of record.", field="record_type")
    obj = model.objects.select_related("case", "case__lead_agency").filter(pk=pk).first()  # type: ignore[attr-defined]
    if obj is None:
        raise DomainError("No such record.", field="object_id")
    return obj.case, obj


def record_agency_id(record_type: str, obj: Model) -> int:
    """The agency that controls (and so reviews) the record."""
    if record_type == RecordType.CASE:
        return obj.lead_agency_id  # type: ignore[attr-defined,no-any-return]
    return obj.owner_agency_id  # type: ignore[attr-defined,no-any-return]


# --- retain ---------------------------------------------------------------------------------
@transaction.atomic
def do_retain(
    *,
    record_type: str,
    obj: Model,
    reason: str,
    next_review_on: date | None,
    acting_user: User,
    agency: Agency,
) -> RetentionDecision:
    """Keep the record: a reason and a next review date in the future are required."""
    case: Case = obj if record_type == RecordType.CASE else obj.case  # type: ignore[attr-defined,assignment]
    if case.erased_at is not None:
        raise DomainError("This case has been erased.")
    reason = require_reason(
        reason,
        field="reason",
        message="Give the reason for keeping the record (the policing or service purpose).",
    )
    if next_review_on is None:
        raise DomainError("Enter the next review date.", field="next_review_on")
    if next_review_on <= timezone.localdate():
        raise DomainError("The next review date must be in the future.", field="next_review_on")
    rules = Rules([agency])
    decision = RetentionDecision.objects.create(
        agency=agency,
        case=case,
        record_type=record_type,
        object_id=obj.pk,
        decision=Decision.RETAIN,
        reason=reason,
        next_review_on=next_review_on,
        rule=rules.rule(agency.pk, record_type),
        decided_by=acting_user,
        decided_at=timezone.now(),
    )
    if record_type == RecordType.CASE:
        Case.objects.filter(pk=case.pk).update(retention_review_on=next_review_on)
    record_event(
        Op.RETENTION,
        actor=acting_user,
        agency=agency,
        obj=obj,
        case_id=case.pk,
        justification="retention review: retain",
        detail={
            "decision": "retain",
            "record_type": record_type,
            "next_review_on": next_review_on.isoformat(),
        },
    )
    return decision


# --- legal holds ----------------------------------------------------------------------------
@transaction.atomic
def do_set_legal_hold(*, case: Case, reason: str, acting_user: User, agency: Agency) -> LegalHold:
    if case.erased_at is not None:
        raise DomainError("This case has been erased.")
    reason = require_reason(
        reason,
        field="reason",
        message="Give the reason for the legal hold (e.g. the proceedings or inquiry).",
    )
    if LegalHold.objects.active().filter(case=case).exists():
        raise DomainError("This case is already under a legal hold.", field="case")
    hold = LegalHold.objects.create(
        case=case, agency=agency, reason=reason[:300], set_by=acting_user, set_at=timezone.now()
    )
    record_event(
        Op.LEGAL_HOLD,
        actor=acting_user,
        agency=agency,
        obj=hold,
        case_id=case.pk,
        justification=hold.reason,
        detail={"change": "set"},
    )
    notifications.notify_legal_hold(hold)
    return hold


@transaction.atomic
def do_lift_legal_hold(*, hold: LegalHold, reason: str, acting_user: User, agency: Agency) -> LegalHold:
    """Lift a hold for ``agency``: the agency that placed it, or the case's lead agency overriding it
    (recorded as an override, with the reason). Callers ask policy.can_lift_legal_hold first."""
    hold = LegalHold.objects.select_for_update().select_related("case").get(pk=hold.pk)
    if agency.pk not in (hold.agency_id, hold.case.lead_agency_id):
        raise DomainError("Only the agency that placed the hold, or the lead agency, can lift it.")
    if hold.lifted_at is not None:
        raise DomainError("This legal hold was already lifted.")
    reason = require_reason(
        reason, field="lift_reason", message="Give the reason for lifting the legal hold."
    )
    hold.lifted_at = timezone.now()
    hold.lifted_by = acting_user
    hold.lift_reason = reason[:300]
    hold.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    record_event(
        Op.LEGAL_HOLD,
        actor=acting_user,
        agency=agency,
        obj=hold,
        case_id=hold.case_id,
        justification=hold.lift_reason,
        detail={
            "change": "lifted",
            "placed_by_agency": hold.agency_id,
            "override": agency.pk != hold.agency_id,
        },
    )
    return hold


def check_no_legal_hold(case: Case) -> None:
    hold = LegalHold.objects.active().select_related("agency").filter(case=case).first()
    if hold is not None:
        raise DomainError(
            f"Case {case.reference} is under a legal hold set by {hold.agency} on "
            f"{timezone.localdate(hold.set_at):%d %B %Y} ({hold.reason}). Nothing of it can be erased "
            "until the hold is lifted.",
            field="legal_hold",
            code="legal_hold",
        )


# --- erasure --------------------------------------------------------------------------------
def _blank_encrypted(queryset: models.QuerySet[Any]) -> int:
    """Remove every ciphertext from the rows (NULL where allowed, otherwise an empty value)."""
    fields = encrypted_fields(queryset.model)
    if not fields:
        return 0
    return queryset.update(**{f.attname: (None if f.null else b"") for f in fields})


def _path_to_case(model: type[Model], depth: int = 3) -> str | None:
    """A lookup from ``model`` to its Case through foreign keys (e.g. ``item__case``), if any."""
    if depth == 0:
        return None
    for field in model._meta.concrete_fields:
        if not isinstance(field, models.ForeignKey):
            continue
        if field.related_model is Case:
            return field.name
    for field in model._meta.concrete_fields:
        if isinstance(field, models.ForeignKey) and field.related_model not in (Case, model):
            rest = _path_to_case(field.related_model, depth - 1)
            if rest is not None:
                return f"{field.name}__{rest}"
    return None


def _other_case_models() -> list[tuple[type[Model], str]]:
    """Models of other apps (meetings minutes, decisions, …) with encrypted values under a case."""
    found = []
    for model in apps.get_models():
        if model in _HANDLED or not encrypted_fields(model):
            continue
        path = _path_to_case(model)
        if path is not None:
            found.append((model, path))
    return found


def _end_shares(case: Case, *, acting_user: User, agency: Agency) -> int:
    ended = 0
    for share in CaseShare.objects.filter(case=case, revoked_at__isnull=True):
        do_revoke_share(share=share, reason="case erased", acting_user=acting_user, acting_agency=agency)
        ended += 1
    # Whatever permission remains (break-glass, stray grants) goes too.
    for row in CaseGroupObjectPermission.objects.filter(content_object=case).select_related("group"):
        remove_perm(VIEW_CASE, row.group, case)
    CaseUserObjectPermission.objects.filter(content_object=case).delete()
    return ended


def _rule_for(
    rule: RetentionRule | None, agency: Agency, record_type: str
) -> tuple[RetentionRule | None, str]:
    rules = Rules([agency])
    rule = rule or rules.rule(agency.pk, record_type)
    if rule is not None:
        months = rule.review_months
        description = (
            f"{agency}: {rule.get_record_type_display()} reviewed after {months} months ({rule.basis})"
        )
    else:
        description = rules.describe(agency.pk, record_type)
    return rule, description[:400]


def do_erase_case(
    case: Case, *, acting_user: User, agency: Agency, rule: RetentionRule | None, reason: str
) -> ErasureCertificate:
    """Crypto-shred a case and issue its erasure certificate. Re-runnable if interrupted."""
    case = Case.objects.select_related("nominal", "lead_agency").get(pk=case.pk)
    reason = require_reason(
        reason, field="reason", message="Give the reason for erasing (the retention review outcome)."
    )
    if case.erased_at is not None:
        raise DomainError(f"Case {case.reference} has already been erased.", code="already_erased")
    check_no_legal_hold(case)

    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        if case.erased_at is not None:
            raise DomainError(f"Case {case.reference} has already been erased.", code="already_erased")
        check_no_legal_hold(case)
        # The nominal may be used by other cases (a link from a referral). Its row stays locked until
        # this erasure commits: a referral linking a new case to it waits, then sees whether a live
        # case still uses it (cases.services.do_open_case), so no case is ever linked to a nominal
        # whose key this erasure destroys.
        nominal = Nominal.objects.select_for_update().get(pk=case.nominal_id)
        nominal_orphaned = (
            not Case.objects.filter(nominal=nominal, erased_at__isnull=True).exclude(pk=case.pk).exists()
        )

        # 1. The key store (separate database, committing on its own): destroy the keys first.
        # Idempotent; if the main work below fails, re-running finishes the job.
        keys = [str(case.data_key_id)]
        destroy_data_key(case.data_key_id)
        if nominal_orphaned:
            destroy_data_key(nominal.data_key_id)
            keys.append(str(nominal.data_key_id))

        # 2. The main database, in this transaction.
        rule, description = _rule_for(rule, agency, RecordType.CASE)
        counts: Counter[str] = Counter()
        for model in CASE_ROWS_DELETED:
            lookup = "order__case" if model in (Breach, Condition, OrderEvent) else "case"
            if model is ActionUpdate:
                lookup = "action__case"
            deleted = model.objects.filter(**{lookup: case}).delete()[1]  # type: ignore[attr-defined]
            for label, number in deleted.items():
                counts[label] += number
        blanked = _blank_encrypted(Disclosure.objects.filter(case=case))
        if blanked:
            counts["sharing.Disclosure (content blanked)"] += blanked
        for model, fk in _other_case_models():
            blanked = _blank_encrypted(model.objects.filter(**{fk: case}))  # type: ignore[attr-defined]
            if blanked:
                counts[f"{model._meta.label} (content blanked)"] += blanked
        if nominal_orphaned:
            _blank_encrypted(Nominal.objects.filter(pk=nominal.pk))
            Nominal.objects.filter(pk=nominal.pk).update(
                pnc_index=None,
                nhs_index=None,
                name_dob_index=None,
                name_index=None,
                date_of_birth=None,
                ethnicity="",
            )
            counts["cases.Nominal (identity blanked)"] += 1
        shares_ended = _end_shares(case, acting_user=acting_user, agency=agency)
        now = timezone.now()
        _blank_encrypted(Case.objects.filter(pk=case.pk))
        Case.objects.filter(pk=case.pk).update(erased_at=now, updated_at=now)
        bump_case_version(case)
        counts["cases.Case (content blanked)"] += 1
        certificate_id = uuid.uuid4()
        event = record_event(
            Op.ERASE,
            actor=acting_user,
            agency=agency,
            obj=case,
            case_id=case.pk,
            justification=f"retention review: erase under {description}"[:500],
            detail={
                "certificate": str(certificate_id),
                "erased": dict(counts),
                "keys_destroyed": len(keys),
                "shares_ended": shares_ended,
            },
        )
        certificate = ErasureCertificate.objects.create(
            id=certificate_id,
            agency=agency,
            case=case,
            case_reference=case.reference,
            scope=RecordType.CASE,
            object_id=case.pk,
            erased=dict(counts),
            keys_destroyed=keys,
            shares_ended=shares_ended,
            rule=rule,
            rule_description=description,
            reason=reason,
            erased_by=acting_user,
            erased_at=now,
            audit_event_id=event.pk,
        )
        RetentionDecision.objects.create(
            agency=agency,
            case=case,
            record_type=RecordType.CASE,
            object_id=case.pk,
            decision=Decision.ERASE,
            reason=reason,
            rule=rule,
            decided_by=acting_user,
            decided_at=now,
        )
        case.erased_at = now
        broadcast_case_changed(case, "erased")
    _seal_certificate(certificate)
    return certificate


def do_erase_contribution(
    *,
    record_type: str,
    obj: Model,
    acting_user: User,
    agency: Agency,
    rule: RetentionRule | None,
    reason: str,
) -> ErasureCertificate:
    """Erase one agency's contribution (a note, an assessment, a victim record): the row goes."""
    if record_type not in CONTRIBUTION_MODELS:
        raise DomainError(
            "Only a note, a risk assessment or a victim record is erased on its own.", field="record_type"
        )
    reason = require_reason(
        reason, field="reason", message="Give the reason for erasing (the retention review outcome)."
    )
    case: Case = obj.case  # type: ignore[attr-defined]
    check_no_legal_hold(case)
    with transaction.atomic():
        rule, description = _rule_for(rule, agency, record_type)
        label = obj._meta.label
        object_pk = obj.pk
        deleted = type(obj).objects.filter(pk=object_pk).delete()[1]  # type: ignore[attr-defined]
        if not deleted:
            raise DomainError("This record has already been erased.", code="already_erased")
        now = timezone.now()
        certificate_id = uuid.uuid4()
        event = record_event(
            Op.ERASE,
            actor=acting_user,
            agency=agency,
            object_type=label,
            object_id=str(object_pk),
            case_id=case.pk,
            justification=f"retention review: erase under {description}"[:500],
            detail={"certificate": str(certificate_id), "erased": dict(deleted)},
        )
        certificate = ErasureCertificate.objects.create(
            id=certificate_id,
            agency=agency,
            case=case,
            case_reference=case.reference,
            scope=record_type,
            object_id=object_pk,
            erased=dict(deleted),
            rule=rule,
            rule_description=description,
            reason=reason,
            erased_by=acting_user,
            erased_at=now,
            audit_event_id=event.pk,
        )
        RetentionDecision.objects.create(
            agency=agency,
            case=case,
            record_type=record_type,
            object_id=object_pk,
            decision=Decision.ERASE,
            reason=reason,
            rule=rule,
            decided_by=acting_user,
            decided_at=now,
        )
        bump_case_version(case)
        broadcast_case_changed(case, "erased_record", object_pk)
    _seal_certificate(certificate)
    return certificate


def _seal_certificate(certificate: ErasureCertificate) -> None:
    """Give the ERASE event its chain position now, and note it on the certificate."""
    try:
        seal_pending()
    except Exception:  # noqa: BLE001 - the sealer may be busy; audit_seq then resolves lazily
        log.warning("erasure certificate %s: sealing deferred", certificate.pk)
    seq = AuditSeal.objects.filter(event_id=certificate.audit_event_id).values_list("seq", flat=True).first()
    if seq is not None:
        ErasureCertificate.objects.filter(pk=certificate.pk).update(audit_seq=seq)
        certificate.audit_seq = seq


def certificate_seq(certificate: ErasureCertificate) -> int | None:
    """The audit sequence number of the certificate's ERASE event (sealing it now if still pending)."""
    if certificate.audit_seq is None:
        _seal_certificate(certificate)
    return certificate.audit_seq
