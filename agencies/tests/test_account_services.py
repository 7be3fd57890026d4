"""The person's own account changes as services: enrolling an authenticator, signing out everywhere.

Each writes its change and its audit event in one transaction: a failure part-way keeps neither.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest
from django.conf import settings
from django.db import DatabaseError
from django.test import RequestFactory
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies import services
from agencies.management.commands.demo_totp import current_code
from agencies.models import User
from agencies.services import do_begin_totp_enrolment, do_confirm_totp_device, do_sign_out_everywhere
from audit.models import AuditEvent, Op
from core.errors import DomainError


def _signed_in_request(user: User) -> Any:
    request = RequestFactory().post("/signout/everywhere/")
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    request.session["convene_marker"] = "signed in"
    request.session.save()
    request.user = user
    return request


def _epoch(user: User) -> int:
    return User.objects.values_list("session_epoch", flat=True).get(pk=user.pk)


def _fail(*args: Any, **kwargs: Any) -> None:
    raise DatabaseError("could not write block: No space left on device")


@pytest.mark.django_db
def test_signing_out_everywhere_ends_every_session_and_is_audited_once(world: Any) -> None:
    # given the police chair signed in
    chair = world.police_chair
    request = _signed_in_request(chair)
    epoch, events = _epoch(chair), AuditEvent.objects.filter(op=Op.SIGN_OUT, actor_id=chair.pk)
    # when they sign out everywhere
    do_sign_out_everywhere(request=request, acting_user=chair)
    # then every session of theirs is ended (the epoch moved on), this one is flushed,
    # and one sign-out event says it was everywhere
    assert _epoch(chair) == epoch + 1
    assert request.session.session_key is None and "convene_marker" not in request.session
    assert [event.detail for event in events] == [{"everywhere": True}]


@pytest.mark.django_db
def test_a_failed_sign_out_everywhere_keeps_neither_the_epoch_nor_the_audit_event(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the police chair signed in, and the live-event write failing after the audit event
    chair = world.police_chair
    request = _signed_in_request(chair)
    epoch, events_before = _epoch(chair), AuditEvent.objects.count()
    monkeypatch.setattr(services, "send_on_commit", _fail)
    # when they sign out everywhere
    with pytest.raises(DatabaseError):
        do_sign_out_everywhere(request=request, acting_user=chair)
    # then nothing was kept: their sessions still work, no event was written, this session stays
    assert _epoch(chair) == epoch
    assert AuditEvent.objects.count() == events_before
    assert request.session.get("convene_marker") == "signed in"


@pytest.mark.django_db
def test_an_authenticator_is_confirmed_by_a_current_code_and_audited(world: Any) -> None:
    # given the health practitioner starting to enrol an authenticator app
    person = world.health_practitioner
    device = do_begin_totp_enrolment(acting_user=person)
    assert not device.confirmed
    # and coming back to the page in the same session finds the same pending device
    assert do_begin_totp_enrolment(acting_user=person, device_id=device.pk).pk == device.pk
    # when they enter a wrong code
    with pytest.raises(DomainError) as wrong:
        do_confirm_totp_device(device=device, acting_user=person, code="000000")
    # then the device is not confirmed, the code field is named, and nothing is audited,
    # but django-otp's count of failed attempts is kept (it throttles guessing)
    assert wrong.value.field == "code"
    device.refresh_from_db()
    assert not device.confirmed and device.throttling_failure_count == 1
    assert not AuditEvent.objects.filter(op=Op.OTP_ENROLLED, actor_id=person.pk).exists()
    device.throttling_failure_count, device.throttling_failure_timestamp = 0, None
    device.save()
    # when they enter the current code
    do_confirm_totp_device(device=device, acting_user=person, code=current_code(device))
    # then it is their second factor, and one event records the enrolment
    device.refresh_from_db()
    assert device.confirmed
    enrolled = AuditEvent.objects.get(op=Op.OTP_ENROLLED, actor_id=person.pk)
    assert enrolled.object_id == str(device.pk)


@pytest.mark.django_db
def test_someone_elses_pending_authenticator_is_neither_reused_nor_confirmed(world: Any) -> None:
    # given the health practitioner's pending authenticator
    device = do_begin_totp_enrolment(acting_user=world.health_practitioner)
    # when the probation practitioner names it
    theirs = do_begin_totp_enrolment(acting_user=world.probation_practitioner, device_id=device.pk)
    # then they get a device of their own, and cannot confirm the other one even with its code
    assert theirs.pk != device.pk and theirs.user_id == world.probation_practitioner.pk
    with pytest.raises(DomainError):
        do_confirm_totp_device(
            device=device, acting_user=world.probation_practitioner, code=current_code(device)
        )
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed


@pytest.mark.django_db
def test_a_failed_enrolment_audit_leaves_the_authenticator_unconfirmed(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a pending authenticator, and the audit write failing
    person = world.health_practitioner
    device = do_begin_totp_enrolment(acting_user=person)
    monkeypatch.setattr(services, "record_event", _fail)
    # when the person enters the current code
    with pytest.raises(DatabaseError):
        do_confirm_totp_device(device=device, acting_user=person, code=current_code(device))
    # then the device is not their second factor: no unaudited enrolment
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed
