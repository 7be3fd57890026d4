"""The register of audit signing keys (public halves only), append-only like the chain.

``rotate_audit_key`` adds a row for each new key; a key's validity ends where the next one's begins.
The same triggers as audit/0002 refuse UPDATE, DELETE and TRUNCATE (the test suite's flush may still
empty it, exactly as it empties the other audit tables).
"""

from django.db import migrations, models

TABLE = "audit_auditsigningkey"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION convene_audit_refuse();"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION convene_audit_refuse();"
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE on {TABLE} refused'); END;"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
            "WHEN NOT EXISTS (SELECT 1 FROM convene_audit_purge) "
            f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE on {TABLE} refused'); END;"
        )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_update_delete ON {TABLE};")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE};")
    elif vendor == "sqlite":
        for op in ("update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{op};")


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_canonical_json_function")]

    operations = [
        migrations.CreateModel(
            name="AuditSigningKey",
            fields=[
                ("key_id", models.CharField(max_length=16, primary_key=True, serialize=False)),
                (
                    "public_key",
                    models.CharField(help_text="Base64 of the raw 32-byte Ed25519 public key.", max_length=64),
                ),
                ("valid_from", models.DateTimeField()),
                ("created_at", models.DateTimeField()),
            ],
            options={"ordering": ["valid_from"]},
        ),
        migrations.RunPython(forwards, backwards),
    ]
