"""Agreements, shares, break-glass and disclosures. The only code that grants or withdraws
django-guardian object permissions. Each function validates, writes, audits in one transaction
and broadcasts on commit; none checks permissions (callers ask sharing.policy first).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from agencies.models import Agency, User
from audit.models import Op
from audit.services import record_event
from cases.models import Case
from core.categories import ALL_CATEGORIES, DEFAULT_CONTRIBUTE, Level
from core.errors import DomainError, check_version
from core.events import send_on_commit
from core.text import clean_text, require_reason
from notifications import services as notifications

from . import policy, visibility
from .models import (
    AGREEMENT_TRANSITIONS,
    AgreementParty,
    AgreementStatus,
    BreakGlass,
    CaseShare,
    Disclosure,
    MatchNotice,
    MatchNoticeStatus,
    SharingAgreement,
)

VIEW_CASE = "cases.view_case"


def _authz_changed(
    agency_ids: Iterable[int] = (), user_ids: Iterable[int] = (), case: Case | None = None
) -> None:
    """Tell open sockets to re-check their access now (ARCHITECTURE-NOTES.md §4, revocation)."""
    for agency_id in set(agency_ids):
        send_on_commit(f"agency.{agency_id}", {"type": "authz.changed"})
    for user_id in set(user_ids):
        send_on_commit(f"user.{user_id}", {"type": "authz.changed"})
    if case is not None:
        send_on_commit(f"case.{case.pk}", {"type": "authz.changed", "case_id": str(case.pk)})


# --- agreements -----------------------------------------------------------------------------
def _clean_levels(levels: dict[str, Any], field: str) -> dict[str, int]:
    cleaned: dict[str, int] = {}
    for category, level in levels.items():
        if category not in ALL_CATEGORIES:
            raise DomainError(f"Unknown data category {category!r}.", field=field)
        try:
            value = int(level)
        except (TypeError, ValueError) as exc:
            raise DomainError(f"Category {category} needs a level of 0, 1 or 2.", field=field) from exc
        if value not in Level.values:
            raise DomainError(f"Category {category} needs a level of 0, 1 or 2.", field=field)
        if value:
            cleaned[category] = value
    return cleaned


@transaction.atomic
def do_create_agreement(
    *,
    title: str,
    reference: str,
    purpose: str,
    dpia_reference: str,
    retention_rule: str,
    security_terms: str,
    starts_on: date,
    review_on: date,
    ends_on: date | None,
    drafted_by: Agency,
    acting_user: User,
    parties: list[dict[str, Any]],
    retention_years: int = 6,
) -> SharingAgreement:
    """Draft an agreement. Each party: {"agency": Agency, "legal_gateway": str, "categories": {C: level}}."""
    for name, value in (
        ("title", title),
        ("reference", reference),
        ("purpose", purpose),
        ("dpia_reference", dpia_reference),
        ("retention_rule", retention_rule),
        ("security_terms", security_terms),
    ):
        if not str(value).strip():
            raise DomainError(f"The agreement needs its {name.replace('_', ' ')}.", field=name)
    if review_on < starts_on:
        raise DomainError("The review date cannot be before the start date.", field="review_on")
    if ends_on is not None and ends_on < starts_on:
        raise DomainError("The end date cannot be before the start date.", field="ends_on")
    if len(parties) < 2:
        raise DomainError("An agreement needs at least two parties.", field="parties")
    if SharingAgreement.objects.filter(reference=reference).exists():
        raise DomainError("An agreement with this reference already exists.", field="reference")
    seen = set()
    for party in parties:
        if party["agency"].pk in seen:
            raise DomainError(f"{party['agency']} is listed twice.", field="parties")
        seen.add(party["agency"].pk)
        if not str(party.get("legal_gateway", "")).strip():
            raise DomainError(f"Give the legal gateway for {party['agency']}.", field="parties")
        levels = _clean_levels(party.get("categories", {}), "parties")
        banned = sorted(set(levels) & policy.never_shared(party["agency"].agency_type))
        if banned:
            raise DomainError(
                f"{party['agency']} may never receive {', '.join(banned)}: "
                + " ".join(policy.NEVER_REASON.get(c, "") for c in banned),
                field="parties",
            )
    agreement = SharingAgreement.objects.create(
        title=title.strip(),
        reference=reference.strip(),
        purpose=purpose,
        dpia_reference=dpia_reference,
        retention_rule=retention_rule,
        retention_years=retention_years,
        security_terms=security_terms,
        starts_on=starts_on,
        review_on=review_on,
        ends_on=ends_on,
        drafted_by_agency=drafted_by,
        created_by=acting_user,
    )
    for party in parties:
        AgreementParty.objects.create(
            agreement=agreement,
            agency=party["agency"],
            legal_gateway=party["legal_gateway"],
            categories=_clean_levels(party.get("categories", {}), "parties"),
            contribute_categories=_clean_contribute(party),
        )
    record_event(
        Op.AGREEMENT,
        actor=acting_user,
        agency=drafted_by,
        obj=agreement,
        agreement_id=agreement.pk,
        detail={"change": "drafted", "parties": sorted(seen)},
    )
    return agreement


def _clean_contribute(party: dict[str, Any]) -> list[str]:
    """The party's contribute categories: those given, else its agency type's defaults."""
    given = party.get("contribute_categories")
    if given is None:
        return list(DEFAULT_CONTRIBUTE.get(party["agency"].agency_type, ()))
    unknown = sorted(set(given) - set(ALL_CATEGORIES))
    if unknown:
        raise DomainError(f"Unknown categories: {', '.join(unknown)}.", field="parties")
    return [c for c in ALL_CATEGORIES if c in set(given)]


@transaction.atomic
def do_sign_agreement(
    *,
    party: AgreementParty,
    signatory_name: str,
    signatory_role: str,
    acting_user: User,
    signed_on: date | None = None,
) -> AgreementParty:
    party = AgreementParty.objects.select_for_update().select_related("agreement", "agency").get(pk=party.pk)
    if party.agreement.status not in (AgreementStatus.DRAFT, AgreementStatus.SUSPENDED):
        raise DomainError("Only a draft or suspended agreement is signed.", field="status")
    if party.signed_on is not None and party.agreement.status == AgreementStatus.DRAFT:
        raise DomainError(f"{party.agency} has already signed this agreement.", field="party")
    if not signatory_name.strip() or not signatory_role.strip():
        raise DomainError("Give the signatory's name and role.", field="signatory_name")
    party.signatory_name = signatory_name.strip()
    party.signatory_role = signatory_role.strip()
    party.signed_on = signed_on or timezone.localdate()
    party.signed_by = acting_user
    party.save()
    record_event(
        Op.AGREEMENT,
        actor=acting_user,
        agency=party.agency,
        obj=party.agreement,
        agreement_id=party.agreement_id,
        detail={"change": "signed", "party_agency": party.agency_id},
    )
    return party


@transaction.atomic
def do_change_agreement_status(
    *,
    agreement: SharingAgreement,
    status: str,
    acting_user: User,
    reason: str = "",
    version: int | None = None,
) -> SharingAgreement:
    """Activate, suspend, expire or terminate. Anything but active withdraws access at once."""
    agreement = SharingAgreement.objects.select_for_update().get(pk=agreement.pk)
    if version is not None:
        check_version(agreement.version, version, "agreement")
    if status not in AGREEMENT_TRANSITIONS.get(agreement.status, frozenset()):
        raise DomainError(
            f"An agreement that is {agreement.get_status_display().lower()} cannot become {status}.",
            field="status",
        )
    if status == AgreementStatus.ACTIVE:
        unsigned = [str(p.agency) for p in agreement.parties.select_related("agency") if not p.signed_on]
        if unsigned:
            raise DomainError("Every party must sign first: " + ", ".join(unsigned) + ".", field="status")
        if agreement.ends_on is not None and agreement.ends_on < timezone.localdate():
            raise DomainError(
                "This agreement's end date has passed: it cannot be made active.", field="status"
            )
    else:
        reason = require_reason(reason, field="reason", message="Give the reason for this change.")
    reason = clean_text(reason)
    _save_agreement_status(
        agreement, status=status, reason=reason, acting_user=acting_user, detail={"reason": reason[:200]}
    )
    return agreement


def _save_agreement_status(
    agreement: SharingAgreement, *, status: str, reason: str, acting_user: User | None, detail: dict[str, Any]
) -> None:
    """The tail of an agreement's status change (the row locked by the caller): save it with its
    version raised, write the audit row (from, to and ``detail``), tell every party's members on
    commit that their access changed, and notify the parties."""
    old = agreement.status
    agreement.status = status
    agreement.status_changed_at = timezone.now()
    agreement.status_reason = reason
    agreement.version += 1
    agreement.save()
    record_event(
        Op.AGREEMENT,
        actor=acting_user,
        obj=agreement,
        agreement_id=agreement.pk,
        detail={"change": "status", "from": old, "to": status, **detail},
    )
    _authz_changed(agency_ids=list(agreement.parties.values_list("agency_id", flat=True)))
    notifications.notify_agreement_status(agreement)


# --- shares ---------------------------------------------------------------------------------
@transaction.atomic
def do_share_case(
    *,
    case: Case,
    agency: Agency,
    agreement: SharingAgreement,
    categories: list[str],
    purpose: str,
    acting_user: User,
    acting_agency: Agency,
    valid_to: datetime | None = None,
) -> CaseShare:
    """Share a case with a partner agency under an agreement in force, for allowed categories only."""
    if case.erased_at is not None:
        raise DomainError("This case has been erased.")
    if agency.pk == case.lead_agency_id:
        raise DomainError("The lead agency already holds the whole case.", field="agency")
    if not agreement.is_in_force():
        raise DomainError(
            f"Agreement {agreement.reference} is {agreement.get_status_display().lower()} or out of date: "
            "only an active agreement allows sharing.",
            field="agreement",
        )
    parties = {p.agency_id: p for p in agreement.parties.all()}
    if case.lead_agency_id not in parties:
        raise DomainError("The lead agency is not a party to this agreement.", field="agreement")
    party = parties.get(agency.pk)
    if party is None:
        raise DomainError(f"{agency} is not a party to agreement {agreement.reference}.", field="agency")
    purpose = require_reason(purpose, field="purpose", message="Give the purpose of sharing.")
    wanted = sorted(set(categories))
    if not wanted:
        raise DomainError("Choose at least one data category to share.", field="categories")
    allowed = {k for k, v in (party.categories or {}).items() if int(v) > 0} - policy.never_shared(
        agency.agency_type
    )
    refused = [c for c in wanted if c not in allowed]
    if refused:
        raise DomainError(
            f"Agreement {agreement.reference} does not allow {agency} to receive: {', '.join(refused)}.",
            field="categories",
        )
    if valid_to is not None and valid_to <= timezone.now():
        raise DomainError("The share must end in the future.", field="valid_to")
    _lock_case(case.pk)  # shares and revocations of one case take turns (grant and candidate row)
    if CaseShare.objects.filter(
        case=case, agency=agency, agreement=agreement, revoked_at__isnull=True
    ).exists():
        raise DomainError(f"The case is already shared with {agency} under this agreement.", field="agency")
    share = CaseShare.objects.create(
        case=case,
        agency=agency,
        agreement=agreement,
        categories=wanted,
        purpose=purpose,
        valid_to=valid_to,
        shared_by=acting_user,
    )
    assign_perm(VIEW_CASE, agency.group, case)  # the candidate row for lists: a trigger (visibility)
    record_event(
        Op.SHARE_GRANTED,
        actor=acting_user,
        agency=acting_agency,
        obj=share,
        case_id=case.pk,
        categories=wanted,
        justification=share.purpose,
        share_id=share.pk,
        agreement_id=agreement.pk,
        recipients=[f"agency:{agency.pk}"],
    )
    _authz_changed(agency_ids=[agency.pk], case=case)
    notifications.notify_case_shared(share)
    return share


def _lock_case(case_id: Any) -> None:
    """Hold the case row until the transaction ends: a share racing a revocation of the same case and
    agency could otherwise leave a live share without its guardian row or its candidate row."""
    list(Case.objects.select_for_update().filter(pk=case_id).values_list("pk", flat=True))


@transaction.atomic
def do_revoke_share(
    *, share: CaseShare, reason: str, acting_user: User, acting_agency: Agency | None = None
) -> CaseShare:
    _lock_case(share.case_id)  # the same order as do_share_case: the case, then the share
    share = CaseShare.objects.select_for_update().select_related("case", "agency").get(pk=share.pk)
    if share.revoked_at is not None:
        raise DomainError("This share was already revoked.")
    reason = require_reason(reason, field="reason", message="Give the reason for revoking the share.")
    share.revoked_at = timezone.now()
    share.revoked_by = acting_user
    share.revoke_reason = reason
    share.save()
    still_shared = CaseShare.objects.filter(
        case=share.case, agency=share.agency, revoked_at__isnull=True
    ).exists()
    if not still_shared:
        remove_perm(VIEW_CASE, share.agency.group, share.case)
        visibility.prune(share.case_id, share.agency_id)
    record_event(
        Op.SHARE_REVOKED,
        actor=acting_user,
        agency=acting_agency,
        obj=share,
        case_id=share.case_id,
        categories=share.categories,
        justification=share.revoke_reason,
        share_id=share.pk,
        agreement_id=share.agreement_id,
        recipients=[f"agency:{share.agency_id}"],
    )
    _authz_changed(agency_ids=[share.agency_id], case=share.case)
    notifications.notify_share_revoked(share)
    return share


# --- break-glass ----------------------------------------------------------------------------
@transaction.atomic
def do_break_glass(
    *,
    case: Case,
    user: User,
    agency: Agency,
    agreement: SharingAgreement,
    reason: str,
    minutes: int | None = None,
) -> BreakGlass:
    """Open a case not shared with the user's agency, for a limited time, with a typed reason."""
    reason = require_reason(
        reason,
        field="reason",
        message="Explain why you need emergency access (at least 10 characters).",
        min_length=10,
    )
    if case.erased_at is not None:
        raise DomainError("This case has been erased.")
    if agency.pk not in policy.content_agencies(user):
        raise DomainError(
            "Break-glass is opened as a practitioner or chair of your own agency.", field="agency"
        )
    if agency.pk == case.lead_agency_id:
        raise DomainError("Your agency leads this case: open it normally.", field="agency")
    if not agreement.is_in_force():
        raise DomainError(
            f"Agreement {agreement.reference} is not in force: break-glass needs an active agreement.",
            field="agreement",
        )
    party_ids = set(agreement.parties.values_list("agency_id", flat=True))
    if agency.pk not in party_ids or case.lead_agency_id not in party_ids:
        raise DomainError(
            f"Your agency and the lead agency must both be parties to agreement {agreement.reference}.",
            field="agreement",
        )
    policy.forget(user)
    if policy.case_access(user, case) is not None:
        raise DomainError("You can already see this case: break-glass is not needed.", field="case")
    minutes = minutes or int(settings.CONVENE_BREAK_GLASS_MINUTES)
    glass = BreakGlass.objects.create(
        case=case,
        user=user,
        agency=agency,
        agreement=agreement,
        reason=reason,
        expires_at=timezone.now() + timedelta(minutes=minutes),
    )
    assign_perm(VIEW_CASE, user, case)
    membership = policy.primary_membership(user, agency.pk)
    record_event(
        Op.BREAK_GLASS,
        actor=user,
        agency=agency,
        role=membership.role if membership else "",
        obj=glass,
        case_id=case.pk,
        justification=f"break-glass {glass.pk}",
        agreement_id=agreement.pk,
        recipients=[f"user:{user.pk}"],
        detail={"change": "opened", "minutes": minutes},
    )
    policy.forget(user)
    send_on_commit(f"agency.{case.lead_agency_id}", {"type": "breakglass.opened", "case_id": str(case.pk)})
    _authz_changed(user_ids=[user.pk], case=case)
    notifications.notify_break_glass(glass)
    return glass


