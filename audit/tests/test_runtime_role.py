"""PostgreSQL: connected as the runtime role, the application can append evidence and nothing more.

The test makes its own roles in the test cluster (an owner that owns every table, as after a migrate
run by the migrator, and a runtime login role granted by ``grant_runtime_privileges``' statements),
connects as the runtime role and proves each refusal; then it drops the roles again.

``EXPECTED`` is written out here on purpose, not imported: widening a grant in audit/privileges.py
(or by hand) makes this test fail.
"""

from __future__ import annotations

import importlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from django.db import connection
from psycopg import errors, sql

from audit.checks import check_runtime_role_does_not_own_the_audit_tables
from audit.privileges import privileges_held, runtime_grant_statements

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

EXPECTED = {
    "audit_auditevent": {"SELECT", "INSERT"},
    "audit_auditseal": {"SELECT", "INSERT"},
    "audit_auditcheckpoint": {"SELECT", "INSERT"},
    "audit_auditsigningkey": {"SELECT", "INSERT"},
    "audit_auditverification": {"SELECT", "INSERT"},
    "audit_auditpending": {"SELECT", "INSERT", "DELETE"},
}
EVIDENCE = [table for table in EXPECTED if table != "audit_auditpending"]


@dataclass
class Roles:
    owner: str
    app: str
    admin: psycopg.Connection[Any]

    def connect_as_app(self) -> psycopg.Connection[Any]:
        settings = connection.settings_dict
        return psycopg.connect(
            host=settings["HOST"] or "127.0.0.1",
            port=settings["PORT"] or 5432,
            dbname=settings["NAME"],
            user=self.app,
            connect_timeout=5,
        )


def _admin() -> psycopg.Connection[Any]:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        dbname=settings["NAME"],
        user=settings["USER"] or "postgres",
        password=settings["PASSWORD"] or None,
        autocommit=True,
        connect_timeout=5,
    )


@pytest.fixture(scope="module")
def roles(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Roles]:
    """An owner owning every table and function (as the migrate job leaves them) and a runtime role.
    Made once for this module's tests and dropped after them."""
    suffix = secrets.token_hex(4)
    owner, app = f"convene_t{suffix}_owner", f"convene_t{suffix}_app"
    with django_db_blocker.unblock():
        statements = runtime_grant_statements(connection, app)
        admin = _admin()
    ident = sql.Identifier
    try:
        admin.execute(
            sql.SQL("CREATE ROLE {} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(ident(owner))
        )
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS").format(ident(app))
        )
        tables = admin.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).fetchall()
        for (table,) in tables:
            admin.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(ident(table), ident(owner)))
        for function in ("convene_audit_refuse()", "convene_audit_json(jsonb)"):
            admin.execute(sql.SQL(f"ALTER FUNCTION {function} OWNER TO {{}}").format(ident(owner)))
        # the grants, made by the owner exactly as manage.py grant_runtime_privileges makes them
        with admin.transaction():
            admin.execute(sql.SQL("SET LOCAL ROLE {}").format(ident(owner)))
            for statement in statements:
                admin.execute(statement.encode())
        yield Roles(owner, app, admin)
    finally:
        me = row(admin.execute("SELECT current_user").fetchone())[0]
        admin.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(ident(owner), ident(me)))
        for role in (app, owner):
            admin.execute(sql.SQL("DROP OWNED BY {}").format(ident(role)))
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(ident(role)))
        admin.close()


