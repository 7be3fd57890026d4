"""Django's flush, able to empty the append-only audit tables of a TEST database only.

With settings.CONVENE_ALLOW_AUDIT_FLUSH false (every setting but tests) this is Django's flush
unchanged, and the audit triggers refuse it. The test suite needs it to reset the database
between transactional tests; see audit/migrations/0002_append_only_triggers.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connections


@contextlib.contextmanager
def audit_purge_allowed(alias: str) -> Iterator[None]:
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET convene.audit_purge = 'on'")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET convene.audit_purge")
    elif connection.vendor == "sqlite" and "convene_audit_purge" in connection.introspection.table_names():
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO convene_audit_purge (allowed) VALUES (1)")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM convene_audit_purge")
    else:
        yield


class Command(DjangoFlush):
    def handle(self, **options: Any) -> None:
        if not getattr(settings, "CONVENE_ALLOW_AUDIT_FLUSH", False):
            return super().handle(**options)
        with audit_purge_allowed(options["database"]):
            return super().handle(**options)
