"""Retention review: dates from rules and agreements, the agency's queue, retain decisions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent, Op
from cases.models import Case, Note
from cases.services import do_add_note
from core.errors import DomainError
from lifecycle.models import RecordType, RetentionDecision
from lifecycle.retention import add_months, review_queue
from lifecycle.services import do_recompute_retention, do_retain, do_set_retention_rule


def age_case(case: Case, *, days: int, closed: bool = False) -> Case:
    """Move a case's clock back in time (test set-up only)."""
    then = timezone.now() - timedelta(days=days)
    Case.objects.filter(pk=case.pk).update(created_at=then, closed_at=then if closed else None)
    case.refresh_from_db()
    return case


def test_police_cases_default_to_the_mopi_public_protection_cycle(world: Any) -> None:
    # given an open police case made today
    case = world.case

    # when its review date is computed
    review_on = do_recompute_retention(case)

    # then it is ten years on, and stored on the case
    assert review_on == add_months(timezone.localdate(case.created_at), 120)
    assert Case.objects.get(pk=case.pk).retention_review_on == review_on


def test_closed_cases_start_their_clock_at_closure(world: Any) -> None:
    # given a case made 20 years ago but closed 2 years ago, under a 6-year police rule
    do_set_retention_rule(
        agency=world.agencies["police"],
        record_type=RecordType.CASE,
        review_months=72,
        basis="local schedule",
        acting_user=world.police_admin,
    )
    case = age_case(world.case, days=365 * 20)
    closed_at = timezone.now() - timedelta(days=365 * 2)
    Case.objects.filter(pk=case.pk).update(closed_at=closed_at, status="closed")

    # when the date is recomputed
    review_on = do_recompute_retention(case)

    # then it runs from closure, not creation
    assert review_on == add_months(timezone.localdate(closed_at), 72)


def test_a_case_past_its_review_date_appears_in_its_agencys_queue_only(world: Any) -> None:
    # given a police case closed eleven years ago, swept by the retention command
    case = age_case(world.case, days=365 * 11, closed=True)
    call_command("retention_sweep", verbosity=0)

    # when the queues are read
    police_queue = review_queue(world.agencies["police"])
    probation_queue = review_queue(world.agencies["probation"])

    # then it is due for the police, and not listed for probation
    assert [(i.record_type, i.object_id) for i in police_queue if i.is_case] == [(RecordType.CASE, case.pk)]
    assert not [i for i in probation_queue if i.is_case]


def test_retain_moves_the_review_date_and_is_audited(world: Any) -> None:
    # given a case in the police queue
    case = age_case(world.case, days=365 * 11, closed=True)
    do_recompute_retention(case)
    police = world.agencies["police"]
    assert review_queue(police)

    # when the DPO retains it for two more years
    next_review = timezone.localdate() + timedelta(days=730)
    do_retain(
        record_type=RecordType.CASE,
        obj=case,
        reason="Nominal remains a MAPPA category 2 offender; NRAC criteria met.",
        next_review_on=next_review,
        acting_user=world.police_dpo,
        agency=police,
    )

    # then the case leaves the queue with its new date, even after a sweep
    do_recompute_retention(case)
    assert Case.objects.get(pk=case.pk).retention_review_on == next_review
    assert not [i for i in review_queue(police) if i.is_case]
    event = AuditEvent.objects.filter(op=Op.RETENTION, case_id=case.pk, detail__decision="retain").get()
    assert event.actor_id == world.police_dpo.pk


def test_retain_needs_a_future_date_and_a_reason(world: Any) -> None:
    case = world.case
    for reason, when, field in (
        ("still needed", timezone.localdate(), "next_review_on"),
        ("still needed", timezone.localdate() - timedelta(days=1), "next_review_on"),
        ("still needed", None, "next_review_on"),
        ("  ", timezone.localdate() + timedelta(days=30), "reason"),
    ):
        with pytest.raises(DomainError) as refused:
            do_retain(
                record_type=RecordType.CASE,
                obj=case,
                reason=reason,
                next_review_on=when,
                acting_user=world.police_dpo,
                agency=world.agencies["police"],
            )
        assert refused.value.field == field
    assert not RetentionDecision.objects.exists()


def test_partner_contributions_are_bounded_by_the_agreement(world: Any) -> None:
    # given a health note written 7 years ago on the police case; health's own rule says 10 years,
    # but the agreement keeps partner contributions 6 years (the stricter wins)
    do_set_retention_rule(
        agency=world.agencies["health"],
        record_type=RecordType.NOTE,
        review_months=120,
        basis="NHS records code",
        acting_user=world.health_admin,
    )
    note = do_add_note(
        case=world.case,
        agency=world.agencies["health"],
        acting_user=world.health_practitioner,
        body="Clinic attendance",
        category="C6",
    )
    Note.objects.filter(pk=note.pk).update(created_at=timezone.now() - timedelta(days=365 * 7))

    # when health's queue is read
    queue = review_queue(world.agencies["health"])

    # then the note is due, under the 72-month agreement bound; the police queue does not list it
    due = [i for i in queue if i.object_id == note.pk]
    assert len(due) == 1 and due[0].months == 72
    assert not [i for i in review_queue(world.agencies["police"]) if i.object_id == note.pk]

    # and retaining it takes it off the queue
    do_retain(
        record_type=RecordType.NOTE,
        obj=note,
        reason="Treatment continuing",
        next_review_on=timezone.localdate() + timedelta(days=365),
        acting_user=world.health_dpo,
        agency=world.agencies["health"],
    )
    assert not [i for i in review_queue(world.agencies["health"]) if i.object_id == note.pk]


def test_the_queue_reads_in_a_constant_number_of_queries(
    world: Any, django_assert_max_num_queries: Any
) -> None:
    from tests.world import make_case

    for index in range(3):
        age_case(make_case(world, family=f"Q{index}"), days=365 * 11, closed=True)
    call_command("retention_sweep", verbosity=0)
    with django_assert_max_num_queries(16):
        assert len([i for i in review_queue(world.agencies["police"]) if i.is_case]) == 3
