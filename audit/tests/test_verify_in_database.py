"""verify_chain on PostgreSQL checks the chain in the database, range by range, and reports exactly
what the Python walk would: the same messages and first bad sequence numbers, never a false alarm."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from audit import services
from audit.models import AuditSeal
from audit.services import make_checkpoint, seal_pending, verify_chain

from .conftest import make_events

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def seq_of(event_id: int) -> int:
    return AuditSeal.objects.get(event_id=event_id).seq


def event_at(seq: int) -> int:
    return AuditSeal.objects.get(seq=seq).event_id


def canonical_in_sql(value: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT convene_audit_json(%s::jsonb)", [value])
        return cursor.fetchone()[0]


AWKWARD_DETAIL: dict[str, Any] = {
    "small": 1e-05,
    "large": 1.5e20,
    "ints": [0, -7, 12345678901234567890],
    "nested": {"zeta": {"é": "ü\x01\x1f", "\u2028": ["\t", '"', "\\"]}, "Zeta": [], "ä": {}},
    "\x02key": "value, with: separators",
    "emoji 😀": None,
}


def test_the_sql_encoder_sorts_keys_by_code_point_and_drops_separator_spaces() -> None:
    # given jsonb with keys in jsonb's own order (shorter first) and strings holding ", " and ": "
    raw = '{"bb": {"b": 1, "a": [true, null]}, "c": "x, y: z", "é": "\\"\\u0001", "A": []}'
    # then the SQL text is what Python's canonical encoder writes
    assert canonical_in_sql(raw) == '{"A":[],"bb":{"a":[true,null],"b":1},"c":"x, y: z","é":"\\"\\u0001"}'
    assert canonical_in_sql('["a\\", ", "b: c"]') == '["a\\", ","b: c"]'
    assert canonical_in_sql("[]") == "[]" and canonical_in_sql("{}") == "{}"


def test_floats_and_awkward_nested_keys_verify_intact(monkeypatch) -> None:
    # given events whose detail holds floats PostgreSQL prints differently (1e-05, 1.5e+20) and
    # nested objects with non-ASCII and control-character keys and values
    make_events(2)
    services.record_event(
        "consult", categories=["C2", "C10"], recipients=["ç", 'a, "b"'], detail=AWKWARD_DETAIL
    )
    make_events(2)
    seal_pending()
    rechecked: list[tuple[int, bool]] = []
    python_agrees = services._python_agrees

    def spy(seq: int, *args: Any) -> bool:
        rechecked.append((seq, python_agrees(seq, *args)))
        return rechecked[-1][1]

    monkeypatch.setattr(services, "_python_agrees", spy)
    # when verified in the database
    result = verify_chain(chunk=2)
    # then the chain is intact: the awkward row failed the SQL check and the Python encoder cleared it
    assert result.ok, result.message
    assert result.verified == 5
    assert rechecked == [(3, True)]


def test_a_float_row_that_was_really_changed_is_still_reported(tamper) -> None:
    # given a sealed event with a float PostgreSQL prints differently
    make_events(1)
    event = services.record_event("consult", detail={"small": 1e-05})
    make_events(1)
    seal_pending()
    # when its detail is changed behind the triggers' back
    with tamper():
        sql("""UPDATE audit_auditevent SET detail = '{"small": 2e-05}' WHERE id = %s""", [event.id])
    # then the Python re-check confirms the SQL verdict
    result = verify_chain(chunk=2)
    assert result.ok is False
    assert result.first_bad_seq == 2 and "changed" in result.message


@pytest.mark.parametrize("doomed", [5, 6, 7], ids=["last-of-a-range", "first-of-a-range", "middle"])
def test_a_change_anywhere_in_a_multi_range_chain_is_named(tamper, doomed: int) -> None:
    # given a chain of twelve checked five seals per query
    make_events(12)
    seal_pending()
    # when one event is edited
    with tamper():
        sql("UPDATE audit_auditevent SET justification = 'x' WHERE id = %s", [event_at(doomed)])
    # then that sequence number is named, with what was verified before it
    result = verify_chain(chunk=5)
    assert (result.ok, result.first_bad_seq, result.verified) == (False, doomed, doomed - 1)
    assert result.message == f"Event at sequence {doomed} was changed, inserted or reordered."


@pytest.mark.parametrize("doomed", [5, 6, 8])
def test_a_missing_seal_at_or_across_a_range_edge_is_named(tamper, doomed: int) -> None:
    # given a chain of twelve checked five seals per query (ranges 1-5, 6-10, 11-12)
    make_events(12)
    seal_pending()
    # when seals are removed from doomed up to 10 (so a whole range can be empty after the gap)
    with tamper():
        sql("DELETE FROM audit_auditseal WHERE seq BETWEEN %s AND 10", [doomed])
    result = verify_chain(chunk=5)
    assert (result.ok, result.first_bad_seq) == (False, doomed)
    assert result.message == f"Sequence {doomed} is missing."


def test_a_relinked_seal_at_a_range_edge_is_found_by_continuity(tamper) -> None:
    # given a chain of ten checked five per query
    make_events(10)
    seal_pending()
    # when the first seal of the second range claims a different predecessor
    with tamper():
        sql("UPDATE audit_auditseal SET prev_hash = %s WHERE seq = 6", ["f" * 64])
    result = verify_chain(chunk=5)
    assert (result.ok, result.first_bad_seq) == (False, 6) and "changed" in result.message


def test_a_garbage_hash_does_not_break_the_query(tamper) -> None:
    make_events(6)
    seal_pending()
    with tamper():
        sql("UPDATE audit_auditseal SET hash = 'not hex' WHERE seq = 3")
    result = verify_chain(chunk=2)
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_a_checkpoint_inside_a_later_range_is_compared(tamper) -> None:
    # given a checkpoint at 7 of a chain checked three per query
    make_events(7)
    make_checkpoint()
    make_events(2)
    seal_pending()
    # when the chain up to the checkpoint is rewritten consistently (every hash recomputed)
    with tamper():
        sql("UPDATE audit_auditevent SET justification = 'rewritten' WHERE id = %s", [event_at(1)])
        prev = "0" * 64
        for seal in AuditSeal.objects.order_by("seq"):
            event = services.AuditEvent.objects.filter(pk=seal.event_id).values(*services.EVENT_FIELDS).get()
            digest = services.chain_hash(prev, services.canonical(event, seal.seq))
            sql(
                "UPDATE audit_auditseal SET prev_hash = %s, hash = %s WHERE seq = %s",
                [prev, digest, seal.seq],
            )
            prev = digest
    # then the checkpoint gives it away at its own sequence number
    result = verify_chain(chunk=3)
    assert (result.ok, result.first_bad_seq) == (False, 7) and "checkpoint" in result.message


def test_progress_is_reported_per_range_and_adds_up() -> None:
    make_events(11)
    seal_pending()
    seen: list[int] = []
    result = verify_chain(progress=seen.append, chunk=4)
    assert result.ok and seen == [4, 4, 3]


@pytest.mark.django_db(transaction=True)
def test_parallel_workers_on_their_own_connections_find_the_same_first_failure(tamper) -> None:
    # given a committed chain (other connections can see it) with two edits in different ranges
    make_events(20)
    seal_pending()
    assert verify_chain(chunk=3, workers=3).ok
    with tamper():
        sql(
            "UPDATE audit_auditevent SET justification = 'x' WHERE id IN (%s, %s)",
            [event_at(8), event_at(17)],
        )
    # when checked by three workers, three seals per query
    result = verify_chain(chunk=3, workers=3)
    # then the first edit is named
    assert (result.ok, result.first_bad_seq) == (False, 8)


def test_an_altered_sql_encoder_is_not_trusted(tamper, monkeypatch) -> None:
    # given an edited event, and a superuser who also swapped the database's canonical JSON function
    events = make_events(3)
    seal_pending()
    with tamper():
        sql("UPDATE audit_auditevent SET justification = 'x' WHERE id = %s", [events[1].id])
    sql(
        "CREATE OR REPLACE FUNCTION convene_audit_json(value jsonb) RETURNS text "
        "LANGUAGE sql IMMUTABLE AS $$ SELECT value::text $$"
    )

    # then verification encodes in Python instead (no range is checked in SQL), and names the edit
    def no_sql(*args: Any) -> None:
        raise AssertionError("the altered function was used")

    monkeypatch.setattr(services, "_check_range", no_sql)
    result = verify_chain()
    assert (result.ok, result.first_bad_seq) == (False, seq_of(events[1].id))


def test_a_same_named_function_in_another_schema_cannot_stand_in_for_a_builtin(monkeypatch) -> None:
    # given a schema first on the role's search path, holding a sha256() that would answer anything
    make_events(4)
    seal_pending()
    sql("CREATE SCHEMA shadow")
    sql("CREATE FUNCTION shadow.sha256(bytea) RETURNS bytea LANGUAGE sql AS $$ SELECT '\\x00'::bytea $$")
    sql("SET search_path = public, shadow, pg_catalog")
    rechecked: list[int] = []
    python_agrees = services._python_agrees

    def spy(seq: int, *args: Any) -> bool:
        rechecked.append(seq)
        return python_agrees(seq, *args)

    monkeypatch.setattr(services, "_python_agrees", spy)
    # when the chain is verified in the database
    result = verify_chain(chunk=2)
    # then PostgreSQL's own sha256 did the hashing: every row passed in SQL, none needed Python
    assert result.ok, result.message
    assert result.verified == 4
    assert rechecked == []


def test_a_second_verification_in_the_same_transaction_still_checks_in_the_database(monkeypatch) -> None:
    # given a verification already run in this transaction (it pins search_path with pg_catalog first)
    make_events(3)
    seal_pending()
    assert verify_chain(chunk=2).ok
    ranges: list[int] = []
    check_range = services._check_range

    def spy(low: int, high: int, checkpoint_seqs: list[int]) -> Any:
        ranges.append(low)
        return check_range(low, high, checkpoint_seqs)

    monkeypatch.setattr(services, "_check_range", spy)
    # when verified again
    result = verify_chain(chunk=2)
    # then the database's encoder is still recognised as ours and the check runs in the database
    assert result.ok and ranges == [1, 3]
