"""Candidate rows written by the database itself, so that no writer can leave a case out of a list.

A case's lead, an unrevoked share and a break-glass row each give an agency a reason to see a case;
an AFTER INSERT trigger on each table (and on a change of lead) writes the (agency, case) candidate row
with the case's stored created_at, ignoring one that exists. Raw loads, restores of single tables and
old application nodes during a rolling deploy are covered as well as the services.
"""

from django.db import migrations

PG_FUNCTIONS = """
CREATE OR REPLACE FUNCTION convene_visibility_for_lead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sharing_casevisibility (case_id, agency_id, case_created_at)
    VALUES (NEW.id, NEW.lead_agency_id, NEW.created_at)
    ON CONFLICT (agency_id, case_id) DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION convene_visibility_for_grant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sharing_casevisibility (case_id, agency_id, case_created_at)
    SELECT NEW.case_id, NEW.agency_id, c.created_at FROM cases_case c WHERE c.id = NEW.case_id
    ON CONFLICT (agency_id, case_id) DO NOTHING;
    RETURN NULL;
END;
$$;
"""
PG_TRIGGERS = [
    "CREATE TRIGGER cases_case_visibility_lead AFTER INSERT OR UPDATE OF lead_agency_id ON cases_case "
    "FOR EACH ROW EXECUTE FUNCTION convene_visibility_for_lead();",
    "CREATE TRIGGER sharing_caseshare_visibility AFTER INSERT ON sharing_caseshare "
    "FOR EACH ROW WHEN (NEW.revoked_at IS NULL) EXECUTE FUNCTION convene_visibility_for_grant();",
    "CREATE TRIGGER sharing_breakglass_visibility AFTER INSERT ON sharing_breakglass "
    "FOR EACH ROW EXECUTE FUNCTION convene_visibility_for_grant();",
]
_LEAD = (
    "INSERT OR IGNORE INTO sharing_casevisibility (case_id, agency_id, case_created_at) "
    "VALUES (NEW.id, NEW.lead_agency_id, NEW.created_at);"
)
_GRANT = (
    "INSERT OR IGNORE INTO sharing_casevisibility (case_id, agency_id, case_created_at) "
    "SELECT NEW.case_id, NEW.agency_id, c.created_at FROM cases_case c WHERE c.id = NEW.case_id;"
)
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER cases_case_visibility_lead AFTER INSERT ON cases_case FOR EACH ROW BEGIN {_LEAD} END;",
    "CREATE TRIGGER cases_case_visibility_lead_change AFTER UPDATE OF lead_agency_id ON cases_case "
    f"FOR EACH ROW BEGIN {_LEAD} END;",
    "CREATE TRIGGER sharing_caseshare_visibility AFTER INSERT ON sharing_caseshare "
    f"FOR EACH ROW WHEN NEW.revoked_at IS NULL BEGIN {_GRANT} END;",
    f"CREATE TRIGGER sharing_breakglass_visibility AFTER INSERT ON sharing_breakglass FOR EACH ROW BEGIN {_GRANT} END;",
]
DROPS = {
    "cases_case_visibility_lead": "cases_case",
    "cases_case_visibility_lead_change": "cases_case",
    "sharing_caseshare_visibility": "sharing_caseshare",
    "sharing_breakglass_visibility": "sharing_breakglass",
}


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTIONS, params=None)  # no %-interpolation of the plpgsql bodies
        for statement in PG_TRIGGERS:
            schema_editor.execute(statement)
    elif vendor == "sqlite":
        for statement in SQLITE_TRIGGERS:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for trigger, table in DROPS.items():
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table};")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger};")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS convene_visibility_for_lead();")
        schema_editor.execute("DROP FUNCTION IF EXISTS convene_visibility_for_grant();")


class Migration(migrations.Migration):
    dependencies = [("sharing", "0002_case_visibility"), ("cases", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
