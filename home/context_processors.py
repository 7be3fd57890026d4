from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from sharing import policy


def convene(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = policy.memberships(user)
    return {
        "current_memberships": items,
        "current_membership": items[0] if items else None,
        "nav_can_audit": policy.can_view_audit(user),
        "nav_can_admin": bool(policy.administered_agency_ids(user)),
        "nav_sees_cases": bool(policy.content_agencies(user)),
        "nav_is_dpo": bool(policy.agency_ids(user, ["dpo"])),
        "nav_can_onboard": policy.can_onboard_agencies(user),
    }