REVIEW_OUTCOMES = ("justified", "unjustified")


@transaction.atomic
def do_review_break_glass(*, glass: BreakGlass, outcome: str, note: str, acting_user: User) -> BreakGlass:
    """Record the review of a break-glass use. An unjustified one ends at once if still open."""
    glass = BreakGlass.objects.select_for_update().get(pk=glass.pk)
    if glass.reviewed_at is not None:
        raise DomainError("This break-glass access has already been reviewed.", field="review_outcome")
    if outcome not in REVIEW_OUTCOMES:
        raise DomainError("Choose justified or not justified.", field="review_outcome")
    note = clean_text(note)
    if outcome == "unjustified":
        require_reason(note, field="review_note", message="Say why the access was not justified.")
    now = timezone.now()
    glass.reviewed_at = now
    glass.reviewed_by = acting_user
    glass.review_outcome = outcome
    glass.review_note = note
    ended = outcome == "unjustified" and glass.expires_at > now
    if ended:
        glass.expires_at = now
    glass.save()
    record_event(
        Op.BREAK_GLASS,
        actor=acting_user,
        obj=glass,
        case_id=glass.case_id,
        agreement_id=glass.agreement_id,
        detail={"change": "reviewed", "review": outcome, "ended": ended},
    )
    if ended:
        _authz_changed(user_ids=[glass.user_id])
    return glass


