"""Orders (SPOs, interim SPOs and others), their events, conditions and breaches."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import transaction

from agencies.models import Agency, User
from core.errors import DomainError

from .. import choices as c
from ..models import Breach, Case, Condition, Order, OrderEvent
from .plumbing import (
    _categories,
    _check_version,
    _choice,
    _finish_change,
    _not_future,
    _save_change,
    _save_changes,
    _text,
)

SPO_TYPES = frozenset({c.OrderType.SPO, c.OrderType.INTERIM_SPO})
SPO_MINIMUM_DAYS = 730  # a full SPO lasts at least two years (Stalking Protection Act 2019 s5(3))
SPO_NOTIFY_DAYS = 3  # the subject notifies name and address within 3 days of service (s9)
ORDER_FIELDS = frozenset(
    {
        "order_type",
        "legal_basis",
        "court",
        "status",
        "applied_on",
        "made_on",
        "served_on",
        "starts_on",
        "ends_on",
        "until_further_order",
        "notification_met_on",
    }
)


def _years_after(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def validate_order(values: dict[str, Any]) -> dict[str, Any]:
    """Check an order's dates and type; fill in its notification due date. Returns the values.

    Decision: a *full* SPO with a fixed end less than two years after it starts is refused (the Act
    allows no shorter full order); an interim SPO has no minimum. The notification requirement
    (name and address within 3 days of service) applies to full and interim SPOs.
    """
    _choice(values.get("order_type"), c.OrderType.values, "order_type", "Choose the type of order.")
    _choice(values.get("status"), c.OrderStatus.values, "status", "Choose the order's status.")
    if not (values.get("legal_basis") or "").strip():
        raise DomainError("Give the order's legal basis.", field="legal_basis")
    for name, label in (
        ("applied_on", "The application date"),
        ("made_on", "The date made"),
        ("served_on", "The date served"),
    ):
        _not_future(values.get(name), name, label)
    applied, made, served = values.get("applied_on"), values.get("made_on"), values.get("served_on")
    if applied and made and made < applied:
        raise DomainError("An order cannot be made before it was applied for.", field="made_on")
    if made and served and served < made:
        raise DomainError("An order cannot be served before it was made.", field="served_on")
    starts, ends = values.get("starts_on"), values.get("ends_on")
    if values.get("until_further_order") and ends is not None:
        raise DomainError(
            "An order until further order has no end date: clear one or the other.", field="ends_on"
        )
    if starts and ends and ends < starts:
        raise DomainError("An order cannot end before it starts.", field="ends_on")
    if values["order_type"] == c.OrderType.SPO and starts and ends and ends < _years_after(starts, 2):
        raise DomainError(
            "A full Stalking Protection Order lasts at least two years or until further order.",
            field="ends_on",
        )
    if values["order_type"] in SPO_TYPES and served:
        values["notification_due_on"] = served + timedelta(days=SPO_NOTIFY_DAYS)
    else:
        values["notification_due_on"] = None
    met = values.get("notification_met_on")
    _not_future(met, "notification_met_on", "The notification date")
    if met and served and met < served:
        raise DomainError(
            "Notification cannot be met before the order was served.", field="notification_met_on"
        )
    return values


@transaction.atomic
def do_add_order(*, case: Case, agency: Agency, acting_user: User, values: dict[str, Any]) -> Order:
    unknown = set(values) - ORDER_FIELDS
    if unknown:
        raise DomainError("Unknown order field.", field=sorted(unknown)[0])
    values = {"status": c.OrderStatus.IN_FORCE, "court": "", "until_further_order": False, **values}
    validate_order(values)
    order = Order(case=case, owner_agency=agency, created_by=acting_user, **values)
    _save_change(order, case=case, agency=agency, acting_user=acting_user, kind="order")
    return order


@transaction.atomic
def do_update_order(
    *, order: Order, version: int | None, agency: Agency, acting_user: User, changes: dict[str, Any]
) -> Order:
    unknown = set(changes) - ORDER_FIELDS
    if unknown:
        raise DomainError("Unknown order field.", field=sorted(unknown)[0])
    _check_version(order, version, "order")
    merged = {name: getattr(order, name) for name in ORDER_FIELDS} | dict(changes)
    validate_order(merged)
    changes = dict(changes, notification_due_on=merged["notification_due_on"])
    _save_change(
        order,
        case=order.case,
        agency=agency,
        acting_user=acting_user,
        kind="order",
        changes=changes,
        if_unchanged="status",
    )
    return order


EVENT_STATUS: dict[str, str] = {
    c.OrderEventKind.VARIATION: c.OrderStatus.VARIED,
    c.OrderEventKind.RENEWAL: c.OrderStatus.IN_FORCE,
    c.OrderEventKind.DISCHARGE: c.OrderStatus.DISCHARGED,
}


@transaction.atomic
def do_add_order_event(
    *,
    order: Order,
    agency: Agency,
    acting_user: User,
    kind: str,
    occurred_on: date,
    details: str | None = None,
    new_ends_on: date | None = None,
) -> OrderEvent:
    """Record a variation, renewal or discharge; the order's status (and end, on renewal) follows."""
    _choice(kind, c.OrderEventKind.values, "kind", "Choose variation, renewal or discharge.")
    if occurred_on is None:
        raise DomainError("Give the date.", field="occurred_on")
    _not_future(occurred_on, "occurred_on", "The date")
    if order.starts_on and occurred_on < order.starts_on:
        raise DomainError("This cannot happen before the order started.", field="occurred_on")
    if new_ends_on is not None and kind != c.OrderEventKind.RENEWAL:
        raise DomainError("Only a renewal sets a new end date.", field="new_ends_on")
    event = OrderEvent(
        order=order,
        owner_agency=agency,
        created_by=acting_user,
        kind=kind,
        occurred_on=occurred_on,
        details=details or None,
    )
    event.save()
    changes: dict[str, Any] = {"status": EVENT_STATUS[kind]}
    if new_ends_on is not None:
        if order.starts_on and new_ends_on < order.starts_on:
            raise DomainError("An order cannot end before it starts.", field="new_ends_on")
        changes.update(ends_on=new_ends_on, until_further_order=False)
    _save_changes(order, changes)
    _finish_change(
        event, case=order.case, agency=agency, acting_user=acting_user, kind="order", object_id=order.pk
    )
    return event


