"""PostgreSQL: the runtime role may only read and append the audit tables (and consume the queue).

Deployments created before the owner/runtime split already ran 0001–0004, and default privileges
(``ALTER DEFAULT PRIVILEGES … GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES``) hand UPDATE and DELETE
to every new table, audit tables included. So this migration, run as the owner, takes them back —
only when the runtime role exists (settings.CONVENE_DB_RUNTIME_ROLE); elsewhere (SQLite, a test or
development database without roles) it does nothing. ``manage.py grant_runtime_privileges``, which the
migrate job runs after every migrate, applies the same rule to tables added later (audit/privileges.py).
TransactionTestCase's flush is unaffected: it runs as the test database's superuser.
"""

from django.conf import settings
from django.db import migrations

# Frozen copy of audit/privileges.py's rule as it stood when this migration was written.
PRIVILEGES = {
    "audit_auditevent": "SELECT, INSERT",
    "audit_auditseal": "SELECT, INSERT",
    "audit_auditcheckpoint": "SELECT, INSERT",
    "audit_auditsigningkey": "SELECT, INSERT",
    "audit_auditverification": "SELECT, INSERT",
    "audit_auditpending": "DELETE, INSERT, SELECT",
}


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    role = getattr(settings, "CONVENE_DB_RUNTIME_ROLE", "convene_app")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            return
    who = connection.ops.quote_name(role)
    for table, privileges in PRIVILEGES.items():
        schema_editor.execute(f"REVOKE ALL ON {table} FROM {who}")
        schema_editor.execute(f"GRANT {privileges} ON {table} TO {who}")


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_signing_keys")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
