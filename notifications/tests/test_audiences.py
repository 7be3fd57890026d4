"""Who receives each kind of notice: computed from the policy, for the agencies people work for."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from cases import choices as c
from cases.services import do_add_action
from lifecycle.services import do_set_legal_hold
from meetings.tests.helpers import schedule
from notifications.models import Kind, Notification
from notifications.services import (
    do_notify_actions_due_soon,
    do_notify_agreements_expiring,
    do_notify_lifecycle,
)
from tests.world import make_case

pytestmark = pytest.mark.django_db


def _told(kind: str, **filters: Any) -> set[str]:
    return set(
        Notification.objects.filter(kind=kind, **filters).values_list("recipient__username", flat=True)
    )


def test_an_invitation_tells_the_person_invited(world: Any) -> None:
    meeting = schedule(world, attendees=("probation_practitioner",))
    assert "probation_practitioner" in _told(Kind.MEETING_INVITED, about_id=str(meeting.pk))
    assert "police_chair" not in _told(Kind.MEETING_INVITED, about_id=str(meeting.pk))


def test_an_action_assigned_and_due_soon_tells_its_owner_once(world: Any) -> None:
    action = do_add_action(
        case=world.case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        pillar=c.Pillar.SUPERVISION,
        text="Review the curfew breach with the monitoring provider.",
        owner=world.probation_practitioner,
        action_agency=world.agencies["probation"],
        due_on=timezone.localdate() + timedelta(days=2),
    )
    assert _told(Kind.ACTION_ASSIGNED) == {"probation_practitioner"}
    do_notify_actions_due_soon()
    do_notify_actions_due_soon()
    [notice] = Notification.objects.filter(kind=Kind.ACTION_DUE_SOON)
    assert notice.recipient_id == action.owner_id and "curfew" not in notice.title


def test_a_legal_hold_tells_the_dpos_of_agencies_holding_the_case(world: Any) -> None:
    do_set_legal_hold(
        case=world.case,
        reason="Civil claim pending",
        acting_user=world.police_dpo,
        agency=world.agencies["police"],
    )
    # the world's case is led by police and shared with probation, health, CPS and the ISAC
    assert _told(Kind.LEGAL_HOLD) == {f"{k}_dpo" for k in ("probation", "health", "cps", "isac")}


def test_an_agreement_ending_within_30_days_tells_the_party_admins_once(world: Any) -> None:
    from sharing.models import SharingAgreement

    SharingAgreement.objects.filter(pk=world.agreement.pk).update(
        ends_on=timezone.localdate() + timedelta(days=20)
    )
    do_notify_agreements_expiring()
    do_notify_agreements_expiring()
    admins = {f"{k}_admin" for k in ("police", "probation", "health", "cps", "isac")}
    assert _told(Kind.AGREEMENT_EXPIRING) == admins
    assert Notification.objects.filter(kind=Kind.AGREEMENT_EXPIRING).count() == len(admins)


def test_retention_reviews_due_and_a_sar_near_its_deadline_tell_the_dpo(world: Any) -> None:
    from datetime import date

    from cases.models import Case
    from lifecycle.sar import SubjectQuery, do_open_sar
    from lifecycle.services import do_recompute_retention

    old = make_case(world, family="Aged")
    then = timezone.now() - timedelta(days=365 * 11)
    Case.objects.filter(pk=old.pk).update(created_at=then, closed_at=then, status="closed")
    do_recompute_retention(old)
    sar = do_open_sar(
        agency=world.agencies["police"],
        handled_by=world.police_dpo,
        query=SubjectQuery(
            kind="perpetrator", given_name="Daniel", family_name="Marsh", date_of_birth=date(1986, 4, 12)
        ),
    )
    type(sar).objects.filter(pk=sar.pk).update(requested_at=timezone.now() - timedelta(days=25))
    do_notify_lifecycle()
    do_notify_lifecycle()
    assert _told(Kind.RETENTION_DUE) == {"police_dpo"}
    assert _told(Kind.SAR_DEADLINE) == {"police_dpo"}
    assert Notification.objects.filter(kind__in=[Kind.RETENTION_DUE, Kind.SAR_DEADLINE]).count() == 2


def test_a_match_notice_tells_the_holders_chairs_and_following_it_opens_the_notice(
    world: Any, api: Any, signed_in: Any
) -> None:
    from sharing.models import MatchNotice

    # given a police case probation may not see, and probation referring the same person
    hidden = make_case(world, share_with=(), family="Ashdown")
    payload = {
        "nominal": {"given_name": "Daniel", "family_name": "Ashdown", "date_of_birth": "1986-04-12"},
        "referral": {
            "reason": "Repeated contact after the end of the relationship.",
            "lawful_basis": "DPA 2018 Part 3, Sch 8 para 1",
            "index_offence": "Stalking (PHA 1997 s2A)",
            "received_on": str(timezone.localdate() - timedelta(days=1)),
        },
        "forum": "clinic",
    }
    assert api(world.probation_practitioner).post("/api/v1/cases/", payload, format="json").status_code == 201
    notice = MatchNotice.objects.get()
    # then the police chairs are told, naming probation and their own case, and no one at probation
    assert _told(Kind.MATCH_NOTICE) == {"police_chair"}
    [told] = Notification.objects.filter(kind=Kind.MATCH_NOTICE)
    assert hidden.reference in told.title and "Ashdown" not in told.title
    # and following it opens the notice for its chair
    response = signed_in(world.police_chair).get(f"/notifications/{told.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/sharing/match-notices/{notice.pk}/"
