"""The Django admin: for superusers only, and read-only for people and memberships.

Every change to agencies, people and memberships goes through agencies.services (validated and
audited); agency admins use their own pages at /people/, which show only their own agency.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Agency, ApiToken, DemoObject, Membership, User


def superusers_only(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_superuser)


admin.site.has_permission = superusers_only  # type: ignore[method-assign]
admin.site.site_header = "Convene operations (superusers only)"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return superusers_only(request)


@admin.register(Agency)
class AgencyAdmin(ReadOnlyAdmin):
    list_display = ["name", "agency_type", "regime", "area", "is_active"]
    list_filter = ["agency_type", "is_active"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ["username", "first_name", "last_name", "is_active", "is_demo", "last_login"]
    list_filter = ["is_active", "is_demo"]
    search_fields = ["username", "first_name", "last_name"]
    exclude = ["password"]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "agency", "role", "valid_from", "valid_to", "ended_at"]
    list_filter = ["agency", "role"]
    list_select_related = ["user", "agency"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "user", "name", "expires_at", "revoked_at", "last_used_at"]
    exclude = ["key_hash"]
    list_select_related = ["user"]


@admin.register(DemoObject)
class DemoObjectAdmin(ReadOnlyAdmin):
    list_display = ["key", "model", "object_pk"]
