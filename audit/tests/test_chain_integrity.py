"""The audit log is append-only in the database, and audit_verify finds any edit made around that."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit import services
from audit.models import AuditCheckpoint, AuditEvent, AuditPending, AuditSeal, AuditVerification
from audit.services import make_checkpoint, seal_pending, verify_chain

from .conftest import make_events


def run_verify() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", "--no-progress", stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), err.getvalue()
    return 0, out.getvalue()


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def seq_of(event_id: int) -> int:
    return AuditSeal.objects.get(event_id=event_id).seq


# --- append-only ----------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_auditevent SET justification = 'x'", "DELETE FROM audit_auditevent"],
)
def test_update_and_delete_of_audit_events_are_refused(statement: str) -> None:
    # given a recorded event
    make_events(1)
    # when anyone updates or deletes audit rows / then the database refuses
    with pytest.raises(DatabaseError), transaction.atomic():
        sql(statement)
    assert AuditEvent.objects.filter(justification="lead agency #0").count() == 1


@pytest.mark.django_db
@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET justification = 'x'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
        "UPDATE audit_auditseal SET hash = 'x'",
        "TRUNCATE audit_auditseal",
    ],
)
def test_postgres_refuses_update_delete_and_truncate(statement: str) -> None:
    # given sealed events
    make_events(2)
    seal_pending()
    # when a statement would rewrite history / then PostgreSQL refuses it
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql(statement)
    assert AuditEvent.objects.count() == 2


# --- verification ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_an_untouched_chain_verifies_with_exit_zero_and_records_the_run() -> None:
    # given events sealed and checkpointed, and more still pending
    make_events(5)
    checkpoint = make_checkpoint()
    make_events(2)
    # when audit_verify runs
    code, output = run_verify()
    # then it passes, counts what it checked, and the chain-status page can show the run
    assert code == 0, output
    assert "5 event(s) verified against 1 checkpoint(s); 2 awaiting sealing" in output
    assert checkpoint is not None and checkpoint.tree_size == 5
    assert AuditVerification.objects.get().ok is True


@pytest.mark.django_db
def test_a_changed_event_is_named_by_its_sequence_number(tamper) -> None:
    # given a sealed chain of five
    events = make_events(5)
    seal_pending()
    # when a superuser edits the third event behind the triggers' back
    with tamper():
        sql("UPDATE audit_auditevent SET justification = 'nothing to see' WHERE id = %s", [events[2].id])
    # then audit_verify fails naming its sequence number
    code, message = run_verify()
    assert code == 1
    assert f"at sequence {seq_of(events[2].id)}:" in message and "changed" in message


@pytest.mark.django_db
def test_a_deleted_event_is_named_by_its_sequence_number(tamper) -> None:
    events = make_events(5)
    seal_pending()
    doomed = seq_of(events[1].id)
    with tamper():
        sql("DELETE FROM audit_auditevent WHERE id = %s", [events[1].id])
    code, message = run_verify()
    assert code == 1
    assert f"at sequence {doomed}:" in message and "deleted" in message


@pytest.mark.django_db
def test_a_deleted_event_and_its_seal_are_found_as_a_gap(tamper) -> None:
    events = make_events(5)
    seal_pending()
    doomed = seq_of(events[3].id)
    with tamper():
        sql("DELETE FROM audit_auditseal WHERE event_id = %s", [events[3].id])
        sql("DELETE FROM audit_auditevent WHERE id = %s", [events[3].id])
    code, message = run_verify()
    assert code == 1
    assert f"at sequence {doomed}:" in message and "missing" in message


@pytest.mark.django_db
def test_an_inserted_event_is_found_after_the_sequence_it_follows(tamper) -> None:
    # given a sealed chain of four
    events = make_events(4)
    seal_pending()
    # when a superuser slips in a forged consultation (no seal, not queued for sealing)
    with tamper():
        forged: dict[str, Any] = dict(AuditEvent.objects.filter(pk=events[0].pk).values().get())
        forged.update(id=events[-1].id + 50, justification="forged consultation")
        AuditEvent.objects.bulk_create([AuditEvent(**forged)])
    # then audit_verify names the position where it was inserted
    code, message = run_verify()
    assert code == 1
    assert f"Event id {events[-1].id + 50} is in no chain position: inserted after sequence 4" in message
    assert "at sequence 5:" in message


@pytest.mark.django_db
def test_reordered_events_are_named_by_the_first_sequence_number(tamper) -> None:
    # given a sealed chain
    events = make_events(5)
    seal_pending()
    first, second = events[1].id, events[3].id
    # when a superuser swaps two events' positions (their ids)
    with tamper():
        sql("UPDATE audit_auditevent SET id = -1 WHERE id = %s", [first])
        sql("UPDATE audit_auditevent SET id = %s WHERE id = %s", [first, second])
        sql("UPDATE audit_auditevent SET id = %s WHERE id = -1", [second])
    # then the first of the two is named
    code, message = run_verify()
    assert code == 1
    assert f"at sequence {seq_of(first)}:" in message and "reordered" in message


@pytest.mark.django_db
def test_a_rewritten_chain_is_caught_by_the_signed_checkpoint(tamper) -> None:
    # given a checkpointed chain
    events = make_events(3)
    make_checkpoint()
    # when a superuser edits an event AND recomputes every hash after it
    with tamper():
        sql("UPDATE audit_auditevent SET justification = 'rewritten' WHERE id = %s", [events[0].id])
        prev = "0" * 64
        for seal in AuditSeal.objects.order_by("seq"):
            event = AuditEvent.objects.filter(pk=seal.event_id).values(*services.EVENT_FIELDS).get()
            digest = services.chain_hash(prev, services.canonical(event, seal.seq))
            sql(
                "UPDATE audit_auditseal SET prev_hash = %s, hash = %s WHERE seq = %s",
                [prev, digest, seal.seq],
            )
            prev = digest
    # then the checkpoint (signed outside the database) gives it away
    result = verify_chain()
    assert result.ok is False
    assert result.first_bad_seq == 3 and "checkpoint" in result.message


@pytest.mark.django_db
def test_a_truncated_tail_is_caught_by_the_checkpoint(tamper) -> None:
    events = make_events(4)
    make_checkpoint()
    with tamper():
        sql("DELETE FROM audit_auditseal WHERE event_id = %s", [events[3].id])
        sql("DELETE FROM audit_auditevent WHERE id = %s", [events[3].id])
    result = verify_chain()
    assert result.ok is False and result.first_bad_seq == 4


@pytest.mark.django_db
def test_a_forged_checkpoint_fails_verification(tamper) -> None:
    make_events(2)
    checkpoint = make_checkpoint()
    assert checkpoint is not None
    with tamper():
        forged = checkpoint.note.replace(checkpoint.head_hash, "f" * 64)
        sql("UPDATE audit_auditcheckpoint SET note = %s, head_hash = %s", [forged, "f" * 64])
    result = verify_chain()
    assert result.ok is False and "signature" in result.message


# --- sealing --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_sealer_killed_mid_batch_leaves_nothing_half_sealed_and_resumes(monkeypatch) -> None:
    # given pending events
    make_events(7)

    # when the sealer dies after writing seals but before finishing its batch
    def die(ids: list[int]) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(services, "_consume_pending", die)
    with pytest.raises(RuntimeError):
        seal_pending(batch_size=5)
    # then the batch was rolled back whole
    assert AuditSeal.objects.count() == 0 and AuditPending.objects.count() == 7
    # and a restarted sealer chains everything exactly once
    monkeypatch.undo()
    assert seal_pending(batch_size=5) == 7
    assert AuditPending.objects.count() == 0
    assert sorted(AuditSeal.objects.values_list("event_id", flat=True)) == sorted(
        AuditEvent.objects.values_list("id", flat=True)
    )
    assert verify_chain().ok


@pytest.mark.django_db
def test_audit_checkpoint_command_writes_the_signed_note_outside_the_database(settings) -> None:
    make_events(3)
    out = io.StringIO()
    call_command("audit_checkpoint", stdout=out)
    checkpoint = AuditCheckpoint.objects.get()
    written = settings.CONVENE_CHECKPOINT_DIR / "checkpoint-000000000003.note"
    assert written.read_text() == checkpoint.note
    assert "Checkpoint at tree size 3" in out.getvalue()


@pytest.mark.django_db
def test_audit_sealer_once_seals_and_checkpoints() -> None:
    make_events(3)
    out = io.StringIO()
    call_command("audit_sealer", "--once", stdout=out)
    assert "Sealed 3 event(s); checkpoint at tree size 3." in out.getvalue()


@pytest.mark.django_db
def test_awkward_values_seal_and_verify_identically_on_every_backend() -> None:
    # given events whose strings need JSON escaping, non-ASCII text, IPv6 and empty optional fields
    from core import context

    token = context.set_current(context.RequestContext(request_id='r"\\\t\x01', client_ip="2001:db8::7"))
    try:
        make_events(1, username="")
        services.record_event(
            "consult",
            username='o\'brien "q" \\ \n\r\t\x07 — ünï 😀 \u2028',
            object_id="</script>",
            categories=["C10", "C2"],
            recipients=['a, "b"', "ç"],
            detail={"z": [1, 2.5, None, True], "a": {"ü": "\x1f"}},
        )
    finally:
        context.reset(token)
    # when sealed by the ORM path and verified by the database's own encoding (on PostgreSQL)
    seal_pending()
    # then both agree byte for byte
    result = verify_chain()
    assert result.ok, result.message