def row(fetched: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """The row a query that always returns one returned."""
    assert fetched is not None, "the query returned no row"
    return fetched


def refused(app: psycopg.Connection[Any], statement: str) -> str:
    """Run one statement in a savepoint; the error's SQLSTATE when refused, "" when it ran."""
    try:
        with app.transaction():
            app.execute(statement.encode())
    except (errors.InsufficientPrivilege, errors.RaiseException) as exc:
        return exc.sqlstate or "?"
    return ""


COLUMNS = {
    "audit_auditevent": "justification",
    "audit_auditseal": "hash",
    "audit_auditcheckpoint": "note",
    "audit_auditsigningkey": "public_key",
    "audit_auditverification": "message",
    "audit_auditpending": "event_id",
}
FORBIDDEN = [
    *(f"UPDATE {table} SET {column} = {column}" for table, column in COLUMNS.items()),  # noqa: S608
    *(f"DELETE FROM {table}" for table in EVIDENCE),  # noqa: S608
    *(f"TRUNCATE {table}" for table in EXPECTED),
    "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
    "ALTER TABLE audit_auditseal DISABLE TRIGGER audit_auditseal_no_update_delete",
    "DROP TRIGGER audit_auditevent_no_update_delete ON audit_auditevent",
    "DROP TRIGGER audit_auditcheckpoint_no_truncate ON audit_auditcheckpoint",
    "CREATE TRIGGER sneak BEFORE INSERT ON audit_auditevent FOR EACH ROW "
    "EXECUTE FUNCTION convene_audit_refuse()",
    "ALTER TABLE audit_auditevent OWNER TO CURRENT_USER",
    "DROP TABLE audit_auditevent",
    "ALTER TABLE audit_auditevent ADD COLUMN note text",
    "SET session_replication_role = replica",
    "CREATE TABLE public.sneak (id int)",
    "CREATE FUNCTION public.sha256(bytea) RETURNS bytea LANGUAGE sql AS 'SELECT $1'",
    "CREATE OR REPLACE FUNCTION convene_audit_json(value jsonb) RETURNS text LANGUAGE sql AS 'SELECT ''{}'''",
    "DROP FUNCTION convene_audit_refuse()",
    "INSERT INTO django_migrations (app, name, applied) VALUES ('audit', 'sneak', now())",
]  # fmt: skip


@pytest.mark.parametrize("statement", FORBIDDEN)
def test_the_runtime_role_is_refused(roles: Roles, statement: str) -> None:
    with roles.connect_as_app() as app:
        assert refused(app, statement) == "42501", statement  # insufficient_privilege / must be owner
        app.rollback()


def test_the_runtime_role_cannot_become_the_owner(roles: Roles) -> None:
    with roles.connect_as_app() as app:
        assert refused(app, f'SET ROLE "{roles.owner}"') == "42501"


def test_the_runtime_role_appends_evidence_and_consumes_the_queue(roles: Roles) -> None:
    with roles.connect_as_app() as app:
        event_id = row(
            app.execute(
                "INSERT INTO audit_auditevent (occurred_at, actor_username, actor_role, op, object_type, "
                "object_id, categories, justification, recipients, outcome, detail, request_id) VALUES "
                "(now(), 'runtime', '', 'audit', '', '', '[]', '', '[]', 'ok', '{}', '') RETURNING id"
            ).fetchone()
        )[0]
        app.execute("INSERT INTO audit_auditpending (event_id) VALUES (%s)", [event_id])
        assert (
            row(app.execute("SELECT count(*) FROM audit_auditevent WHERE id = %s", [event_id]).fetchone())[0]
            == 1
        )
        app.execute("DELETE FROM audit_auditpending WHERE event_id = %s", [event_id])
        app.execute("UPDATE agencies_agency SET area = area")  # ordinary tables: the usual four
        app.execute("SELECT count(*) FROM django_migrations")
        app.rollback()  # leave the shared test database as it was


def test_the_runtime_roles_privileges_on_the_audit_tables_are_exactly_the_expected_set(roles: Roles) -> None:
    with roles.admin.cursor() as cursor:
        held = {table: set(privileges_held(cursor, roles.app, table)) for table in EXPECTED}
        assert held == EXPECTED
        # and the comparison notices a widened grant, even on a single column (taken back at once: the
        # role is shared by this module's tests, and REVOKE ALL on the table leaves column grants)
        column_grant = sql.SQL("{} UPDATE (justification) ON audit_auditevent {} {}")
        cursor.execute(column_grant.format(sql.SQL("GRANT"), sql.SQL("TO"), sql.Identifier(roles.app)))
        try:
            assert privileges_held(cursor, roles.app, "audit_auditevent") == {"SELECT", "INSERT", "UPDATE"}
        finally:
            cursor.execute(column_grant.format(sql.SQL("REVOKE"), sql.SQL("FROM"), sql.Identifier(roles.app)))
        cursor.execute(sql.SQL("GRANT TRUNCATE ON audit_auditseal TO PUBLIC"))
        try:
            assert "TRUNCATE" in privileges_held(cursor, roles.app, "audit_auditseal")
        finally:
            cursor.execute(sql.SQL("REVOKE TRUNCATE ON audit_auditseal FROM PUBLIC"))


def test_the_runtime_role_owns_nothing_and_is_not_privileged(roles: Roles) -> None:
    with roles.admin.cursor() as cursor:
        cursor.execute(
            "SELECT oid, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication "
            "FROM pg_roles WHERE rolname = %s",
            [roles.app],
        )
        oid, *powers = row(cursor.fetchone())
        assert powers == [False] * 5
        owners = {
            "pg_class": "relowner",
            "pg_proc": "proowner",
            "pg_namespace": "nspowner",
            "pg_type": "typowner",
        }
        for catalog, column in owners.items():
            cursor.execute(f"SELECT count(*) FROM {catalog} WHERE {column} = %s", [oid])  # noqa: S608
            assert row(cursor.fetchone())[0] == 0, catalog
        cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [roles.app, roles.owner])
        assert row(cursor.fetchone())[0] is False


def test_check_deploy_warns_when_the_application_role_owns_the_audit_tables(roles: Roles) -> None:
    # the test database's own user is a superuser: warned
    assert [w.id for w in check_runtime_role_does_not_own_the_audit_tables(None)] == ["convene.W020"]
    with connection.cursor() as cursor:
        # acting as the owner (the role that must never run the application): warned
        cursor.execute(f'SET LOCAL ROLE "{roles.owner}"')
        warnings = check_runtime_role_does_not_own_the_audit_tables(None)
        assert [w.id for w in warnings] == ["convene.W021"] and "audit_auditevent" in warnings[0].msg
        # as the runtime role: nothing to say
        cursor.execute(f'SET LOCAL ROLE "{roles.app}"')
        assert check_runtime_role_does_not_own_the_audit_tables(None) == []
        cursor.execute("RESET ROLE")


def test_migration_0005_takes_back_what_default_privileges_hand_the_audit_tables(
    roles: Roles, settings: Any
) -> None:
    # given a deployment where default privileges gave the runtime role the usual four on every table
    settings.CONVENE_DB_RUNTIME_ROLE = roles.app
    migration = importlib.import_module("audit.migrations.0005_runtime_role_privileges")
    who = sql.Identifier(roles.app).as_string(None)
    with connection.cursor() as cursor:
        for table in EXPECTED:
            cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {who}")
        assert "UPDATE" in privileges_held(cursor, roles.app, "audit_auditevent")
        # when the migration runs (as the owner would; here in the test's transaction, rolled back after)
        with connection.schema_editor() as editor:
            migration.forwards(None, editor)
        # then the runtime role holds exactly the expected set again
        assert {table: set(privileges_held(cursor, roles.app, table)) for table in EXPECTED} == EXPECTED
