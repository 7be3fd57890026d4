"""A case's timeline: the dated events of one case that a viewer may see, drawn with core.charts.

Field by field through the policy (``policy.visible_fields``): referral, risk assessments, orders,
breaches, and the reviews and decisions of the meetings that discussed the case.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.safestring import SafeString

from core import charts
from meetings.models import AgendaItem, Decision
from sharing import policy

from .models import Breach, Case, Order, Referral, RiskAssessment


def case_timeline_events(access: policy.Access, case: Case) -> list[charts.TimelineEvent]:
    """The dated events of one case that this access may see, field by field (``policy.visible_fields``):
    referral, risk assessments, orders, breaches, reviews and decisions. No encrypted value is read:
    labels are built from dates, kinds and levels only. Six queries, whatever the case holds."""
    events: list[charts.TimelineEvent] = []

    def sees(obj: object, name: str) -> bool:
        return name in policy.visible_fields(access, obj)

    for referral in Referral.objects.filter(case=case):
        if sees(referral, "received_on"):
            events.append(charts.TimelineEvent(referral.received_on, "referral", "Referral received"))
    for assessment in RiskAssessment.objects.filter(case=case).order_by("assessed_on"):
        if sees(assessment, "assessed_on"):
            risk = assessment.get_risk_level_display() if sees(assessment, "risk_level") else ""
            label = f"{assessment.get_tool_display()}" + (f": {risk.lower()} risk" if risk else "")
            events.append(charts.TimelineEvent(assessment.assessed_on, "assessment", label))
    orders = list(Order.objects.filter(case=case))
    for order in orders:
        when = order.made_on if sees(order, "made_on") and order.made_on else None
        when = when or (order.starts_on if sees(order, "starts_on") else None)
        if when and sees(order, "order_type"):
            events.append(charts.TimelineEvent(when, "order", f"{order.get_order_type_display()} made"))
    for breach in Breach.objects.filter(order__in=orders):
        if sees(breach, "occurred_on"):
            events.append(charts.TimelineEvent(breach.occurred_on, "breach", "Breach of an order"))
    events += _review_events(access, case, sees)
    return events


def _review_events(
    access: policy.Access, case: Case, sees: Callable[[object, str], bool]
) -> list[charts.TimelineEvent]:
    items = list(
        AgendaItem.objects.filter(case=case, meeting__status__in=["in_progress", "signed_off"])
        .exclude(excluded_agencies__id=access.agency_id)
        .select_related("meeting")
    )
    events = [
        charts.TimelineEvent(i.meeting.scheduled_for.date(), "review", f"Reviewed at {i.meeting.title}")
        for i in items
    ]
    for decision in Decision.objects.filter(item__in=items).select_related("item__meeting"):
        if sees(decision, "kind"):
            label = decision.get_kind_display()
            if decision.to_level and sees(decision, "to_level"):
                label += f": MAPPA level {decision.to_level}"
            events.append(charts.TimelineEvent(decision.item.meeting.scheduled_for.date(), "decision", label))
    return events


def case_timeline(access: policy.Access, case: Case) -> SafeString:
    """The case timeline picture (with its table) for a case page: ``{% case_timeline case access %}``."""
    return charts.timeline(
        title=f"Case {case.reference}: timeline",
        events=case_timeline_events(access, case),
        chart_id="case-timeline",
    )