@transaction.atomic
def do_add_condition(
    *,
    order: Order,
    agency: Agency,
    acting_user: User,
    kind: str,
    text: str,
    protected_persons: str | None = None,
    exclusion_zone: Any = None,
    electronic_monitoring: bool = False,
) -> Condition:
    _choice(kind, c.ConditionKind.values, "kind", "Choose prohibition or positive requirement.")
    text = _text(text, "text", "Write the condition as the order words it.", 5000)
    condition = Condition(
        order=order,
        owner_agency=agency,
        created_by=acting_user,
        kind=kind,
        text=text,
        protected_persons=protected_persons or None,
        exclusion_zone=exclusion_zone or None,
        electronic_monitoring=bool(electronic_monitoring),
    )
    fields = (
        ["text"]
        + (["exclusion_zone"] if exclusion_zone else [])
        + (["protected_persons"] if protected_persons else [])
    )
    _save_change(
        condition,
        case=order.case,
        agency=agency,
        acting_user=acting_user,
        kind="condition",
        categories=_categories(condition, fields),
    )
    return condition


@transaction.atomic
def do_record_breach(
    *,
    order: Order,
    agency: Agency,
    acting_user: User,
    occurred_on: date,
    reported_by: str,
    description: str,
    action_taken: str | None = None,
    outcome: str = "",
) -> Breach:
    if occurred_on is None:
        raise DomainError("Give the date of the breach.", field="occurred_on")
    _not_future(occurred_on, "occurred_on", "The breach date")
    if order.starts_on and occurred_on < order.starts_on:
        raise DomainError("A breach cannot happen before the order started.", field="occurred_on")
    reported_by = _text(reported_by, "reported_by", "Say who reported the breach.", 200)
    description = _text(description, "description", "Describe the breach.")
    breach = Breach(
        order=order,
        owner_agency=agency,
        created_by=acting_user,
        occurred_on=occurred_on,
        reported_by=reported_by,
        description=description,
        action_taken=action_taken or None,
        outcome=(outcome or "")[:200],
    )
    _save_change(breach, case=order.case, agency=agency, acting_user=acting_user, kind="breach")
    return breach
