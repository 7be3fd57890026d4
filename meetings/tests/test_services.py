"""Meeting services: agenda, confidentiality, exclusion, minutes, decisions, sign-off, carry-forward."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent, Op
from cases import choices as cc
from cases.models import Action, Case
from core.errors import ConflictError, DomainError
from meetings import services
from meetings.models import AgendaReason, DecisionKind, MinuteEntry
from sharing import policy

from .helpers import MINUTES_BODY, VICTIM_LOCATION, schedule, start

pytestmark = pytest.mark.django_db


def test_agenda_is_proposed_from_cases_the_chair_sees(world):
    # given world.case, a new referral visible to the police chair
    # when the chair schedules a meeting and the agenda is proposed
    meeting = schedule(world)
    # then the case is on the agenda as a new referral, and the five agencies are invited
    item = meeting.items.get()
    assert item.case == world.case
    assert item.reason == AgendaReason.NEW_REFERRAL
    assert set(meeting.attendees.filter(user__isnull=True).values_list("agency__name", flat=True)) == {
        world.agencies[k].name for k in ("police", "probation", "health", "cps", "isac")
    }


def test_proposal_gives_due_for_review_and_overdue_actions_reasons(world):
    # given the case is active and due for review before the meeting
    case = world.case
    Case.objects.filter(pk=case.pk).update(status=cc.CaseStatus.ACTIVE)
    chair = world.police_chair
    meeting = services.do_schedule_meeting(
        forum=cc.Forum.MAPPA,
        title="Review",
        scheduled_for=timezone.now() + timedelta(days=20),
        chair=chair,
        chair_agency=world.agencies["police"],
        acting_user=chair,
    )
    # then it is proposed as due for review
    [proposal] = services.propose_agenda(meeting)
    assert proposal.reason == AgendaReason.DUE_FOR_REVIEW
    # and given an overdue action, that reason takes priority
    from cases.services import do_add_action

    do_add_action(
        case=case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        pillar=cc.Pillar.SUPERVISION,
        text="Weekly reporting",
        owner=world.police_practitioner,
        action_agency=world.agencies["police"],
        due_on=timezone.localdate() + timedelta(days=1),
    )
    [proposal] = services.propose_agenda(meeting)
    assert proposal.reason == AgendaReason.OVERDUE_ACTIONS


def test_outsider_case_is_never_proposed(world):
    # given a meeting chaired by the outsider agency's chair, who sees no Northshire case
    chair = world.outsider_chair
    meeting = services.do_schedule_meeting(
        forum=cc.Forum.MAPPA,
        title="Southshire review",
        scheduled_for=timezone.now() + timedelta(days=1),
        chair=chair,
        chair_agency=world.agencies["outsider"],
        acting_user=chair,
    )
    # then nothing is proposed
    assert services.propose_agenda(meeting) == []


def test_unacknowledged_attendee_sees_no_item_content(world):
    # given the health practitioner is invited but has not acknowledged the statement
    meeting = schedule(world, attendees=("health_practitioner",), acknowledge=False)
    item = meeting.items.get()
    # then the policy gives them the item as unacknowledged only
    view = policy.agenda_item_view(world.health_practitioner, meeting, item)
    assert view is not None and view.mode == "unacknowledged" and not view.sees_content
    # and an uninvited persona cannot see the meeting at all
    assert policy.agenda_item_view(world.isac_practitioner, meeting, item) is None
    assert not policy.can_view_meeting(world.outsider_practitioner, meeting)


def test_excluded_agency_sees_excluded_for_that_item(world):
    # given a running meeting
    meeting = schedule(world)
    item = meeting.items.get()
    # when the chair excludes probation from the item
    services.do_exclude_agency(item=item, agency=world.agencies["probation"], acting_user=world.police_chair)
    policy.forget(world.probation_practitioner)
    # then probation sees "excluded"; health still sees minutes
    probation_view = policy.agenda_item_view(world.probation_practitioner, meeting, item)
    health_view = policy.agenda_item_view(world.health_practitioner, meeting, item)
    assert probation_view is not None and probation_view.mode == "excluded"
    assert health_view is not None and health_view.mode == "minutes"


def test_minutes_conflict_on_stale_version(world):
    # given minutes recorded at version 1
    meeting = start(schedule(world))
    item = meeting.items.get()
    services.do_record_minutes(item=item, body="First draft", version=0, acting_user=world.police_chair)
    services.do_record_minutes(item=item, body="Second draft", version=1, acting_user=world.police_chair)
    # when another edit based on version 1 arrives
    with pytest.raises(ConflictError) as exc:
        services.do_record_minutes(item=item, body="Stale edit", version=1, acting_user=world.police_chair)
    # then it is refused, naming the current version, and nothing is overwritten
    assert exc.value.current_version == 2
    assert MinuteEntry.objects.get(item=item).body == "Second draft"


def test_minutes_are_encrypted_and_audited_without_values(world):
    meeting = start(schedule(world))
    item = meeting.items.get()
    entry = services.do_record_minutes(
        item=item,
        body=MINUTES_BODY,
        victim_safety_minutes=VICTIM_LOCATION,
        version=0,
        acting_user=world.police_chair,
    )
    # then the stored value is ciphertext and the audit record holds no value
    from keystore.fields import Sealed

    raw = MinuteEntry.objects.filter(pk=entry.pk).values_list("body", flat=True).get()
    assert isinstance(raw, Sealed)
    event = AuditEvent.objects.filter(object_id=str(entry.pk)).get()
    assert event.categories == ["C10", "C7"]
    assert MINUTES_BODY not in str(event.detail) and VICTIM_LOCATION not in str(event.detail)


def test_level_change_and_review_date_update_the_case(world):
    # given a running meeting on a level 2 case
    meeting = start(schedule(world))
    item = meeting.items.get()
    review_on = timezone.localdate() + timedelta(weeks=8)
    # when the chair records a level change and the next review
    decision = services.do_record_decision(
        item=item,
        kind=DecisionKind.LEVEL_CHANGE,
        text="Escalate to level 3",
        rationale="Senior resources needed at short notice",
        to_level=3,
        acting_user=world.police_chair,
    )
    services.do_record_decision(
        item=item,
        kind=DecisionKind.REVIEW_DATE,
        text="Review in 8 weeks",
        rationale="Level 3 cases are reviewed every 8 weeks",
        review_on=review_on,
        acting_user=world.police_chair,
    )
    # then the case holds the new level and review date, and the decision records the change
    case = Case.objects.get(pk=world.case.pk)
    assert (case.mappa_level, case.next_review_on) == (3, review_on)
    assert (decision.from_level, decision.to_level) == (2, 3)


def test_rmp_change_goes_through_the_plan_service_with_versions(world):
    meeting = start(schedule(world))
    item = meeting.items.get()
    items = {"supervision": [{"text": "Weekly appointments", "agency": "probation"}]}
    decision = services.do_record_decision(
        item=item,
        kind=DecisionKind.RMP_CHANGE,
        text="Plan agreed",
        rationale="Agreed by all agencies",
        plan_items=items,
        plan_base_number=0,
        acting_user=world.police_chair,
    )
    assert decision.plan_number == 1
    assert world.case.plans.get().agreed_at_meeting == meeting.pk
    # a second change based on the old version is a conflict, not an overwrite
    with pytest.raises(ConflictError):
        services.do_record_decision(
            item=item,
            kind=DecisionKind.RMP_CHANGE,
            text="Plan changed",
            rationale="Stale",
            plan_items=items,
            plan_base_number=0,
            acting_user=world.police_chair,
        )


def test_signed_off_minutes_are_locked_and_corrections_are_addenda(world):
    # given a signed-off meeting
    meeting = start(schedule(world))
    item = meeting.items.get()
    services.do_record_minutes(item=item, body=MINUTES_BODY, version=0, acting_user=world.police_chair)
    meeting.refresh_from_db()
    services.do_sign_off(meeting=meeting, version=meeting.version, acting_user=world.police_chair)
    # when the chair tries to edit the minutes or record a decision
    with pytest.raises(DomainError) as exc:
        services.do_record_minutes(item=item, body="Changed", version=1, acting_user=world.police_chair)
    assert exc.value.field == "body"
    with pytest.raises(DomainError):
        services.do_record_decision(item=item, text="Late", rationale="x", acting_user=world.police_chair)
    # then the minutes are unchanged, and a correction is accepted as an addendum
    assert MinuteEntry.objects.get(item=item).body == MINUTES_BODY
    addendum = services.do_add_addendum(
        item=item, text="Correction: date of incident", acting_user=world.police_chair
    )
    assert addendum.text == "Correction: date of incident"


def _action(world, item, due_in_days=7):
    return services.do_add_meeting_action(
        item=item,
        pillar=cc.Pillar.VICTIM_SAFETY,
        text="Review the safety plan with the victim",
        owner=world.isac_practitioner,
        action_agency=world.agencies["isac"],
        due_on=timezone.localdate() + timedelta(days=due_in_days),
        acting_user=world.police_chair,
    )


def test_open_actions_carry_forward_to_the_next_review(world):
    # given a meeting that agrees two actions, one completed before sign-off
    meeting = start(schedule(world))
    item = meeting.items.get()
    open_action = _action(world, item)
    done = _action(world, item)
    from cases.services import do_update_action

    do_update_action(
        action=done,
        version=done.version,
        agency=world.agencies["isac"],
        acting_user=world.isac_practitioner,
        status=cc.ActionStatus.DONE,
    )
    assert open_action.meeting == meeting.pk
    # and a next review already scheduled
    later = schedule(world, days=30, attendees=())
    later.items.all().delete()
    meeting.refresh_from_db()
    # when the meeting is signed off
    services.do_sign_off(meeting=meeting, version=meeting.version, acting_user=world.police_chair)
    # then the case is on the next review's agenda, carried forward, with only the open action
    carried_item = later.items.get(case=world.case)
    assert carried_item.reason == AgendaReason.CARRIED_FORWARD
    assert [a.pk for a in services.carried_forward_actions(carried_item)] == [open_action.pk]
    # and a review scheduled afterwards proposes it too
    Case.objects.filter(pk=world.case.pk).update(status=cc.CaseStatus.ACTIVE, next_review_on=None)
    third = schedule(world, days=60, attendees=())
    assert third.items.get(case=world.case).reason == AgendaReason.CARRIED_FORWARD


def test_overdue_actions_notify_owner_and_chair(world, django_capture_on_commit_callbacks, monkeypatch):
    # given an action agreed at a meeting, now overdue
    meeting = start(schedule(world))
    action = _action(world, meeting.items.get(), due_in_days=1)
    sent = []
    monkeypatch.setattr("core.events._send", lambda group, payload: sent.append((group, payload)))
    # when the command runs two days later
    with django_capture_on_commit_callbacks(execute=True):
        call_command("notify_overdue_actions", "--today", str(timezone.localdate() + timedelta(days=2)))
    # then the owner and the chair are told, by ids only, and it is audited
    groups = {g for g, _ in sent}
    assert groups == {f"user.{world.isac_practitioner.pk}", f"user.{world.police_chair.pk}"}
    overdue = [(g, p) for g, p in sent if p["type"] == "action.overdue"]
    assert {g for g, _ in overdue} == groups
    for _group, payload in sent:
        if payload["type"] == "notification.new":  # each also has a new notice (issue 18): no content
            assert payload == {"type": "notification.new"}
            continue
        assert payload["type"] == "action.overdue" and payload["object_id"] == str(action.pk)
        assert "Review the safety plan" not in str(payload)
    event = AuditEvent.objects.filter(op=Op.CONSULT, object_id=str(action.pk)).get()
    assert set(event.recipients) == {"isac_practitioner", "police_chair"}
    assert Action.objects.filter(pk=action.pk).exists()
