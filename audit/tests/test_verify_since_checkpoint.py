"""The nightly verification checks only what is new since the newest signed checkpoint that an
intact run covered; the weekly (and on-demand) full run checks everything (issues 18 and 21)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from audit import services
from audit.chain import canonical, chain_hash
from audit.models import AuditEvent, AuditSeal, AuditVerification
from audit.services import make_checkpoint, seal_pending, verify_chain

from .conftest import make_events

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def event_at(seq: int) -> int:
    return AuditSeal.objects.get(seq=seq).event_id


@pytest.fixture
def verified_then_grown() -> int:
    """Twelve events, checkpointed at 8 and verified in full; then five more. Returns the checkpoint."""
    make_events(8)
    checkpoint = make_checkpoint()
    assert checkpoint is not None and checkpoint.tree_size == 8
    make_events(4)
    seal_pending()
    assert verify_chain(chunk=3).ok
    make_events(5)
    seal_pending()
    return checkpoint.tree_size


def test_the_nightly_run_checks_from_the_newest_covered_checkpoint(verified_then_grown, monkeypatch) -> None:
    ranges: list[int] = []
    check_range = services._check_range

    def spy(low: int, high: int, checkpoint_seqs: list[int]) -> Any:
        ranges.append(low)
        return check_range(low, high, checkpoint_seqs)

    monkeypatch.setattr(services, "_check_range", spy)
    result = verify_chain(chunk=3, since_checkpoint=True)
    # then it began at the checkpoint's own seal (re-hashed against the signed head) and went to the end
    assert result.ok, result.message
    assert (result.verified_from, result.verified) == (8, 17)
    assert ranges == [8, 11, 14, 17]
    assert result.message == "The audit chain is intact from sequence 8."
    last = AuditVerification.objects.order_by("-id").first()
    assert last is not None and (last.verified_from_seq, last.verified_through_seq, last.ok) == (8, 17, True)


def test_a_change_after_the_checkpoint_is_found_by_the_nightly_run(verified_then_grown, tamper) -> None:
    with tamper():
        sql("UPDATE audit_auditevent SET justification = 'x' WHERE id = %s", [event_at(14)])
    result = verify_chain(chunk=3, since_checkpoint=True)
    assert (result.ok, result.first_bad_seq) == (False, 14)


def test_a_rewritten_checkpointed_seal_is_found_by_the_nightly_run(verified_then_grown, tamper) -> None:
    # given the event at the checkpoint changed and its seal's hash rewritten to match (what a superuser
    # could do without the signing key): the chain after it still links to the rewritten hash
    with tamper():
        sql("UPDATE audit_auditevent SET justification = 'x' WHERE id = %s", [event_at(8)])
    prev = AuditSeal.objects.get(seq=7).hash
    event = AuditEvent.objects.filter(id=event_at(8)).values(*services.EVENT_FIELDS).get()
    with tamper():
        sql("UPDATE audit_auditseal SET hash = %s WHERE seq = 8", [chain_hash(prev, canonical(event, 8))])
    # then the nightly run names it: the seal no longer matches the signed checkpoint
    result = verify_chain(chunk=3, since_checkpoint=True)
    assert (result.ok, result.first_bad_seq) == (False, 8)


def test_a_change_before_the_checkpoint_waits_for_the_full_run(verified_then_grown, tamper) -> None:
    # given an event before the anchoring checkpoint changed behind the triggers' back
    with tamper():
        sql("UPDATE audit_auditevent SET justification = 'x' WHERE id = %s", [event_at(3)])
    # then the nightly run, by design, does not look there; the full run names it
    assert verify_chain(chunk=3, since_checkpoint=True).ok
    result = verify_chain(chunk=3)
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_after_a_failed_run_the_nightly_run_checks_everything(verified_then_grown, tamper) -> None:
    with tamper():
        sql("UPDATE audit_auditevent SET justification = 'x' WHERE id = %s", [event_at(3)])
    assert not verify_chain(chunk=3).ok
    result = verify_chain(chunk=3, since_checkpoint=True)
    assert (result.ok, result.verified_from, result.first_bad_seq) == (False, 1, 3)


def test_without_an_earlier_intact_run_the_nightly_run_checks_everything() -> None:
    make_events(4)
    make_checkpoint()
    result = verify_chain(chunk=3, since_checkpoint=True)
    assert result.ok and (result.verified_from, result.verified) == (1, 4)
    assert result.message == "The audit chain is intact."
