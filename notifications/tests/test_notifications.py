"""Notices and their emails: who receives what, once; emails carry no case data; following re-checks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent, Op
from cases import choices as c
from cases.services import do_add_action
from meetings.services import do_notify_overdue_actions
from notifications.models import EmailMode, Kind, Notification, NotificationPreference
from notifications.services import do_send_digests, do_set_preferences
from sharing.models import CaseShare
from sharing.services import do_revoke_share, do_share_case
from tests.world import make_case

from .conftest import run_worker

pytestmark = pytest.mark.django_db


def _share(world: Any, case: Any, agency_key: str = "probation") -> CaseShare:
    return do_share_case(
        case=case,
        agency=world.agencies[agency_key],
        agreement=world.agreement,
        categories=["C1", "C2"],
        purpose="Joint risk management at MAPPA level 2.",
        acting_user=world.police_practitioner,
        acting_agency=world.agencies["police"],
    )


def _notices(user: Any, kind: str, case: Any = None) -> list[Notification]:
    found = Notification.objects.filter(recipient=user, kind=kind)
    return list(found.filter(case=case) if case is not None else found)


def test_a_share_notifies_the_receiving_agency_and_emails_only_those_who_want_it(
    with_emails: Any, smtp_server: Any
) -> None:
    world = with_emails
    # given a new case not yet shared, and a probation chair who turned share emails off
    case = make_case(world, family="Notified")
    do_set_preferences(user=world.probation_chair, choices={Kind.CASE_SHARED: EmailMode.OFF})
    # when the police practitioner shares it with probation and the task worker runs
    _share(world, case)
    run_worker()
    # then probation's practitioner and chair each have one notice naming the case reference
    for name in ("probation_practitioner", "probation_chair"):
        [notice] = _notices(world.users[name], Kind.CASE_SHARED, case)
        assert case.reference in notice.title
    # and nobody else was notified (not the sharer, not another agency, not probation's auditor)
    assert Notification.objects.filter(kind=Kind.CASE_SHARED, case=case).count() == 2
    # and exactly one email reached the SMTP server: the practitioner's, with no case data in it
    assert len(smtp_server.messages) == 1
    [message] = smtp_server.to("probation_practitioner@example.test")
    assert message["Subject"] == "You have 1 new item in Convene"
    body = message.get_payload()
    assert "/notifications/" in body
    assert case.reference not in body + message["Subject"]
    # and the notice and the email are each audited as a disclosure to their recipient
    user_id = world.probation_practitioner.pk
    events = AuditEvent.objects.filter(op=Op.DISCLOSE, recipients=[f"user:{user_id}"])
    assert {e.object_type for e in events} == {"notifications.Notification", "email"}


def test_the_worker_sends_each_notice_by_email_once(with_emails: Any, smtp_server: Any) -> None:
    world = with_emails
    _share(world, make_case(world, family="Once"))
    run_worker()
    run_worker()
    from notifications.services import do_send_pending_immediate

    assert do_send_pending_immediate() == 0
    assert len(smtp_server.to("probation_practitioner@example.test")) == 1


def test_a_digest_collects_a_days_notices_into_one_email(with_emails: Any, smtp_server: Any) -> None:
    world = with_emails
    # given the probation practitioner takes everything as a daily digest
    user = world.probation_practitioner
    address = "probation_practitioner@example.test"
    do_set_preferences(user=user, choices={kind: EmailMode.DIGEST for kind in Kind.values})
    # and over the day three notices arrive: two cases shared, one action assigned
    first, second = make_case(world, family="DigestOne"), make_case(world, family="DigestTwo")
    _share(world, first)
    _share(world, second)
    do_add_action(
        case=first,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        pillar=c.Pillar.SUPERVISION,
        text="Confirm the curfew monitoring arrangements with the provider.",
        owner=user,
        action_agency=world.agencies["probation"],
        due_on=timezone.localdate() + timedelta(days=10),
    )
    run_worker()
    assert smtp_server.to(address) == []  # nothing immediate
    # when the digest job runs
    do_send_digests(now=timezone.now() + timedelta(seconds=1))
    # then one email says three new items, and another digest run sends nothing more
    [message] = smtp_server.to(address)
    assert message["Subject"] == "You have 3 new items in Convene (daily digest)"
    assert first.reference not in message.get_payload() and second.reference not in message.get_payload()
    do_send_digests(now=timezone.now() + timedelta(seconds=2))
    assert len(smtp_server.to(address)) == 1


def test_an_overdue_action_notifies_its_owner_once_not_every_run(world: Any) -> None:
    # given an action owned by the health practitioner, three days overdue
    action = do_add_action(
        case=world.case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        pillar=c.Pillar.SUPERVISION,
        text="Check the home visit log with the offender manager.",
        owner=world.health_practitioner,
        action_agency=world.agencies["health"],
        due_on=timezone.localdate() - timedelta(days=3),
    )
    # when the overdue sweep runs three times
    for _ in range(3):
        do_notify_overdue_actions()
    # then the owner has exactly one overdue notice, naming the case and not the action's text
    [notice] = _notices(world.health_practitioner, Kind.ACTION_OVERDUE)
    assert world.case.reference in notice.title and "home visit" not in notice.title
    assert notice.about_id == str(action.case_id)


def test_following_a_notice_rechecks_the_policy(world: Any, signed_in: Any) -> None:
    # given a share notice for probation's practitioner
    case = make_case(world, family="Followed")
    share = _share(world, case)
    [notice] = _notices(world.probation_practitioner, Kind.CASE_SHARED, case)
    client = signed_in(world.probation_practitioner)
    # when they follow it while the share stands, it opens the case and marks the notice read
    response = client.get(f"/notifications/{notice.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    notice.refresh_from_db()
    assert notice.read_at is not None
    # reading the notice is not a consultation of the case
    assert not AuditEvent.objects.filter(
        op=Op.CONSULT, case_id=case.pk, actor_id=notice.recipient_id
    ).exists()
    # when the share is revoked, following it answers exactly like a notice that does not exist
    do_revoke_share(share=share, reason="No longer needed.", acting_user=world.police_practitioner)
    gone = client.get(f"/notifications/{notice.pk}/")
    missing = client.get("/notifications/00000000-0000-0000-0000-000000000000/")
    assert gone.status_code == missing.status_code == 404
    assert gone.content == missing.content
    # and the revocation told probation without naming the case it can no longer see
    revoked = _notices(world.probation_practitioner, Kind.SHARE_REVOKED)
    assert revoked and case.reference not in revoked[0].title


def test_another_persons_notice_is_not_found(world: Any, signed_in: Any) -> None:
    case = make_case(world, family="Private")
    _share(world, case)
    [notice] = _notices(world.probation_practitioner, Kind.CASE_SHARED, case)
    client = signed_in(world.probation_chair)
    assert client.get(f"/notifications/{notice.pk}/").status_code == 404
    assert client.post(f"/notifications/{notice.pk}/read/").status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None


def test_the_centre_lists_marks_read_and_saves_preferences(world: Any, signed_in: Any) -> None:
    Notification.objects.update(read_at=timezone.now())  # what building the world made
    _share(world, make_case(world, family="Centre"))
    _share(world, make_case(world, family="Centre2"))
    user = world.probation_practitioner
    client = signed_in(user)
    badge = client.get("/notifications/badge/").content.decode()
    assert "2 new" in badge
    page = client.get("/notifications/").content.decode()
    assert "2 unread" in page and "Mark all read" in page
    first = _notices(user, Kind.CASE_SHARED)[0]
    assert client.post(f"/notifications/{first.pk}/read/").status_code == 302
    assert "1 new" in client.get("/notifications/badge/").content.decode()
    client.post("/notifications/read-all/")
    assert Notification.objects.filter(recipient=user, read_at__isnull=True).count() == 0
    client.post("/notifications/preferences/", {Kind.CASE_SHARED: EmailMode.DIGEST})
    assert NotificationPreference.objects.get(user=user, kind=Kind.CASE_SHARED).email == EmailMode.DIGEST
    # a bad choice names the field and changes nothing
    client.post("/notifications/preferences/", {Kind.CASE_SHARED: "hourly"})
    assert NotificationPreference.objects.get(user=user, kind=Kind.CASE_SHARED).email == EmailMode.DIGEST


def test_break_glass_tells_the_lead_agencys_chairs_and_auditors(world: Any) -> None:
    from sharing.services import do_break_glass

    case = make_case(world, family="Glass")
    glass = do_break_glass(
        case=case,
        user=world.cps_practitioner,
        agency=world.agencies["cps"],
        agreement=world.agreement,
        reason="Charging decision needed tonight; duty lawyer on call.",
    )
    told = set(
        Notification.objects.filter(kind=Kind.BREAK_GLASS).values_list("recipient__username", flat=True)
    )
    assert told == {"police_chair", "police_auditor"}
    assert Notification.objects.get(recipient=world.police_chair, kind=Kind.BREAK_GLASS).about_id == str(
        glass.pk
    )


def test_agreement_expiry_tells_the_party_admins(world: Any) -> None:
    from sharing.services import do_change_agreement_status

    do_change_agreement_status(
        agreement=world.agreement, status="suspended", acting_user=world.police_admin, reason="Audit finding."
    )
    told = set(
        Notification.objects.filter(kind=Kind.AGREEMENT_ENDED).values_list("recipient__username", flat=True)
    )
    assert told == {f"{k}_admin" for k in ("police", "probation", "health", "cps", "isac")}


def test_a_membership_that_ended_takes_its_notices_with_it(world: Any, signed_in: Any) -> None:
    from agencies.services import do_end_membership

    case = make_case(world, family="Ended")
    _share(world, case)
    [notice] = _notices(world.probation_practitioner, Kind.CASE_SHARED, case)
    client = signed_in(world.probation_practitioner)
    assert case.reference in client.get("/notifications/").content.decode()
    do_end_membership(
        membership=world.memberships["probation_practitioner"], acting_user=world.probation_admin
    )
    client = signed_in(world.probation_practitioner)
    assert case.reference not in client.get("/notifications/").content.decode()
    assert client.get(f"/notifications/{notice.pk}/").status_code == 404
