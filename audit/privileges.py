"""What the runtime database role may do (PostgreSQL), in one place: deploy, migration, check and test.

Production runs three kinds of role (deploy/postgres-init.sh creates them, deploy/README.md explains):

- an **owner** (``convene_owner``, NOLOGIN) owns the schema and every table, function and trigger;
- a **migrator** (LOGIN, member of the owner) runs ``migrate`` with ``assume_role`` = the owner, so
  every object it creates belongs to the owner;
- the **runtime** role (``convene_app``; ``convene_keys_app`` for the key store) that web and sealer
  connect as: not a member of the owner, owns nothing, and on the audit tables may only read and append
  (and consume the sealing queue). It cannot UPDATE, DELETE or TRUNCATE evidence, and, owning nothing,
  cannot ALTER or DROP the append-only triggers.

``runtime_grant_statements`` is what ``manage.py grant_runtime_privileges`` runs (as the owner) after
every ``migrate``; ``RUNTIME_AUDIT_PRIVILEGES`` is the complete set the runtime role holds on each audit
table, which audit/tests/test_runtime_role.py compares with what PostgreSQL reports.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

# Evidence: read and append only. The verification history and the key register are evidence too.
APPEND_ONLY_TABLES = (
    "audit_auditevent",
    "audit_auditseal",
    "audit_auditcheckpoint",
    "audit_auditsigningkey",
    "audit_auditverification",
)
# The sealing queue is a working table: the sealer deletes each row as it chains the event.
QUEUE_TABLES = ("audit_auditpending",)
RUNTIME_AUDIT_PRIVILEGES: dict[str, frozenset[str]] = {
    **{table: frozenset({"SELECT", "INSERT"}) for table in APPEND_ONLY_TABLES},
    **{table: frozenset({"SELECT", "INSERT", "DELETE"}) for table in QUEUE_TABLES},
}
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN")


def _quote(connection: BaseDatabaseWrapper, name: str) -> str:
    return str(connection.ops.quote_name(name))


def existing_tables(connection: BaseDatabaseWrapper) -> set[str]:
    return set(connection.introspection.table_names())


def role_exists(connection: BaseDatabaseWrapper, role: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        return cursor.fetchone() is not None


def runtime_grant_statements(connection: BaseDatabaseWrapper, role: str) -> list[str]:
    """Everything the runtime role needs on this database, and no more on the audit tables."""
    who = _quote(connection, role)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {who}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {who}",
    ]
    tables = existing_tables(connection)
    if "django_migrations" in tables:  # the runtime reads which migrations ran; only migrate writes
        statements.append(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON django_migrations FROM {who}")
    statements += audit_statements(connection, role, tables)
    return statements


def audit_statements(connection: BaseDatabaseWrapper, role: str, tables: set[str] | None = None) -> list[str]:
    """REVOKE everything on each audit table present, then GRANT exactly RUNTIME_AUDIT_PRIVILEGES."""
    who = _quote(connection, role)
    tables = existing_tables(connection) if tables is None else tables
    statements = []
    for table, privileges in RUNTIME_AUDIT_PRIVILEGES.items():
        if table in tables:
            statements.append(f"REVOKE ALL ON {table} FROM {who}")
            statements.append(f"GRANT {', '.join(sorted(privileges))} ON {table} TO {who}")
    return statements


def apply_runtime_privileges(connection: BaseDatabaseWrapper, role: str) -> list[str]:
    """Run the statements (PostgreSQL only); returns them. The caller must own the tables."""
    if connection.vendor != "postgresql":
        return []
    statements = runtime_grant_statements(connection, role)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return statements


def privileges_held(cursor: Any, role: str, table: str) -> frozenset[str]:
    """Every table privilege ``role`` holds on ``table`` — directly, through a role it belongs to or
    through PUBLIC — and any column-level one (a column UPDATE grant is an UPDATE grant here)."""
    cursor.execute("SELECT current_setting('server_version_num')::int")
    version = cursor.fetchone()[0]
    held = set()
    for privilege in TABLE_PRIVILEGES:
        if privilege == "MAINTAIN" and version < 170000:
            continue
        cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [role, table, privilege])
        if cursor.fetchone()[0]:
            held.add(privilege)
        elif privilege in ("SELECT", "INSERT", "UPDATE", "REFERENCES"):
            cursor.execute("SELECT has_any_column_privilege(%s, %s, %s)", [role, table, privilege])
            if cursor.fetchone()[0]:
                held.add(privilege)
    return frozenset(held)


def audit_tables_owned_by_current_user(connection: BaseDatabaseWrapper) -> list[str]:
    """The audit tables the connected role owns (or could act as owner of): empty in production."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relname = ANY(%s) "
            "AND pg_has_role(current_user, c.relowner, 'USAGE') ORDER BY c.relname",
            [list(RUNTIME_AUDIT_PRIVILEGES)],
        )
        return [row[0] for row in cursor.fetchall()]


def current_user_is_superuser(connection: BaseDatabaseWrapper) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        return bool(row and row[0])
