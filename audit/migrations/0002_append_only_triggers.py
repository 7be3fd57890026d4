"""Make the audit tables append-only in the database itself.

PostgreSQL: BEFORE UPDATE/DELETE row triggers and a BEFORE TRUNCATE statement trigger raise.
SQLite: BEFORE UPDATE/DELETE triggers RAISE(ABORT). The README documents the production roles:
the application's role does not own these tables, so it cannot disable the triggers.

UPDATE is always refused. DELETE and TRUNCATE are allowed only to wipe a *test* database: on
PostgreSQL when a superuser session (who could disable triggers anyway) sets
``convene.audit_purge = 'on'``; on SQLite when the ``convene_audit_purge`` marker table holds a
row. Only the test suite's ``flush`` does either (core/management/commands/flush.py, and only
when settings.CONVENE_ALLOW_AUDIT_FLUSH is true).
"""

from django.db import migrations

TABLES = ("audit_auditevent", "audit_auditseal", "audit_auditcheckpoint")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION convene_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE')
       AND current_setting('convene.audit_purge', true) = 'on'
       AND (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)  # no %-interpolation of the plpgsql body
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION convene_audit_refuse();"
            )
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION convene_audit_refuse();"
            )
    elif vendor == "sqlite":
        schema_editor.execute("CREATE TABLE IF NOT EXISTS convene_audit_purge (allowed INTEGER NOT NULL)")
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE on {table} refused'); END;"
            )
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                "WHEN NOT EXISTS (SELECT 1 FROM convene_audit_purge) "
                f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE on {table} refused'); END;"
            )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table};")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};")
        elif vendor == "sqlite":
            for op in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op};")
    if vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS convene_audit_purge")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