# --- expiry -----------------------------------------------------------------------------------
def do_expire_agreements(
    *, on: date | None = None, acting_user: User | None = None
) -> list[SharingAgreement]:
    """Expire every active or suspended agreement whose end date has passed (each audited)."""
    on = on or timezone.localdate()
    expired = []
    due = SharingAgreement.objects.filter(
        status__in=[AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED], ends_on__lt=on
    )
    for agreement in due:
        with transaction.atomic():
            locked = SharingAgreement.objects.select_for_update().get(pk=agreement.pk)
            if locked.status not in (AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED):
                continue
            _save_agreement_status(
                locked,
                status=AgreementStatus.EXPIRED,
                reason=f"End date {locked.ends_on.isoformat() if locked.ends_on else ''} passed.",
                acting_user=acting_user,
                detail={"automatic": True},
            )
            expired.append(locked)
    return expired


# --- disclosures ----------------------------------------------------------------------------
DISCLOSURE_KINDS = frozenset(key for key, _ in Disclosure.RECIPIENT_KINDS)


@transaction.atomic
def do_record_disclosure(
    *,
    case: Case,
    agency: Agency,
    recipient: str,
    recipient_kind: str,
    categories: list[str],
    summary: str,
    justification: str,
    undertaking: bool,
    approved_by: User | None,
    disclosed_on: date,
    acting_user: User,
) -> Disclosure:
    """Record a disclosure outside Convene: recipient, what, why, chair approval and date."""
    if case.erased_at is not None:
        raise DomainError("This case has been erased.")
    if not (recipient or "").strip():
        raise DomainError("Name the recipient.", field="recipient")
    if recipient_kind not in DISCLOSURE_KINDS:
        raise DomainError("Choose who received the disclosure.", field="recipient_kind")
    bad = [c for c in categories if c not in ALL_CATEGORIES]
    if bad or not categories:
        raise DomainError("Choose the data categories disclosed.", field="categories")
    if not (summary or "").strip():
        raise DomainError("Describe what was disclosed.", field="summary")
    justification = require_reason(
        justification,
        field="justification",
        message="Record why the disclosure was necessary and proportionate.",
        min_length=10,
    )
    if disclosed_on is None:
        raise DomainError("Give the date of the disclosure.", field="disclosed_on")
    if disclosed_on > timezone.localdate():
        raise DomainError("The disclosure date cannot be in the future.", field="disclosed_on")
    if approved_by is None or not policy.can_approve_disclosure(approved_by, case):
        raise DomainError(
            "A chair of the lead agency must approve a disclosure outside Convene.", field="approved_by"
        )
    disclosure = Disclosure(
        case=case,
        agency=agency,
        recipient=recipient.strip(),
        recipient_kind=recipient_kind,
        categories=sorted(set(categories)),
        summary=summary.strip(),
        justification=justification,
        undertaking=undertaking,
        approved_by=approved_by,
        disclosed_on=disclosed_on,
        recorded_by=acting_user,
    )
    disclosure.save()
    record_event(
        Op.DISCLOSE,
        actor=acting_user,
        agency=agency,
        obj=disclosure,
        case_id=case.pk,
        categories=disclosure.categories,
        justification=f"disclosure {disclosure.pk} approved by user {approved_by.pk}",
        recipients=[f"third_party:{recipient_kind}"],
        detail={
            "approved_by": approved_by.pk,
            "disclosed_on": disclosed_on.isoformat(),
            "undertaking": undertaking,
        },
    )
    send_on_commit(f"case.{case.pk}", {"type": "disclosure.recorded", "case_id": str(case.pk)})
    return disclosure


