"""The risk management plan and its actions, with action updates."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from agencies.models import Agency, User
from core.errors import ConflictError, DomainError
from notifications import services as notifications

from .. import choices as c
from ..models import Action, ActionUpdate, Case, RiskManagementPlan
from .plumbing import (
    _check_version,
    _choice,
    _finish_change,
    _lock_case,
    _save_change,
    _text,
)


def validate_plan_items(items: Any) -> dict[str, list[dict[str, str]]]:
    """Items per pillar: ``{pillar: [{"text": …, "agency": …}]}``; every pillar present."""
    if not isinstance(items, dict):
        raise DomainError("Give the plan's items under each pillar.", field="items")
    unknown = set(items) - set(c.Pillar.values)
    if unknown:
        raise DomainError("The plan has four pillars only.", field="items")
    clean: dict[str, list[dict[str, str]]] = {}
    for pillar in c.Pillar.values:
        entries = items.get(pillar) or []
        if not isinstance(entries, list):
            raise DomainError("Give a list of items for each pillar.", field=f"items.{pillar}")
        clean[pillar] = []
        for entry in entries:
            if isinstance(entry, str):
                entry = {"text": entry}
            if not isinstance(entry, dict) or not str(entry.get("text", "")).strip():
                raise DomainError("Each plan item needs its text.", field=f"items.{pillar}")
            clean[pillar].append({"text": str(entry["text"]).strip(), "agency": str(entry.get("agency", ""))})
    if not any(clean.values()):
        raise DomainError("A plan needs at least one item.", field="items")
    return clean


def current_plan(case: Case) -> RiskManagementPlan | None:
    return case.plans.order_by("-number").first()


@transaction.atomic
def do_save_plan(
    *,
    case: Case,
    base_number: int | None,
    agency: Agency,
    acting_user: User,
    items: Any,
    contingency: str | None = None,
    change_summary: str = "",
    agreed_at_meeting: Any = None,
) -> RiskManagementPlan:
    """Write plan version n+1. ``base_number`` is the version the editor started from (0 for none).

    If another version was written since, nothing is saved and ConflictError names its author, so
    two editors never overwrite each other: one succeeds, the other reloads and re-applies.
    """
    if base_number is None:
        raise DomainError("The plan version you edited is required.", field="base_number")
    clean = validate_plan_items(items)
    _lock_case(case)
    latest = case.plans.order_by("-number").select_related("created_by").first()
    current = latest.number if latest else 0
    if int(base_number) != current:
        who = latest.created_by.get_username() if latest else ""
        raise ConflictError(
            f"The plan was changed by {who} since you opened it (now version {current}). "
            "Reload to see their version, then make your change again.",
            current_version=current,
        )
    plan = RiskManagementPlan(
        case=case,
        owner_agency=agency,
        created_by=acting_user,
        number=current + 1,
        items=clean,
        contingency=contingency or None,
        change_summary=(change_summary or "")[:200],
        agreed_at_meeting=agreed_at_meeting,
    )
    try:
        with transaction.atomic():
            plan.save()
    except IntegrityError as exc:
        raise ConflictError(
            "Someone else saved the plan at the same moment. Reload to see their version.",
            current_version=current + 1,
        ) from exc
    _finish_change(
        plan, case=case, agency=agency, acting_user=acting_user, kind="plan", detail={"number": plan.number}
    )
    return plan


def _validate_action_owner(owner: User | None, action_agency: Agency, case: Case) -> None:
    """The owner is a practitioner or chair of the agency, and that agency works on the case now
    (it leads it or holds a live share): the policy's ``can_own_action``."""
    from sharing import policy

    if owner is None:
        raise DomainError("Choose who owns the action.", field="owner")
    if not policy.can_own_action(owner, action_agency.pk, case):
        raise DomainError("Choose someone in an agency working on this case.", field="owner")


@transaction.atomic
def do_add_action(
    *,
    case: Case,
    agency: Agency,
    acting_user: User,
    pillar: str,
    text: str,
    owner: User | None,
    action_agency: Agency,
    due_on: date,
    meeting: Any = None,
) -> Action:
    _choice(pillar, c.Pillar.values, "pillar", "Choose the plan pillar.")
    text = _text(text, "text", "Describe the action.", 2000)
    if due_on is None:
        raise DomainError("Give the due date.", field="due_on")
    _validate_action_owner(owner, action_agency, case)
    action = Action(
        case=case,
        owner_agency=agency,
        created_by=acting_user,
        pillar=pillar,
        text=text,
        owner=owner,
        agency=action_agency,
        due_on=due_on,
        meeting=meeting,
    )
    _save_change(action, case=case, agency=agency, acting_user=acting_user, kind="action")
    notifications.notify_action_assigned(action, acting_user)
    return action


@transaction.atomic
def do_update_action(
    *,
    action: Action,
    version: int | None,
    agency: Agency,
    acting_user: User,
    status: str | None = None,
    due_on: date | None = None,
) -> Action:
    _check_version(action, version, "action")
    changes: dict[str, Any] = {}
    if status is not None:
        _choice(status, c.ActionStatus.values, "status", "Choose the action's status.")
        changes["status"] = status
        changes["completed_at"] = timezone.now() if status == c.ActionStatus.DONE else None
        if status == action.status:
            changes.pop("completed_at")
    if due_on is not None:
        changes["due_on"] = due_on
    if not changes:
        raise DomainError("Change the status or the due date.", field="status")
    _save_change(
        action,
        case=action.case,
        agency=agency,
        acting_user=acting_user,
        kind="action",
        changes=changes,
        if_unchanged="status",
    )
    return action


@transaction.atomic
def do_reassign_action(
    *,
    action: Action,
    version: int | None,
    agency: Agency,
    acting_user: User,
    owner: User,
    action_agency: Agency,
) -> Action:
    """Give the action to ``owner`` in ``action_agency`` (an agency working on the case now)."""
    _check_version(action, version, "action")
    _validate_action_owner(owner, action_agency, action.case)
    _save_change(
        action,
        case=action.case,
        agency=agency,
        acting_user=acting_user,
        kind="action",
        changes={"owner": owner, "agency": action_agency},
        if_unchanged="owner",
    )
    notifications.notify_action_assigned(action, acting_user)
    return action


@transaction.atomic
def do_add_action_update(*, action: Action, agency: Agency, acting_user: User, text: str) -> ActionUpdate:
    text = _text(text, "text", "Write the update.", 5000)
    update = ActionUpdate(action=action, owner_agency=agency, created_by=acting_user, text=text)
    _save_change(
        update, case=action.case, agency=agency, acting_user=acting_user, kind="action", object_id=action.pk
    )
    return update
