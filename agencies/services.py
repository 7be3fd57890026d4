"""Mutations of agencies, memberships and tokens. Each validates, writes and audits in one transaction."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import logout, user_logged_out
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Op
from audit.services import record_event
from core.categories import AgencyType
from core.errors import DomainError, check_version
from core.events import send_on_commit

from .models import Agency, AgencyInvitation, ApiToken, LegalRegime, Membership, Role, User
from .sessions import socket_group

PART3_TYPES = {AgencyType.POLICE, AgencyType.PROBATION, AgencyType.CPS}


@transaction.atomic
def do_create_agency(
    *,
    name: str,
    agency_type: str,
    area: str = "",
    acting_user: User | None = None,
    operator: str = "operator",
    **extra: Any,
) -> Agency:
    name, area = name.strip(), area.strip()
    if not name:
        raise DomainError("Enter the agency's name.", field="name")
    if agency_type not in AgencyType.values:
        raise DomainError(f"Unknown agency type {agency_type!r}.", field="agency_type")
    if Agency.objects.filter(name__iexact=name).exists():
        raise DomainError("An agency with this name already exists.", field="name")
    slug = extra.get("slug") or slugify(name)[:80]
    if not slug:
        raise DomainError("The name needs at least one letter or digit.", field="name")
    if Agency.objects.filter(slug=slug).exists():
        raise DomainError("An agency with a name this close already exists.", field="name")
    extra["slug"] = slug
    group = Group.objects.create(name=f"agency:{slugify(name)[:60]}:{secrets.token_hex(3)}")
    regime = extra.pop("regime", LegalRegime.PART3 if agency_type in PART3_TYPES else LegalRegime.UKGDPR)
    agency = Agency.objects.create(
        name=name,
        slug=extra.pop("slug"),
        agency_type=agency_type,
        regime=regime,
        area=area,
        group=group,
        duty_to_cooperate=extra.pop("duty_to_cooperate", agency_type not in (AgencyType.CPS,)),
        **extra,
    )
    record_event(
        Op.MEMBERSHIP, actor=acting_user, obj=agency, username=operator, detail={"change": "agency_created"}
    )
    return agency


def _membership_changed(membership: Membership) -> None:
    send_on_commit(f"user.{membership.user_id}", {"type": "authz.changed"})


@transaction.atomic
def do_add_membership(
    *,
    user: User,
    agency: Agency,
    role: str,
    acting_user: User | None,  # None: the system (the demo seed's first admins, provisioning)
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
def do_change_role(
    *, membership: Membership, role: str, acting_user: User, version: int | None
) -> Membership:
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
def do_end_membership(*, membership: Membership, acting_user: User) -> Membership:
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


@transaction.atomic
def do_sign_out_everywhere(*, request: HttpRequest, acting_user: User) -> None:
    """End every session of this person, on every device, and close their live connections.

    Raising the person's session epoch ends each of their sessions at its next request
    (agencies.middleware); the sign-out audit event is written in the same transaction and their
    sockets are told once it commits. This request's session is then flushed; Django's sign-out
    signal goes without the user, so no second sign-out event is written for it.
    """
    User.objects.filter(pk=acting_user.pk).update(session_epoch=F("session_epoch") + 1)
    record_event(Op.SIGN_OUT, actor=acting_user, detail={"everywhere": True})
    send_on_commit(f"user.{acting_user.pk}", {"type": "authz.changed"})
    user_logged_out.send(sender=type(acting_user), request=request, user=None)
    request.session.flush()


# --- the second factor: enrolling an authenticator app ---------------------------------------------
WRONG_ENROLMENT_CODE = "That code does not match. Check the time on your phone and try the current code."


def do_begin_totp_enrolment(*, acting_user: User, device_id: Any = None) -> TOTPDevice:
    """The person's authenticator waiting to be confirmed: the one begun as ``device_id``, else a new one.

    Not audited: an unconfirmed device is no second factor and signs nobody in. Confirming it is
    (``do_confirm_totp_device``).
    """
    device = None
    if device_id:
        device = TOTPDevice.objects.filter(pk=device_id, user=acting_user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=acting_user, name="Authenticator app", confirmed=False)
    return device


def do_confirm_totp_device(*, device: TOTPDevice, acting_user: User, code: str) -> TOTPDevice:
    """Confirm a pending authenticator with a current code from it: it becomes the second factor.

    A wrong code raises DomainError on ``code`` and confirms nothing; django-otp's own record of the
    attempt (its throttling) is kept, so the check happens before, not inside, the transaction
    that confirms the device and writes the OTP_ENROLLED audit event.
    """
    if device.user_id != acting_user.pk or device.confirmed:
        raise DomainError("This authenticator is not waiting to be confirmed.", field="code")
    if not device.verify_token(code):
        raise DomainError(WRONG_ENROLMENT_CODE, field="code")
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        record_event(Op.OTP_ENROLLED, actor=acting_user, obj=device)
    return device


# --- onboarding: invitations for an agency's admin, and deactivation -----------------------------
INVITATION_DAYS = 7


def _invitation_hash(raw: str) -> str:
    return hashlib.sha256(f"convene.invitation|{raw}".encode()).hexdigest()


@transaction.atomic
def do_invite_agency_admin(
    *,
    agency: Agency,
    first_name: str,
    last_name: str,
    acting_user: User | None,
    operator: str = "operator",
    email: str = "",
    days: int = INVITATION_DAYS,
) -> tuple[AgencyInvitation, str]:
    """An invitation to become ``agency``'s admin, with the link's token (shown once, never stored)."""
    agency = Agency.objects.select_for_update().get(pk=agency.pk)
    if not agency.is_active:
        raise DomainError("This agency has been deactivated.", field="agency")
    if not first_name.strip():
        raise DomainError("Enter the admin's first name.", field="first_name")
    if not last_name.strip():
        raise DomainError("Enter the admin's last name.", field="last_name")
    if days < 1 or days > 30:
        raise DomainError("An invitation lasts between 1 and 30 days.", field="days")
    raw = secrets.token_urlsafe(32)
    invitation = AgencyInvitation.objects.create(
        agency=agency,
        role=Role.AGENCY_ADMIN,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip(),
        token_hash=_invitation_hash(raw),
        created_by=acting_user,
        expires_at=timezone.now() + timedelta(days=days),
    )
    record_event(
        Op.MEMBERSHIP,
        actor=acting_user,
        agency=agency,
        obj=invitation,
        username=operator,
        detail={"change": "admin_invited", "days": days},
    )
    return invitation, raw


def usable_invitation(raw: str) -> AgencyInvitation | None:
    """The invitation this token opens, if it can still be used; None for a wrong, expired, used or
    withdrawn one alike (one indexed lookup by hash whatever the token)."""
    invitation = (
        AgencyInvitation.objects.select_related("agency").filter(token_hash=_invitation_hash(raw)).first()
    )
    return invitation if invitation is not None and invitation.is_usable() else None


def invitation_by_id(pk: Any) -> AgencyInvitation | None:
    invitation = AgencyInvitation.objects.select_related("agency").filter(pk=pk).first()
    return invitation if invitation is not None and invitation.is_usable() else None


class InvitationUnusable(DomainError):
    """The invitation is wrong, expired, used or withdrawn (one answer for all)."""


@transaction.atomic
def do_accept_invitation(*, invitation: AgencyInvitation, username: str, password: str) -> Membership:
    """Create the invitee's account with the password they chose and give them the invited role.

    The second factor is enrolled next, at first sign-in (agencies.views.enrol), as for everyone.
    """
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    invitation = AgencyInvitation.objects.select_for_update().select_related("agency").get(pk=invitation.pk)
    if not invitation.is_usable():
        raise InvitationUnusable("This invitation link cannot be used.")
    candidate = User(
        username=username.strip().lower(),
        first_name=invitation.first_name,
        last_name=invitation.last_name,
        email=invitation.email,
    )
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), field="password") from exc
    user, _ = do_create_person(
        username=username,
        first_name=invitation.first_name,
        last_name=invitation.last_name,
        email=invitation.email,
        password=password,
        acting_user=None,
    )
    membership = do_add_membership(
        user=user, agency=invitation.agency, role=invitation.role, acting_user=user
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    record_event(
        Op.MEMBERSHIP,
        actor=user,
        agency=invitation.agency,
        obj=invitation,
        detail={"change": "invitation_accepted", "user_id": user.pk, "role": invitation.role},
    )
    return membership


@transaction.atomic
def do_withdraw_invitation(
    *, invitation: AgencyInvitation, acting_user: User | None, operator: str = "operator"
) -> AgencyInvitation:
    invitation = AgencyInvitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise DomainError("This invitation has already been used or withdrawn.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record_event(
        Op.MEMBERSHIP,
        actor=acting_user,
        agency=invitation.agency,
        obj=invitation,
        username=operator,
        detail={"change": "invitation_withdrawn"},
    )
    return invitation


@transaction.atomic
def do_deactivate_agency(*, agency: Agency, acting_user: User | None, operator: str = "operator") -> int:
    """Take an agency out of Convene at once: end every membership, withdraw its invitations, and tell
    each member's live connections to re-check (they close). Returns how many memberships ended.

    Nothing is deleted: its cases, agreements and audit trail stay for their retention periods.
    """
    agency = Agency.objects.select_for_update().get(pk=agency.pk)
    if not agency.is_active:
        raise DomainError("This agency is already deactivated.", field="agency")
    now = timezone.now()
    agency.is_active = False
    agency.deactivated_at = now
    agency.save(update_fields=["is_active", "deactivated_at"])
    memberships = list(
        Membership.objects.select_for_update().filter(agency=agency, ended_at__isnull=True).order_by("pk")
    )
    for membership in memberships:
        membership.ended_at = now
        membership.ended_by = acting_user
        membership.version += 1
        membership.save(update_fields=["ended_at", "ended_by", "version"])
        record_event(
            Op.MEMBERSHIP,
            actor=acting_user,
            agency=agency,
            obj=membership,
            username=operator,
            detail={"change": "ended", "user_id": membership.user_id, "reason": "agency_deactivated"},
        )
    withdrawn = AgencyInvitation.objects.filter(
        agency=agency, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    record_event(
        Op.MEMBERSHIP,
        actor=acting_user,
        obj=agency,
        username=operator,
        detail={
            "change": "agency_deactivated",
            "memberships_ended": len(memberships),
            "invitations_withdrawn": withdrawn,
        },
    )
    for user_id in sorted({m.user_id for m in memberships}):
        send_on_commit(f"user.{user_id}", {"type": "authz.changed"})
    send_on_commit(f"agency.{agency.pk}", {"type": "authz.changed"})
    return len(memberships)


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
    acting_user: User | None,
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
def do_retire_demo_accounts(*, acting_user: User | None = None) -> int:
    """Stop every demo account signing in: deactivate, drop its password, devices and tokens.

    The accounts stay (audit events name them) but can never be used again.
    """
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
    *, user: User, days: int = 30, name: str = "", acting_user: User | None = None
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
def do_revoke_token(*, token: ApiToken, acting_user: User | None = None) -> ApiToken:
    if token.revoked_at is not None:
        raise DomainError("This token is already revoked.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record_event(
        Op.TOKEN_REVOKED, actor=acting_user or token.user, obj=token, detail={"user_id": token.user_id}
    )
    return token
