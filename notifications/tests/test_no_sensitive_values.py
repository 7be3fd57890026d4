"""No plaintext of any encrypted field of the demo world is in any notification or email sent."""

from __future__ import annotations

import json

import pytest
from django.core import mail

from agencies.models import User
from audit.tests.test_no_sensitive_values import every_plaintext
from notifications import schedule
from notifications.models import EmailMode, Notification
from notifications.services import do_send_digests, do_send_pending_immediate


@pytest.mark.django_db
def test_no_encrypted_value_of_the_demo_world_is_in_a_notification_or_an_email(settings) -> None:
    # given the full demo world (every app's demo content, made through the services and their hooks)
    from agencies.demo import seed

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    seed(log=lambda _message: None)
    # and every periodic notice job run, everyone with an address, everything emailed both ways
    for name in ("action_notices", "agreement_notices", "lifecycle_notices"):
        schedule.JOBS[name].run()
    for user in User.objects.all():
        User.objects.filter(pk=user.pk).update(email=f"user{user.pk}@example.test")
    Notification.objects.update(emailed_at=None)
    mail.outbox = []
    do_send_pending_immediate()
    do_send_digests()
    assert Notification.objects.filter(email_mode=EmailMode.OFF).count() < Notification.objects.count()
    # when every notice and every email is compared with every encrypted plaintext
    secrets = every_plaintext()
    notices = json.dumps(list(Notification.objects.values()), default=str, ensure_ascii=False)
    emails = json.dumps(
        [[m.subject, m.body, m.to, m.from_email] for m in mail.outbox], default=str, ensure_ascii=False
    )
    # then none appears (and there really were notices, emails and secrets to compare)
    assert Notification.objects.count() >= 10 and len(mail.outbox) >= 5 and len(secrets) >= 20
    leaked = sorted(s for s in secrets if s in notices or s in emails)
    assert leaked == [], f"sensitive values in notifications or emails: {leaked[:10]}"
