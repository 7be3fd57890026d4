"""Audit events for sign-in, failed sign-in, sign-out and lockout.

These are framework hooks (Django's auth signals and axes' lockout signal) that only write audit
records of security events; no domain change happens here.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.models import Op
from audit.services import record_event


@receiver(user_logged_in, dispatch_uid="convene_audit_login")
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # A single sign-on callback says how (agencies.sso_views): the provider and its raw acr/amr.
    detail = getattr(request, "convene_sign_in_detail", None) or {"stage": "password"}
    record_event(Op.SIGN_IN, actor=user, detail=detail)


@receiver(user_login_failed, dispatch_uid="convene_audit_login_failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    detail = getattr(request, "convene_sign_in_detail", None) or {}
    record_event(
        Op.SIGN_IN_FAILED,
        username=str(credentials.get("username", ""))[:150],
        outcome="denied",
        detail=detail,
    )


@receiver(user_logged_out, dispatch_uid="convene_audit_logout")
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record_event(Op.SIGN_OUT, actor=user)


@receiver(user_locked_out, dispatch_uid="convene_audit_lockout")
def _locked_out(
    sender: Any,
    request: Any = None,
    username: str | None = None,
    ip_address: str | None = None,
    **kwargs: Any,
) -> None:
    record_event(Op.LOCKOUT, username=str(username or "")[:150], outcome="denied")
