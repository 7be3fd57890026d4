"""The do_* services of the case record: validation by field, audit in the same transaction,
version checks and the plan's optimistic versioning."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import models
from django.utils import timezone

from audit.models import AuditEvent, Op
from cases import choices as c
from cases import services as s
from cases.models import Case
from core.errors import ConflictError, DomainError

SDASH_ALL_NO = {key: False for key, _ in c.SDASH_QUESTIONS}


def _police(world):
    return world.agencies["police"]


def _events(obj, op):
    return AuditEvent.objects.filter(object_id=str(obj.pk), op=op)


def test_update_case_header_audits_and_bumps_version(world):
    # given the owner holds the case at its current version
    case = world.case
    version = case.version
    # when they move it to MAPPA level 3
    s.do_update_case(
        case=case,
        version=version,
        agency=_police(world),
        acting_user=world.police_practitioner,
        changes={"mappa_level": 3},
    )
    # then the change is stored, the version moves on and one ALTER event names the field, not the value
    case.refresh_from_db()
    assert case.mappa_level == 3 and case.version == version + 1
    event = _events(case, Op.ALTER).get()
    assert event.detail == {"fields": ["mappa_level"]} and event.categories == ["C2"]


def test_update_case_on_stale_version_is_a_conflict_naming_who(world):
    # given the chair changed the case after the practitioner opened it
    case = world.case
    opened = case.version
    s.do_update_case(
        case=case,
        version=opened,
        agency=_police(world),
        acting_user=world.police_chair,
        changes={"mappa_level": 3},
    )
    # when the practitioner saves on the old version
    with pytest.raises(ConflictError) as err:
        s.do_update_case(
            case=Case.objects.get(pk=case.pk),
            version=opened,
            agency=_police(world),
            acting_user=world.police_practitioner,
            changes={"mappa_level": 1},
        )
    # then nothing is overwritten and the message names the chair
    assert "police_chair" in str(err.value)
    assert Case.objects.get(pk=case.pk).mappa_level == 3


@pytest.mark.parametrize("level", [0, 4])
def test_mappa_level_outside_one_to_three_is_refused(world, level):
    with pytest.raises(DomainError) as err:
        s.do_update_case(
            case=world.case,
            version=world.case.version,
            agency=_police(world),
            acting_user=world.police_practitioner,
            changes={"mappa_level": level},
        )
    assert err.value.field == "mappa_level"


def test_status_follows_allowed_transitions_and_closing_needs_a_reason(world):
    case, police, user = world.case, _police(world), world.police_practitioner
    # a referred case cannot jump to active
    with pytest.raises(DomainError) as err:
        s.do_change_case_status(case=case, to="active", version=case.version, agency=police, acting_user=user)
    assert err.value.field == "status"
    s.do_change_case_status(case=case, to="screening", version=case.version, agency=police, acting_user=user)
    s.do_change_case_status(case=case, to="active", version=case.version, agency=police, acting_user=user)
    # closing without a reason is refused, with one it sets closed_at
    with pytest.raises(DomainError) as err:
        s.do_change_case_status(case=case, to="closed", version=case.version, agency=police, acting_user=user)
    assert err.value.field == "closure_reason"
    s.do_change_case_status(
        case=case,
        to="closed",
        version=case.version,
        agency=police,
        acting_user=user,
        closure_reason="risk_reduced",
        closure_note="No contact for six months.",
    )
    case.refresh_from_db()
    assert (
        case.status == "closed"
        and case.closed_at is not None
        and case.closure_note == "No contact for six months."
    )


def test_nominal_update_validates_identifiers_and_reindexes(world):
    case, police, user = world.case, _police(world), world.police_practitioner
    nominal = case.nominal
    bad = s.NominalInput(given_name="Daniel", family_name="Marsh", pnc_id="12/3456789A")
    with pytest.raises(DomainError) as err:
        s.do_update_nominal(
            nominal=nominal, case=case, version=nominal.version, agency=police, acting_user=user, data=bad
        )
    assert err.value.field == "pnc_id"
    future = s.NominalInput(
        given_name="Daniel", family_name="Marsh", date_of_birth=timezone.localdate() + timedelta(1)
    )
    with pytest.raises(DomainError) as err:
        s.do_update_nominal(
            nominal=nominal, case=case, version=nominal.version, agency=police, acting_user=user, data=future
        )
    assert err.value.field == "date_of_birth"
    from cases.identifiers import pnc_with_check

    pnc = pnc_with_check("86", "123456")
    good = s.NominalInput(
        given_name="Daniel",
        family_name="Marsh",
        date_of_birth=date(1986, 4, 12),
        pnc_id=pnc,
        aliases=(("Dan", "M"),),
    )
    s.do_update_nominal(
        nominal=nominal, case=case, version=nominal.version, agency=police, acting_user=user, data=good
    )
    assert s.find_duplicate_nominals(s.NominalInput(given_name="x", family_name="y", pnc_id=pnc)) == [nominal]
    assert nominal.aliases == ["Dan M"]


def test_victim_update_and_screening(world):
    case, police, user = world.case, _police(world), world.police_practitioner
    victim = case.victims.get()
    s.do_update_victim(
        victim=victim,
        version=victim.version,
        agency=police,
        acting_user=user,
        changes={"routines": "Swims Fridays"},
    )
    victim.refresh_from_db()
    assert victim.routines == "Swims Fridays" and victim.version == 2
    with pytest.raises(ConflictError):
        s.do_update_victim(
            victim=victim, version=1, agency=police, acting_user=user, changes={"area": "North"}
        )
    referral = case.referral
    with pytest.raises(DomainError) as err:
        s.do_record_screening(
            referral=referral,
            version=referral.version,
            agency=police,
            acting_user=user,
            outcome="advice_only",
        )
    assert err.value.field == "advice_given"
    s.do_record_screening(
        referral=referral, version=referral.version, agency=police, acting_user=user, outcome="accepted"
    )
    assert case.referral.outcome == "accepted"


def test_sdash_counts_yes_answers_and_newest_assessment_sets_case_risk(world):
    case, police, user = world.case, _police(world), world.police_practitioner
    answers = dict(SDASH_ALL_NO, q1_frightened=True, q6_threats=True, q11_past_violence=True)
    # an unanswered question is refused, named
    incomplete = dict(answers)
    incomplete.pop("q4_visits")
    with pytest.raises(DomainError) as err:
        s.do_record_assessment(
            case=case,
            agency=police,
            acting_user=user,
            data=s.AssessmentInput(tool="sdash", level="high", answers=incomplete),
        )
    assert err.value.field == "answers.q4_visits"
    old = s.do_record_assessment(
        case=case,
        agency=police,
        acting_user=user,
        data=s.AssessmentInput(
            tool="sdash", level="high", answers=answers, assessed_on=timezone.localdate() - timedelta(30)
        ),
    )
    assert old.yes_count == 3 and old.risk_level == "high"
    s.do_record_assessment(
        case=case,
        agency=police,
        acting_user=user,
        data=s.AssessmentInput(
            tool="srp",
            srp_type="rejected",
            srp_domains={
                "violence": "low",
                "persistence": "moderate",
                "recurrence": "low",
                "psychosocial_damage": "low",
            },
        ),
    )
    case.refresh_from_db()
    assert case.risk_level == "medium"
    assert case.assessments.count() == 2  # history kept
    with pytest.raises(DomainError) as err:
        s.do_record_assessment(
            case=case, agency=police, acting_user=user, data=s.AssessmentInput(tool="oasys", level="extreme")
        )
    assert err.value.field == "level"


def _spo(**over):
    today = timezone.localdate()
    values = {
        "order_type": "spo",
        "legal_basis": "Stalking Protection Act 2019 s1",
        "made_on": today - timedelta(days=10),
        "served_on": today - timedelta(days=9),
        "starts_on": today - timedelta(days=9),
        "until_further_order": True,
    }
    values.update(over)
    return values


def test_orders_validate_dates_and_spo_rules(world):
    case, police, user = world.case, _police(world), world.police_practitioner
    today = timezone.localdate()
    with pytest.raises(DomainError) as err:
        s.do_add_order(
            case=case,
            agency=police,
            acting_user=user,
            values=_spo(until_further_order=False, ends_on=today - timedelta(days=20)),
        )
    assert err.value.field == "ends_on"
    with pytest.raises(DomainError) as err:
        s.do_add_order(
            case=case, agency=police, acting_user=user, values=_spo(ends_on=today + timedelta(days=800))
        )
    assert err.value.field == "ends_on"  # until further order excludes an end date
    with pytest.raises(DomainError) as err:
        s.do_add_order(
            case=case,
            agency=police,
            acting_user=user,
            values=_spo(until_further_order=False, ends_on=today + timedelta(days=300)),
        )
    assert err.value.field == "ends_on"  # a full SPO lasts at least two years
    order = s.do_add_order(case=case, agency=police, acting_user=user, values=_spo())
    assert order.served_on is not None
    assert order.notification_due_on == order.served_on + timedelta(days=3)
    # interim SPO may be short
    interim = s.do_add_order(
        case=case,
        agency=police,
        acting_user=user,
        values=_spo(order_type="interim_spo", until_further_order=False, ends_on=today + timedelta(days=60)),
    )
    assert interim.notification_due_on is not None
    s.do_update_order(
        order=order,
        version=order.version,
        agency=police,
        acting_user=user,
        changes={"notification_met_on": today},
    )
    with pytest.raises(ConflictError):
        s.do_update_order(
            order=order, version=1, agency=police, acting_user=user, changes={"court": "Northtown"}
        )
    s.do_add_condition(
        order=order, agency=police, acting_user=user, kind="prohibition", text="Must not contact the victim"
    )
    with pytest.raises(DomainError) as err:
        s.do_add_condition(order=order, agency=police, acting_user=user, kind="prohibition", text=" ")
    assert err.value.field == "text"
    breach = s.do_record_breach(
        order=order,
        agency=police,
        acting_user=user,
        occurred_on=today - timedelta(days=2),
        reported_by="Victim",
        description="Sent messages",
    )
    assert breach.description == "Sent messages"
    s.do_add_order_event(
        order=order,
        agency=police,
        acting_user=user,
        kind="variation",
        occurred_on=today,
        details="Zone widened",
    )
    order.refresh_from_db()
    assert order.status == "varied"
    assert set(
        AuditEvent.objects.filter(case_id=case.pk, op=Op.COLLECT).values_list("object_type", flat=True)
    ) >= {
        "cases.Order",
        "cases.Condition",
        "cases.Breach",
        "cases.OrderEvent",
    }


def test_two_editors_changing_the_same_plan(world):
    case, police = world.case, _police(world)
    items = {"supervision": [{"text": "Weekly reporting", "agency": "probation"}]}
    v1 = s.do_save_plan(
        case=case, base_number=0, agency=police, acting_user=world.police_practitioner, items=items
    )
    assert v1.number == 1
    # given two editors both opened version 1
    # when the chair saves first
    v2 = s.do_save_plan(
        case=case,
        base_number=1,
        agency=police,
        acting_user=world.police_chair,
        items={**items, "victim_safety": ["Panic alarm fitted"]},
        contingency="Arrest on sight if seen near the victim's home.",
    )
    # then the practitioner's save on version 1 is refused, naming the chair, and nothing is lost
    with pytest.raises(ConflictError) as err:
        s.do_save_plan(
            case=case, base_number=1, agency=police, acting_user=world.police_practitioner, items=items
        )
    assert "police_chair" in str(err.value)
    assert list(case.plans.values_list("number", flat=True)) == [2, 1]
    assert case.plans.get(number=2).items["victim_safety"] == [{"text": "Panic alarm fitted", "agency": ""}]
    assert v2.contingency is not None and v2.contingency.startswith("Arrest")
    with pytest.raises(DomainError) as refused:
        s.do_save_plan(
            case=case, base_number=2, agency=police, acting_user=world.police_chair, items={"bogus": []}
        )
    assert refused.value.field == "items"


def test_actions_and_updates(world):
    case, police, user = world.case, _police(world), world.police_practitioner
    probation = world.agencies["probation"]
    with pytest.raises(DomainError) as err:
        s.do_add_action(
            case=case,
            agency=police,
            acting_user=user,
            pillar="supervision",
            text="Home visit",
            owner=user,
            action_agency=probation,
            due_on=timezone.localdate(),
        )
    assert err.value.field == "owner"
    action = s.do_add_action(
        case=case,
        agency=police,
        acting_user=user,
        pillar="supervision",
        text="Home visit",
        owner=world.probation_practitioner,
        action_agency=probation,
        due_on=timezone.localdate(),
    )
    s.do_add_action_update(action=action, agency=police, acting_user=user, text="Visit booked")
    s.do_update_action(action=action, version=action.version, agency=police, acting_user=user, status="done")
    action.refresh_from_db()
    assert action.status == "done" and action.completed_at is not None
    with pytest.raises(ConflictError):
        s.do_update_action(action=action, version=1, agency=police, acting_user=user, status="open")
    assert action.updates.get().text == "Visit booked"


def test_every_change_bumps_the_case_version_and_broadcasts_ids_only(world, monkeypatch):
    sent = []
    monkeypatch.setattr(s, "send_on_commit", lambda group, payload: sent.append(payload))
    case = world.case
    before = Case.objects.get(pk=case.pk).version
    s.do_add_note(
        case=case,
        agency=_police(world),
        acting_user=world.police_practitioner,
        body="Seen outside",
        category="C2",
    )
    assert Case.objects.get(pk=case.pk).version == before + 1
    assert sent and set(sent[-1]) <= {"type", "case_id", "version", "kind", "object_id"}


def test_list_headers_label_every_choice_as_django_does(world):
    # given the world's case set to each status, risk level and closure reason in turn
    from cases.models import Case
    from cases.reading import case_header

    case = Case.objects.select_related("lead_agency", "owner").get(pk=world.case.pk)
    for field in ("status", "risk_level", "closure_reason", "forum", "mappa_level"):
        column = Case._meta.get_field(field)
        assert isinstance(column, models.Field)
        for value, _ in column.flatchoices:
            setattr(case, field, value)
            # then the header's label is exactly what the model's get_FOO_display gives
            assert case_header(case)[f"{field}_display"] == str(getattr(case, f"get_{field}_display")())
    case.mappa_level = None
    assert case_header(case)["mappa_level_display"] == str(case.get_mappa_level_display())
