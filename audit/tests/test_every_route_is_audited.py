"""Every URL pattern and API route that shows or changes case data records the right audit event, with
the viewer's justification. Routes are discovered from the resolver, so a new one cannot be missed:
it must be added to READS or CHANGES below (or the test fails naming it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from audit.models import AuditEvent, Op
from sharing import policy

CASE_KWARGS = {"pk", "case_id"}
SKIP_PREFIXES = ("audit/",)  # the auditor pages show events about a case, never its content


def discovered() -> Iterator[tuple[str, str, str]]:
    """(route, url name, api|page) for every route taking a case id under cases/ (pages or API)."""

    def walk(resolver: Any, prefix: str, ns: str) -> Iterator[tuple[str, str, Any]]:
        for item in resolver.url_patterns:
            if isinstance(item, URLResolver):
                yield from walk(
                    item, prefix + str(item.pattern), ns + (f"{item.namespace}:" if item.namespace else "")
                )
            elif isinstance(item, URLPattern) and item.name:
                yield prefix + str(item.pattern), ns + item.name, item

    for route, name, pattern in walk(get_resolver(), "", ""):
        keys = set(pattern.pattern.regex.groupindex)
        if route.startswith(SKIP_PREFIXES) or not (keys & CASE_KWARGS) or "cases/" not in route:
            continue
        yield route, name, ("api" if name.startswith("api:") else "page")


# every GET of case data is a consultation, recorded with the viewer's justification
READS = {
    "cases:detail",
    "cases:summary-pdf",
    "cases:edit",
    "cases:victim-edit",
    "cases:plan-edit",
    "cases:action-status",
    "cases:action-reassign",
    "cases:screening",
    "sharing:case-disclosures",
    "api:case-detail",
    "api:case-actions",
    "api:case-assessments",
    "api:case-nominal",
    "api:case-notes",
    "api:case-orders",
    "api:case-plan",
    "api:case-referral",
    "api:case-victims",
    "api:case-disclosure-list",
    "sharing:case-shares",
    "api:case-share-list",
}
# reads that do NOT record a consultation yet: each fails today and is marked xfail(strict), so the
# test turns red (XPASS) the moment the owning view is fixed and the entry must move to READS
KNOWN_GAPS: dict[str, str] = {}
# GET renders a blank form (no case content) or the route takes no GET at all
FORMS = {
    "cases:status",
    "cases:note-add",
    "cases:victim-add",
    "cases:assessment-add",
    "cases:action-add",
    "cases:order-add",
    "cases:condition-add",
    "cases:breach-add",
    "cases:order-event-add",
    "sharing:break-glass",
}
# changing routes (no GET) that have no example call below yet: listed in the audit helper's report
CHANGES_WITHOUT_EXAMPLE = {
    "api:case-break-glass",  # the case owner's agency cannot break glass on its own case; see sharing tests
}
NOT_READS = FORMS | CHANGES_WITHOUT_EXAMPLE
# reads open only to some viewers of the case: the policy question that decides each. Any read not
# named here must answer 200 to every viewer of the case; one named here must answer 200 exactly when
# the policy says yes, and refuse (403/404, recording no consultation) when it says no.
GATES: dict[str, Callable[[Any, Any], bool]] = {
    "cases:edit": policy.can_edit_case,
    "cases:victim-edit": policy.can_edit_case,
    "cases:plan-edit": policy.can_edit_case,
    # the records' action is the lead's own and agreed at no review: who may change or reassign it
    # (policy.can_update_action / can_reassign_action) is then exactly who may edit the case
    "cases:action-status": policy.can_edit_case,
    "cases:action-reassign": policy.can_edit_case,
    "cases:screening": policy.can_edit_case,
    "sharing:case-disclosures": policy.can_view_disclosures,
    "api:case-disclosure-list": policy.can_view_disclosures,
}
# name -> (method, payload) for changes; the event each records is checked below
# a payload may be a function of the records (for versions read at call time)
CHANGES: dict[str, tuple[str, Any, str]] = {
    "cases:note-add": ("post", {"body": "Route-walk note", "category": "C9", "basis": "fact"}, Op.COLLECT),
    "api:case-notes": ("post", {"body": "Route-walk note", "category": "C9", "basis": "fact"}, Op.COLLECT),
    "api:case-conditions": (
        "post",
        {"kind": "prohibition", "text": "No contact with the victim"},
        Op.COLLECT,
    ),
    "api:case-breaches": (
        "post",
        lambda r: {
            "occurred_on": str(timezone.localdate()),
            "reported_by": "Victim",
            "description": "Approached",
        },
        Op.COLLECT,
    ),
    "api:case-order-events": (
        "post",
        lambda r: {"kind": "variation", "occurred_on": str(timezone.localdate()), "details": "Zone widened"},
        Op.COLLECT,
    ),
    "api:case-action-updates": ("post", {"text": "Visit done; no concerns"}, Op.COLLECT),
    "api:case-action-change": (
        "patch",
        lambda r: {"version": r["action"].version, "status": "done"},
        Op.ALTER,
    ),
    "api:case-action-reassign": (
        "post",
        lambda r: {
            "version": r["action"].version,
            "owner": r["action"].owner_id,
            "agency": r["action"].agency_id,
        },
        Op.ALTER,
    ),
    "api:case-status": ("post", lambda r: {"version": r["case"].version, "status": "screening"}, Op.ALTER),
    "api:case-victim": (
        "patch",
        lambda r: {"version": r["victim"].version, "area": "Northtown west"},
        Op.ALTER,
    ),
    "api:case-order": ("patch", lambda r: {"version": r["order"].version, "court": "Northtown MC"}, Op.ALTER),
}


@pytest.fixture
def records(world) -> dict[str, Any]:
    from cases import services as s

    police, user = world.agencies["police"], world.police_practitioner
    today = timezone.localdate()
    order = s.do_add_order(
        case=world.case,
        agency=police,
        acting_user=user,
        values={
            "order_type": "spo",
            "legal_basis": "Stalking Protection Act 2019 s1",
            "made_on": today - timedelta(days=10),
            "served_on": today - timedelta(days=9),
            "starts_on": today - timedelta(days=9),
            "until_further_order": True,
        },
    )
    action = s.do_add_action(
        case=world.case,
        agency=police,
        acting_user=user,
        pillar="supervision",
        text="Home visit",
        owner=user,
        action_agency=police,
        due_on=today,
    )
    victim = world.case.victims.first()
    world.case.refresh_from_db()
    return {"pk": world.case.pk, "case_id": world.case.pk, "order_id": order.pk, "action_id": action.pk,
            "victim_id": victim.pk if victim else uuid.uuid4(), "case": world.case, "order": order,
            "action": action, "victim": victim}  # fmt: skip


def url_for(route_name: str, records: dict[str, Any]) -> str:
    from django.urls import reverse

    pattern = next(p for p in _patterns() if p[1] == route_name)[2]
    kwargs = {key: records[key] for key in pattern.pattern.regex.groupindex}
    return reverse(route_name, kwargs=kwargs)


def _patterns() -> list[tuple[str, str, Any]]:
    def walk(resolver: Any, prefix: str, ns: str) -> Iterator[tuple[str, str, Any]]:
        for item in resolver.url_patterns:
            if isinstance(item, URLResolver):
                yield from walk(
                    item, prefix + str(item.pattern), ns + (f"{item.namespace}:" if item.namespace else "")
                )
            elif isinstance(item, URLPattern) and item.name:
                yield prefix + str(item.pattern), ns + item.name, item

    return list(walk(get_resolver(), "", ""))


def test_every_case_route_is_in_the_registry() -> None:
    # given every route taking a case id / then each is registered as a read, a change or a non-read
    names = {name for _route, name, _kind in discovered()}
    assert names - (READS | set(KNOWN_GAPS) | NOT_READS | set(CHANGES)) == set()


def test_every_registered_route_still_exists() -> None:
    # given the registry / then every name in it is still served (a deleted or renamed route fails here)
    names = {name for _route, name, _kind in discovered()}
    registered = READS | set(KNOWN_GAPS) | NOT_READS | set(CHANGES) | set(GATES)
    assert registered - names == set()


def _client(kind: str, user: Any, signed_in: Any, api: Any) -> Any:
    return api(user) if kind == "api" else signed_in(user)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(READS | set(KNOWN_GAPS)))
@pytest.mark.parametrize("persona", ["police_practitioner", "health_practitioner"])
def test_every_read_of_case_data_records_a_consultation_with_its_justification(
    world, records, signed_in, api, name, persona, request
) -> None:
    if name in KNOWN_GAPS:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"no CONSULT recorded: {KNOWN_GAPS[name]}"))
    # given a viewer (lead or partner) and the route
    user = getattr(world, persona)
    access = policy.case_access(user, world.case)
    assert access is not None
    policy.forget(user)
    kind = "api" if name.startswith("api:") else "page"
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    gate = GATES.get(name)
    allowed = gate(user, world.case) if gate is not None else True
    policy.forget(user)
    # when they read it
    response = _client(kind, user, signed_in, api).get(url_for(name, records))
    if not allowed:
        # then the policy's refusal is the answer, and nothing was consulted
        assert response.status_code in (403, 404), (name, persona, response.status_code)
        assert not AuditEvent.objects.filter(
            id__gt=before, case_id=world.case.pk, actor_id=user.pk, op=Op.CONSULT
        ).exists(), f"{name} refused {persona} but recorded a consultation"
        return
    assert response.status_code == 200, (name, persona, response.status_code)
    # then a consultation of the case by them is recorded, with their justification
    events = AuditEvent.objects.filter(id__gt=before, case_id=world.case.pk, actor_id=user.pk)
    consults = [e for e in events if e.op == Op.CONSULT]
    assert consults, f"{name} recorded no consultation"
    assert all(e.justification == access.justification for e in consults), [e.justification for e in consults]


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(CHANGES))
def test_every_change_records_its_event_with_the_case(world, records, signed_in, api, name) -> None:
    user = world.police_practitioner
    method, payload, op = CHANGES[name]
    payload = payload(records) if callable(payload) else payload
    kind = "api" if name.startswith("api:") else "page"
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    client = _client(kind, user, signed_in, api)
    response = getattr(client, method)(
        url_for(name, records), payload, **({"format": "json"} if kind == "api" else {})
    )
    assert response.status_code in (200, 201, 302), (name, response.status_code, response.content[:300])
    assert AuditEvent.objects.filter(id__gt=before, case_id=world.case.pk, actor_id=user.pk, op=op).exists()
