"""Grant the runtime database role what it needs, and on the audit tables only read and append."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from audit.privileges import apply_runtime_privileges, role_exists


class Command(BaseCommand):
    help = (
        "PostgreSQL: grant ROLE (default CONVENE_DB_RUNTIME_ROLE) SELECT/INSERT/UPDATE/DELETE on every table "
        "and sequence, then on the audit tables exactly SELECT and INSERT (and DELETE on the sealing queue). "
        "Run it as the owner (the migrate job) after every migrate; it is idempotent."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--role", help="The runtime role (default: CONVENE_DB_RUNTIME_ROLE).")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(
        self, *args: Any, role: str | None = None, database: str = DEFAULT_DB_ALIAS, **options: Any
    ) -> None:
        connection = connections[database]
        if connection.vendor != "postgresql":
            self.stdout.write("Not PostgreSQL: there are no roles to grant to.")
            return
        if not role:
            role = (
                settings.CONVENE_DB_KEYSTORE_RUNTIME_ROLE
                if database == "keystore"
                else settings.CONVENE_DB_RUNTIME_ROLE
            )
        if not role_exists(connection, role):
            raise CommandError(f"There is no database role {role!r} (deploy/postgres-init.sh creates it).")
        with transaction.atomic(using=database):
            statements = apply_runtime_privileges(connection, role)
        self.stdout.write(
            self.style.SUCCESS(f"{len(statements)} grant statement(s) applied for {role} on {database}.")
        )