# --- match notices (a partner's referral matched one of our cases) ------------------------------
def _open_notice(notice: MatchNotice) -> MatchNotice:
    locked = (
        MatchNotice.objects.select_for_update().select_related("case", "referring_agency").get(pk=notice.pk)
    )
    if locked.status != MatchNoticeStatus.OPEN:
        raise DomainError("This notice has already been decided.", field="notice")
    return locked


@transaction.atomic
def do_share_from_match_notice(
    *,
    notice: MatchNotice,
    agreement: SharingAgreement,
    categories: list[str],
    purpose: str,
    acting_user: User,
    acting_agency: Agency,
) -> CaseShare:
    """The holder shares its matched case with the referring agency (do_share_case's rules apply:
    agreement in force with both as parties, categories the agreement allows). The referrer then
    sees exactly what this share gives, and nothing more of the case."""
    notice = _open_notice(notice)
    share = do_share_case(
        case=notice.case,
        agency=notice.referring_agency,
        agreement=agreement,
        categories=categories,
        purpose=purpose,
        acting_user=acting_user,
        acting_agency=acting_agency,
    )
    _decide(notice, MatchNoticeStatus.SHARED, acting_user, acting_agency, share=share)
    return share


@transaction.atomic
def do_dismiss_match_notice(*, notice: MatchNotice, acting_user: User, acting_agency: Agency) -> MatchNotice:
    """The holder decides not to share: the referrer learns nothing."""
    notice = _open_notice(notice)
    _decide(notice, MatchNoticeStatus.DISMISSED, acting_user, acting_agency)
    return notice


def _decide(
    notice: MatchNotice, status: str, acting_user: User, acting_agency: Agency, share: CaseShare | None = None
) -> None:
    notice.status = status
    notice.decided_by = acting_user
    notice.decided_at = timezone.now()
    notice.share = share
    notice.save(update_fields=["status", "decided_by", "decided_at", "share"])
    record_event(
        Op.ALTER,
        actor=acting_user,
        agency=acting_agency,
        obj=notice,
        case_id=notice.case_id,
        share_id=share.pk if share is not None else None,
        agreement_id=share.agreement_id if share is not None else None,
        detail={"match_notice": status},
    )
