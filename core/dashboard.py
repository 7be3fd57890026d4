"""What the dashboard shows a user, by role. Every list comes from the policy module's querysets."""

from __future__ import annotations

from typing import Any

from sharing import policy


def dashboard_context(user: Any) -> dict[str, Any]:
    return {"memberships": policy.memberships(user)}
