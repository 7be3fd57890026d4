"""Mutations of agencies, memberships and tokens. Each validates, writes and audits in one transaction."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import logout
from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify

from audit.models import Op
from audit.services import record_event
from core.categories import AgencyType
from core.errors import DomainError, check_version
from core.events import send_on_commit

from .models import Agency, ApiToken, LegalRegime, Membership, Role, User
from .sessions import socket_group

PART3_TYPES = {AgencyType.POLICE, AgencyType.PROBATION, AgencyType.CPS}


@transaction.atomic
def do_create_agency(
    *, name: str, agency_type: str, area: str = "", acting_user: Any = None, **extra: Any
) -> Agency:
    if agency_type not in AgencyType.values:
        raise DomainError(f"Unknown agency type {agency_type!r}.", field="agency_type")
    if Agency.objects.filter(name=name).exists():
        raise DomainError("An agency with this name already exists.", field="name")
    group = Group.objects.create(name=f"agency:{slugify(name)[:60]}:{secrets.token_hex(3)}")
    regime = extra.pop("regime", LegalRegime.PART3 if agency_type in PART3_TYPES else LegalRegime.UKGDPR)
    agency = Agency.objects.create(
        name=name,
        slug=extra.pop("slug", slugify(name)[:80]),
        agency_type=agency_type,
        regime=regime,
        area=area,
        group=group,
        duty_to_cooperate=extra.pop("duty_to_cooperate", agency_type not in (AgencyType.CPS,)),
        **extra,
    )
    record_event(Op.MEMBERSHIP, actor=acting_user, obj=agency, detail={"change": "agency_created"})
    return agency


def _membership_changed(membership: Membership) -> None:
    send_on_commit(f"user.{membership.user_id}", {"type": "authz.changed"})


@transaction.atomic
def do_add_membership(
    *,
    user: User,
    agency: Agency,
    role: str,
    acting_user: Any,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    vetting_level: str = "none",
) -> Membership:
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}.", field="role")
    valid_from = valid_from or timezone.now()
    if valid_to is not None and valid_to <= valid_from:
        raise DomainError("A membership must end after it starts.", field="valid_to")
    if Membership.objects.active().filter(user=user, agency=agency, role=role).exists():
        raise DomainError("This person already holds that role in this agency.", field="role")
    membership = Membership.objects.create(
        user=user,
        agency=agency,
        role=role,
        valid_from=valid_from,
        valid_to=valid_to,
        vetting_level=vetting_level,
    )
    record_event(
        Op.MEMBERSHIP,
        actor=acting_user,
        agency=agency,
        obj=membership,
        detail={"change": "added", "role": role, "user_id": user.pk},
    )
    _membership_changed(membership)
    return membership


@transaction.atomic
def do_change_role(*, membership: Membership, role: str, acting_user: Any, version: int | None) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    check_version(membership.version, version, "membership")
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}.", field="role")
    if membership.ended_at is not None:
        raise DomainError("This membership has ended; add a new one instead.", field="role")
    old = membership.role
    membership.role = role
    membership.version += 1
    membership.save(update_fields=["role", "version"])
    record_event(
        Op.MEMBERSHIP,
        actor=acting_user,
        agency=membership.agency,
        obj=membership,
        detail={"change": "role", "from": old, "to": role, "user_id": membership.user_id},
    )
    _membership_changed(membership)
    return membership


@transaction.atomic
def do_end_membership(*, membership: Membership, acting_user: Any) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.ended_at is not None:
        raise DomainError("This membership has already ended.")
    membership.ended_at = timezone.now()
    membership.ended_by = acting_user
    membership.version += 1
    membership.save(update_fields=["ended_at", "ended_by", "version"])
    record_event(
        Op.MEMBERSHIP,
        actor=acting_user,
        agency=membership.agency,
        obj=membership,
        detail={"change": "ended", "user_id": membership.user_id},
    )
    _membership_changed(membership)
    return membership


# --- sessions ---------------------------------------------------------------------------------
@transaction.atomic
def do_sign_out(*, request: HttpRequest) -> None:
    """End this request's session and, once that commits, close its live sockets (4401).

    Django's ``logout`` deletes the session and writes the sign-out audit event (agencies.auth_events)
    in this transaction; the session's sockets are told through its own group, so the person's other
    sessions and their sockets carry on.
    """
    session_key = request.session.session_key
    logout(request)
    if session_key:
        send_on_commit(socket_group(session_key), {"type": "session.ended"})


# --- people -----------------------------------------------------------------------------------
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


def one_time_password() -> str:
    """A readable first password, shown once to the admin who hands it over."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


@transaction.atomic
def do_create_person(
    *,
    username: str,
    first_name: str,
    last_name: str,
    acting_user: Any,
    email: str = "",
    password: str | None = None,
    is_demo: bool = False,
) -> tuple[User, str]:
    """Create a person who can sign in; returns them with their first password (shown once, never stored)."""
    username = username.strip().lower()
    if not username or not set(username) <= USERNAME_CHARS or len(username) > 150:
        raise DomainError(
            "A username uses lower-case letters, digits, dots, hyphens and underscores.", field="username"
        )
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError("That username is taken.", field="username")
    if not first_name.strip() or not last_name.strip():
        raise DomainError("Enter the person's first and last name.", field="first_name")
    password = password or one_time_password()
    user = User.objects.create_user(
        username=username,
        password=password,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip(),
        is_demo=is_demo,
    )
    record_event(Op.MEMBERSHIP, actor=acting_user, obj=user, detail={"change": "person_created"})
    return user, password


@transaction.atomic
def do_retire_demo_accounts(*, acting_user: Any = None) -> int:
    """Stop every demo account signing in: deactivate, drop its password, devices and tokens.

    The accounts stay (audit events name them) but can never be used again.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    users = list(User.objects.select_for_update().filter(is_demo=True, is_active=True))
    now = timezone.now()
    for user in users:
        user.is_active = False
        user.set_unusable_password()
        user.session_epoch += 1
        user.save(update_fields=["is_active", "password", "session_epoch"])
        TOTPDevice.objects.filter(user=user).delete()
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
        record_event(Op.MEMBERSHIP, actor=acting_user, obj=user, detail={"change": "demo_account_retired"})
        send_on_commit(f"user.{user.pk}", {"type": "authz.changed"})
    return len(users)


# --- API tokens -----------------------------------------------------------------------------
TOKEN_PREFIX = "cvn"  # noqa: S105 - a label, not a secret


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def do_issue_token(
    *, user: User, days: int = 30, name: str = "", acting_user: Any = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is shown once and never stored."""
    if days < 1 or days > 365:
        raise DomainError("A token lasts between 1 and 365 days.", field="days")
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        key_hash=hash_token(raw),
        expires_at=timezone.now() + timedelta(days=days),
    )
    record_event(
        Op.TOKEN_ISSUED, actor=acting_user or user, obj=token, detail={"user_id": user.pk, "days": days}
    )
    return token, raw


@transaction.atomic
def do_revoke_token(*, token: ApiToken, acting_user: Any = None) -> ApiToken:
    if token.revoked_at is not None:
        raise DomainError("This token is already revoked.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record_event(
        Op.TOKEN_REVOKED, actor=acting_user or token.user, obj=token, detail={"user_id": token.user_id}
    )
    return token
