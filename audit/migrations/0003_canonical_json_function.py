"""PostgreSQL: ``convene_audit_json(jsonb)``, the canonical JSON text of a jsonb value, for verify_chain.

Canonical means what audit.chain hashes: keys sorted by code point (``COLLATE "C"`` compares the
UTF-8 bytes, which sort the same way), "," and ":" without spaces, strings escaped as Python's json
does with ensure_ascii=False (jsonb's output and to_json share that escaping).

Fast path: when the value holds at most one key in all, jsonb's own text is already in canonical
order and only the spaces after separators outside strings have to go (the regular expression
consumes every string whole, so it never edits a string's contents). Otherwise objects are rebuilt
with their keys sorted, recursively.

Numbers are printed by PostgreSQL (``0.00001`` where Python writes ``1e-05``): such a row fails the
SQL check and verify_chain re-checks it with the Python encoder before reporting anything.
Nothing is created on SQLite, which verifies in Python.
"""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION convene_audit_json(value jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    raw text := value::text;
    body text;
BEGIN
    IF strpos(substr(raw, strpos(raw, '": ') + 3), '": ') = 0 THEN
        RETURN regexp_replace(raw, '("(?:[^"\\]|\\.)*")|([,:]) ', '\1\2', 'g');
    END IF;
    CASE jsonb_typeof(value)
    WHEN 'object' THEN
        SELECT string_agg(to_json(item.key)::text || ':' || convene_audit_json(item.value), ','
                          ORDER BY item.key COLLATE "C")
          INTO body FROM jsonb_each(value) AS item;
        RETURN '{' || coalesce(body, '') || '}';
    WHEN 'array' THEN
        SELECT string_agg(convene_audit_json(item.value), ',' ORDER BY item.n)
          INTO body FROM jsonb_array_elements(value) WITH ORDINALITY AS item(value, n);
        RETURN '[' || coalesce(body, '') || ']';
    ELSE
        RETURN raw;
    END CASE;
END;
$$;
"""

DROP = "DROP FUNCTION IF EXISTS convene_audit_json(jsonb);"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)  # no %-interpolation of the plpgsql body


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]
    operations = [migrations.RunPython(forwards, backwards)]
