"""Invisible reasons: zero-width and soft-hyphen characters do not count towards a reason's length, in
every service with a rule on a reason or justification."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from core.errors import DomainError
from core.text import clean_text, require_reason
from lifecycle.models import LegalHold
from lifecycle.services import do_erase_case, do_lift_legal_hold, do_retain, do_set_legal_hold
from sharing.models import BreakGlass, CaseShare, Disclosure
from sharing.services import do_break_glass, do_record_disclosure, do_revoke_share
from tests.world import make_case

# twelve characters that show as nothing: zero-width space, joiner, non-joiner, word joiner, soft hyphen, BOM
INVISIBLE = "\u200b\u200d\u200c\u2060\u00ad\ufeff" * 2


def test_clean_text_normalises_drops_format_characters_and_trims() -> None:
    assert clean_text(INVISIBLE) == ""
    assert clean_text(" \u00a0co\u00adurt\u200b order \u2060") == "court order"
    assert clean_text("\uff21\uff22") == "AB"  # NFKC: full-width letters
    assert clean_text(None) == ""
    assert len(INVISIBLE) == 12


def test_require_reason_counts_visible_characters_only() -> None:
    with pytest.raises(DomainError) as refused:
        require_reason(INVISIBLE, field="reason", message="Explain.", min_length=10)
    assert refused.value.field == "reason"
    assert (
        require_reason("\u200bRisk to life\u200b", field="reason", message="x", min_length=10)
        == "Risk to life"
    )


def break_glass(world: Any, reason: str) -> Any:
    case = make_case(world, share_with=(), family="Holt")
    return do_break_glass(
        case=case,
        user=world.isac_practitioner,
        agency=world.agencies["isac"],
        agreement=world.agreement,
        reason=reason,
    )


def disclosure(world: Any, justification: str) -> Any:
    return do_record_disclosure(
        case=world.case,
        agency=world.agencies["police"],
        recipient="Northtown Housing",
        recipient_kind=sorted(k for k, _ in Disclosure.RECIPIENT_KINDS)[0],
        categories=["C1"],
        summary="Address history",
        justification=justification,
        undertaking=True,
        approved_by=world.police_chair,
        disclosed_on=timezone.localdate(),
        acting_user=world.police_practitioner,
    )


def hold(world: Any, reason: str) -> Any:
    return do_set_legal_hold(
        case=world.case, reason=reason, acting_user=world.police_dpo, agency=world.agencies["police"]
    )


def lift(world: Any, reason: str) -> Any:
    placed = hold(world, "Civil claim pending")
    return do_lift_legal_hold(
        hold=placed, reason=reason, acting_user=world.police_dpo, agency=world.agencies["police"]
    )


def revoke(world: Any, reason: str) -> Any:
    share = CaseShare.objects.filter(case=world.case, revoked_at__isnull=True).first()
    assert share is not None
    return do_revoke_share(share=share, reason=reason, acting_user=world.police_practitioner)


def erase(world: Any, reason: str) -> Any:
    return do_erase_case(
        world.case, acting_user=world.police_dpo, agency=world.agencies["police"], rule=None, reason=reason
    )


def retain(world: Any, reason: str) -> Any:
    return do_retain(
        record_type="case",
        obj=world.case,
        reason=reason,
        next_review_on=timezone.localdate() + timedelta(days=30),
        acting_user=world.police_dpo,
        agency=world.agencies["police"],
    )


CASES: list[tuple[str, Callable[[Any, str], Any], str]] = [
    ("break-glass", break_glass, "reason"),
    ("disclosure", disclosure, "justification"),
    ("legal hold", hold, "reason"),
    ("lifting a hold", lift, "lift_reason"),
    ("revoking a share", revoke, "reason"),
    ("erasure", erase, "reason"),
    ("retention", retain, "reason"),
]


@pytest.mark.parametrize(("what", "action", "field"), CASES, ids=[c[0] for c in CASES])
def test_an_invisible_reason_is_refused_naming_the_field(
    world: Any, what: str, action: Any, field: str
) -> None:
    # when the reason is twelve invisible characters
    with pytest.raises(DomainError) as refused:
        action(world, INVISIBLE)
    # then it is refused, naming the field, and nothing is written
    assert refused.value.field == field, what
    assert not BreakGlass.objects.exists()
    assert not Disclosure.objects.exists()
    assert not LegalHold.objects.filter(lifted_at__isnull=False).exists()
    assert not CaseShare.objects.filter(revoked_at__isnull=False).exists()
    world.case.refresh_from_db()
    assert world.case.erased_at is None


def test_a_padded_break_glass_reason_is_stored_as_its_visible_text(world: Any) -> None:
    glass = break_glass(world, "\u200bRisk to life\u00ad today\u200b")
    assert glass.reason == "Risk to life today"


def test_the_break_glass_api_refuses_an_invisible_reason_naming_it(world: Any, api: Any) -> None:
    # given a case not shared with the advocacy service
    case = make_case(world, share_with=(), family="Holt")
    # when its practitioner asks for emergency access with twelve invisible characters as the reason
    response = api(world.isac_practitioner).post(
        f"/api/v1/cases/{case.pk}/break-glass/", {"reason": INVISIBLE}, format="json"
    )
    # then it is a 400 naming the reason, and no access is opened
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]
    assert not BreakGlass.objects.exists()


@pytest.mark.django_db
def test_a_referral_whose_reason_is_only_invisible_characters_is_refused_naming_it(world, api):
    # given a referral whose reason is zero-width spaces and soft hyphens
    payload = {
        "forum": "clinic",
        "nominal": {"given_name": "Ivo", "family_name": "Blank", "date_of_birth": "1990-01-01"},
        "referral": {
            "reason": "\u200b\u00ad" * 6,
            "lawful_basis": "CJA 2003 s325",
            "index_offence": "Stalking",
            "received_on": "2026-01-05",
        },
    }
    # then it is refused naming the reason, and nothing is opened
    response = api(world.police_practitioner).post("/api/v1/cases/", payload, format="json")
    assert response.status_code == 400
    assert "reason" in json.dumps(response.json())
