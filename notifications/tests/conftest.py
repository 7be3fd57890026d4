"""A real SMTP server (aiosmtpd) for the email tests, and a helper that runs the real task worker."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler


class Inbox(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []

    def handle_message(self, message: Message) -> None:
        self.messages.append(message)

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in str(m["To"])]


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Inbox]:
    # aiosmtpd cannot bind port 0 (its readiness self-connect would target port 0): pick a free one
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    # Django's test runner forces the locmem backend: send through SMTP for real in these tests
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_HOST_USER, settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL = "", False, False
    try:
        yield inbox
    finally:
        controller.stop()


def run_worker() -> None:
    """Run django-tasks' database worker (what `manage.py db_worker` runs) until the queue is empty."""
    from unittest import mock

    from django_tasks_db.management.commands import db_worker

    # The worker closes "obsolete" connections between tasks; inside a test's transaction that would
    # close the test's own connection (a real worker runs in autocommit, where it is a no-op).
    with mock.patch.object(db_worker, "close_old_connections", lambda: None):
        _run()


def _run() -> None:
    from django_tasks_db.management.commands.db_worker import Worker

    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


@pytest.fixture
def with_emails(world: Any) -> Any:
    """Every persona of the world gets an email address (username@example.test); what building the
    world queued (its shares' notices, made before anyone had an address) is settled first."""
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from agencies.models import User
    from notifications.models import Notification

    DBTaskResult.objects.all().delete()
    Notification.objects.update(emailed_at=timezone.now())
    for user in User.objects.all():
        User.objects.filter(pk=user.pk).update(email=f"{user.username}@example.test")
    return world
