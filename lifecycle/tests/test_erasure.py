"""Erasure by crypto-shredding: nothing recoverable, audit intact, a certificate that resolves."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.apps import apps
from django.db import connection

from audit.models import AuditEvent, AuditSeal, Op
from audit.services import verify_chain
from cases.models import Case, Nominal, Note, Victim
from core.errors import DomainError
from keystore import keyring
from keystore.crypto import DecryptionError, KeyDestroyedError, decrypt_value, field_aad, token_dek_id
from keystore.fields import encrypted_fields
from lifecycle.certificates import signed_document, verify_document
from lifecycle.models import ErasureCertificate, LegalHold, RecordType
from lifecycle.services import (
    do_erase_case,
    do_erase_contribution,
    do_lift_legal_hold,
    do_set_legal_hold,
)
from sharing import policy
from sharing.models import CaseGroupObjectPermission, CaseShare, Disclosure
from tests.world import make_case

from .factories import fill_case


def column_of(field: Any) -> str:
    """A model field's column (None only for a field not yet added to a model)."""
    assert field is not None and field.column is not None
    return str(field.column)


def raw_dump() -> list[tuple[str, str, str, bytes]]:
    """Every ciphertext in the main database, read with raw SQL: (model label, pk, column, token)."""
    dump = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            fields = encrypted_fields(model)
            if not fields or model._meta.db_table not in connection.introspection.table_names():
                continue
            columns = ", ".join(connection.ops.quote_name(column_of(f)) for f in fields)
            pk = connection.ops.quote_name(column_of(model._meta.pk))
            cursor.execute(f"SELECT {pk}, {columns} FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
            for row in cursor.fetchall():
                for field, value in zip(fields, row[1:], strict=True):
                    if value:
                        dump.append(
                            (model._meta.label, str(uuid.UUID(str(row[0]))), field.attname, bytes(value))
                        )
    return dump


def decrypts(label: str, pk: str, attname: str, token: bytes) -> bool:
    try:
        dek_id = token_dek_id(token)
        decrypt_value(keyring.get_dek(dek_id), token, field_aad(label, pk, attname, dek_id))
    except DecryptionError:
        return False
    return True


def erase(world: Any, case: Case) -> ErasureCertificate:
    return do_erase_case(
        case,
        acting_user=world.police_dpo,
        agency=world.agencies["police"],
        rule=None,
        reason="Retention review: no policing purpose remains.",
    )


def test_erasure_leaves_no_recoverable_plaintext_in_the_live_database(world: Any) -> None:
    # given a case with victims, notes (including a partner's), a disclosure, an order, a plan
    case = world.case
    fill_case(world, case)
    erased_keys = {case.data_key_id, case.nominal.data_key_id}

    # when the police DPO erases it
    erase(world, case)
    keyring.dek_cache.clear()

    # then the plaintext-bearing rows are gone
    assert not Victim.objects.filter(case=case).exists()
    assert not Note.objects.filter(case=case).exists()
    case.refresh_from_db()
    assert case.erased_at is not None
    # and every encrypted column still present is empty or raises KeyDestroyedError
    for label, pk, attname, token in raw_dump():
        dek_id = token_dek_id(token) if len(token) > 17 else None
        if dek_id is not None and dek_id in erased_keys:
            with pytest.raises(KeyDestroyedError):
                keyring.get_dek(dek_id)
            assert not decrypts(label, pk, attname, token)
    disclosure = Disclosure.objects.get(case=case)
    print("DICT", disclosure.__dict__)
    with pytest.raises(DecryptionError):
        _ = disclosure.summary
    nominal = Nominal.objects.get(pk=case.nominal_id)
    assert nominal.name_dob_index is None and nominal.nhs_index is None


def test_a_dump_taken_before_erasure_is_unreadable_once_the_key_is_gone(world: Any) -> None:
    # given a dump of every ciphertext taken before erasure, and a second case that stays
    case = world.case
    fill_case(world, case)
    other = make_case(world, family="Other")
    before = raw_dump()
    mine = [row for row in before if token_dek_id(row[3]) in {case.data_key_id, case.nominal.data_key_id}]
    theirs = [row for row in before if token_dek_id(row[3]) in {other.data_key_id, other.nominal.data_key_id}]
    assert len(mine) >= 15 and theirs
    assert all(decrypts(*row) for row in mine)

    # when the case is erased and the in-process key cache is emptied
    erase(world, case)
    keyring.dek_cache.clear()

    # then not one of the case's dumped ciphertexts decrypts with the remaining key store
    assert not [row for row in mine if decrypts(*row)]
    with pytest.raises(KeyDestroyedError):
        keyring.get_dek(case.data_key_id)
    # and the other case is untouched
    assert all(decrypts(*row) for row in theirs)


def test_erasure_keeps_the_audit_chain_and_the_certificate_resolves_to_the_erase_event(world: Any) -> None:
    # given a filled case
    case = world.case
    fill_case(world, case)
    events_before = AuditEvent.objects.filter(case_id=case.pk).count()

    # when it is erased
    certificate = erase(world, case)

    # then the audit events are all kept and the chain verifies
    assert AuditEvent.objects.filter(case_id=case.pk).count() > events_before
    result = verify_chain()
    assert result.ok, result.message
    # and the certificate's sequence number resolves to the ERASE event for this case
    assert certificate.audit_seq is not None
    seal = AuditSeal.objects.get(seq=certificate.audit_seq)
    event = AuditEvent.objects.get(pk=seal.event_id)
    assert event.op == Op.ERASE
    assert event.case_id == case.pk
    assert event.detail["certificate"] == str(certificate.pk)
    # and it says what was erased
    assert certificate.erased["cases.Victim"] == 1
    assert certificate.erased["cases.Note"] == 2
    assert certificate.erased["cases.Condition"] == 1
    assert certificate.keys_destroyed == [str(case.data_key_id), str(case.nominal.data_key_id)]
    # and the signed document verifies, and fails once altered
    document = signed_document(certificate)
    assert document["certificate"]["audit_seq"] == certificate.audit_seq
    assert verify_document(document)
    document["certificate"]["erased"]["cases.Victim"] = 0
    assert not verify_document(document)


def test_erasure_ends_every_share_at_once(world: Any) -> None:
    # given a case shared with four partners
    case = world.case
    assert CaseShare.objects.filter(case=case, revoked_at__isnull=True).count() == 4

    # when it is erased
    certificate = erase(world, case)

    # then no share is live, no guardian grant remains, and no partner sees it
    assert not CaseShare.objects.filter(case=case, revoked_at__isnull=True).exists()
    assert not CaseGroupObjectPermission.objects.filter(content_object=case).exists()
    assert certificate.shares_ended == 4
    assert AuditEvent.objects.filter(case_id=case.pk, op=Op.SHARE_REVOKED).count() == 4
    for user in (world.probation_practitioner, world.health_practitioner, world.police_practitioner):
        policy.forget(user)
        assert not policy.cases_visible_to(user).filter(pk=case.pk).exists()


def test_erasure_is_rerunnable_when_the_key_is_already_destroyed(world: Any) -> None:
    # given the key store part ran but the main-database part did not (e.g. a crash)
    case = world.case
    keyring.destroy_data_key(case.data_key_id)

    # when erasure is run again
    certificate = erase(world, case)

    # then it completes
    case.refresh_from_db()
    assert case.erased_at is not None
    assert certificate.audit_seq is not None
    # and a second erasure is refused clearly
    with pytest.raises(DomainError, match="already been erased"):
        erase(world, case)


def test_a_nominal_still_on_another_case_keeps_its_key(world: Any) -> None:
    # given a second live case on the same nominal
    from cases.services import ReferralInput, do_create_case

    case = world.case
    second = do_create_case(
        nominal=case.nominal,
        forum="clinic",
        lead_agency=world.agencies["police"],
        owner=world.police_practitioner,
        acting_user=world.police_practitioner,
        referral=ReferralInput(
            reason="Re-referral",
            lawful_basis="Part 3",
            index_offence="Stalking",
            received_on=case.created_at.date(),
        ),
    )

    # when the first case is erased
    certificate = erase(world, case)
    keyring.dek_cache.clear()

    # then the nominal's identity is kept for the live case
    assert certificate.keys_destroyed == [str(case.data_key_id)]
    assert Nominal.objects.get(pk=second.nominal_id).primary_name == "Daniel Marsh"


def test_legal_hold_blocks_erasure_with_a_clear_message_and_lifting_is_audited(world: Any) -> None:
    # given a legal hold on the case
    case = world.case
    police = world.agencies["police"]
    hold = do_set_legal_hold(
        case=case, reason="Civil claim pending (ref CL-2026-7)", acting_user=world.police_dpo, agency=police
    )

    # when erasure is attempted, then it is refused naming the hold, and nothing is destroyed
    with pytest.raises(DomainError) as refused:
        erase(world, case)
    assert "legal hold" in refused.value.message
    assert "Civil claim pending" in refused.value.message
    assert refused.value.field == "legal_hold"
    keyring.dek_cache.clear()
    assert keyring.get_dek(case.data_key_id)
    assert Victim.objects.filter(case=case).exists()
    # and a partner's contribution cannot be erased either
    note = do_add_note_as_health(world, case)
    with pytest.raises(DomainError, match="legal hold"):
        do_erase_contribution(
            record_type=RecordType.NOTE,
            obj=note,
            acting_user=world.health_dpo,
            agency=world.agencies["health"],
            rule=None,
            reason="due",
        )

    # when the hold is lifted
    do_lift_legal_hold(hold=hold, reason="Claim settled", acting_user=world.police_admin, agency=police)

    # then the set and the lift are both in the audit log, and erasure proceeds
    ops = list(
        AuditEvent.objects.filter(case_id=case.pk, op=Op.LEGAL_HOLD)
        .order_by("id")
        .values_list("detail", flat=True)
    )
    assert [d["change"] for d in ops] == ["set", "lifted"]
    assert not LegalHold.objects.active().filter(case=case).exists()
    assert erase(world, case).case_id == case.pk


def do_add_note_as_health(world: Any, case: Case) -> Note:
    from cases.services import do_add_note

    return do_add_note(
        case=case,
        agency=world.agencies["health"],
        acting_user=world.health_practitioner,
        body="Clinic note",
        category="C6",
    )


def test_erasing_one_contribution_deletes_it_and_issues_a_certificate(world: Any) -> None:
    # given a health note on the police-led case
    case = world.case
    note = do_add_note_as_health(world, case)

    # when the health DPO erases it
    certificate = do_erase_contribution(
        record_type=RecordType.NOTE,
        obj=note,
        acting_user=world.health_dpo,
        agency=world.agencies["health"],
        rule=None,
        reason="Six years passed; no further purpose.",
    )

    # then the note is gone, the case remains, and the certificate resolves to the ERASE event
    assert not Note.objects.filter(pk=note.pk).exists()
    assert Case.objects.get(pk=case.pk).erased_at is None
    assert certificate.erased == {"cases.Note": 1}
    assert certificate.audit_seq is not None
    seal = AuditSeal.objects.get(seq=certificate.audit_seq)
    assert AuditEvent.objects.get(pk=seal.event_id).object_id == str(note.pk)


def test_no_audit_event_or_certificate_holds_a_sensitive_value(world: Any) -> None:
    # given a filled case, erased
    case = world.case
    fill_case(world, case)
    certificate = erase(world, case)

    # then neither the audit log nor the certificate names the person, the victim or their places
    import json

    stored = json.dumps(list(AuditEvent.objects.values()), default=str)
    stored += json.dumps(signed_document(certificate))
    for value in ("Daniel", "Marsh", "Priya", "Shah", "Quarry Lane", "Willow Court", "Northtown library"):
        assert value not in stored
