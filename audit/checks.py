"""Deploy checks for the audit log's database role (see audit/privileges.py)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Tags, Warning, register
from django.db import DatabaseError, connections


@register(Tags.security, Tags.database, deploy=True)
def check_runtime_role_does_not_own_the_audit_tables(app_configs: Any, **kwargs: Any) -> list[Warning]:
    """The role the application connects as must not own the audit tables nor be a superuser: either
    could disable or drop the append-only triggers and rewrite the evidence."""
    from .privileges import audit_tables_owned_by_current_user, current_user_is_superuser

    connection = connections["default"]
    if connection.vendor != "postgresql" or connection.settings_dict.get("OPTIONS", {}).get("assume_role"):
        return []  # SQLite has no roles; a connection that assumes a role is the migrate job, the owner
    try:
        superuser = current_user_is_superuser(connection)
        owned = audit_tables_owned_by_current_user(connection)
    except DatabaseError:
        return []
    warnings = []
    if superuser:
        warnings.append(
            Warning(
                "The application connects to PostgreSQL as a superuser, which can disable the audit "
                "log's append-only triggers.",
                hint="Connect web and sealer as the runtime role (convene_app): see deploy/README.md.",
                id="convene.W020",
            )
        )
    elif owned:
        warnings.append(
            Warning(
                f"The application's database role owns the audit tables ({', '.join(owned)}), so it could "
                "disable or drop their append-only triggers.",
                hint="Run migrations as the owner role and connect web and sealer as convene_app: "
                "see deploy/README.md.",
                id="convene.W021",
            )
        )
    return warnings
