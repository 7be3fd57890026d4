"""Access matrix over EVERY route (issue 9), generated from the URL configuration and the router:
a new route cannot be missed, because a route whose arguments this drill cannot fill fails it.

For each route, personas outside the Northshire agreement (an outsider force's practitioner,
chair, admin, DPO and auditor) and a person whose membership has ended ask for Northshire's
objects by their real ids (IDOR). Each answer must be exactly the answer to the same request with
ids that name nothing (status and body), no answer may be a success that shows Northshire's case,
and no write may change anything. Routes that end the session are asked last, so every other
request is made signed in. Expired and revoked tokens get 401 on every API route; anonymous
visitors are sent to sign in."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from agencies.models import ApiToken
from agencies.services import do_end_membership, do_invite_agency_admin, do_issue_token, do_revoke_token
from cases import choices as c
from cases.services import NominalInput, ReferralInput, do_add_action, do_add_order, do_open_case
from lifecycle.sar import SubjectQuery, do_open_sar
from lifecycle.services import do_erase_case, do_set_legal_hold
from meetings.services import do_add_agenda_item, do_invite, do_schedule_meeting
from notifications.models import Notification
from sharing.models import CaseShare, MatchNotice
from sharing.services import do_break_glass
from tests.world import make_case

FIGURES = Path(__file__).resolve().parents[2] / "test-artifacts" / "route-matrix.json"
OUTSIDERS = ("outsider_practitioner", "outsider_chair", "outsider_admin", "outsider_dpo", "outsider_auditor")


def _routes() -> list[tuple[str, list[str]]]:
    """Every URL pattern as (regex, argument names), walking includes and routers."""
    found: list[tuple[str, list[str]]] = []

    def walk(resolver: URLResolver, prefix: str) -> None:
        for entry in resolver.url_patterns:
            regex = entry.pattern.regex.pattern.lstrip("^").rstrip("$").replace("\\Z", "")
            if isinstance(entry, URLResolver):
                walk(entry, prefix + regex)
            elif isinstance(entry, URLPattern):
                full = prefix + regex
                found.append((full, list(re.compile(full).groupindex)))

    walk(get_resolver(), "")
    return found


def _app_routes() -> list[tuple[str, list[str]]]:
    return [(r, names) for r, names in _routes() if not r.replace("\\", "").startswith("django-admin")]


def _admin_routes() -> list[tuple[str, list[str]]]:
    return [(r, names) for r, names in _routes() if r.replace("\\", "").startswith("django-admin")]


def _fill(regex: str, values: dict[str, str]) -> str:
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], regex)
    path = path.replace("\\.", ".").replace("\\", "")
    return "/" + path.lstrip("/")


@pytest.fixture
def northshire(world):
    """Real Northshire objects of every kind a route can name."""
    police, owner = world.agencies["police"], world.police_practitioner
    case = world.case
    order = do_add_order(
        case=case,
        agency=police,
        acting_user=owner,
        values={
            "order_type": c.OrderType.SPO,
            "legal_basis": "Stalking Protection Act 2019 s2",
            "made_on": timezone.localdate() - timedelta(days=30),
            "starts_on": timezone.localdate() - timedelta(days=30),
            "ends_on": timezone.localdate() + timedelta(days=800),
        },
    )
    action = do_add_action(
        case=case,
        agency=police,
        acting_user=owner,
        pillar=c.Pillar.SUPERVISION,
        text="Weekly home visit",
        owner=owner,
        action_agency=police,
        due_on=timezone.localdate() + timedelta(days=7),
    )
    meeting = do_schedule_meeting(
        forum="mappa",
        title="Northshire MAPPA level 2 review",
        scheduled_for=timezone.now() + timedelta(days=1),
        chair=world.police_chair,
        chair_agency=police,
        acting_user=world.police_chair,
    )
    item = do_add_agenda_item(meeting=meeting, case=case, acting_user=world.police_chair)
    do_invite(
        meeting=meeting,
        user=world.health_practitioner,
        agency=world.agencies["health"],
        acting_user=world.police_chair,
    )
    attendee = meeting.attendees.first()
    assert attendee is not None
    hidden = make_case(world, share_with=(), family="Ashdown")
    glass = do_break_glass(
        case=hidden,
        user=world.probation_practitioner,
        agency=world.agencies["probation"],
        agreement=world.agreement,
        reason="Urgent: risk to victim reported out of hours",
    )
    referral = do_open_case(  # CPS refers Daniel Ashdown: the police chairs get a match notice
        nominal_data=NominalInput(
            given_name="Daniel", family_name="Ashdown", date_of_birth=date(1986, 4, 12)
        ),
        referral=ReferralInput(
            reason="Referred by the CPS",
            lawful_basis="DPA 2018 Part 3",
            index_offence="Stalking",
            received_on=timezone.localdate() - timedelta(days=1),
        ),
        forum="clinic",
        lead_agency=world.agencies["cps"],
        acting_user=world.cps_practitioner,
    )
    notice = MatchNotice.objects.get(referral_case=referral)
    erased = make_case(world, share_with=(), family="Gone")
    certificate = do_erase_case(
        erased, acting_user=world.police_dpo, agency=police, rule=None, reason="Retention review: erase"
    )
    held = make_case(world, share_with=(), family="Holdfast")
    hold = do_set_legal_hold(
        case=held, reason="Civil claim pending", acting_user=world.police_dpo, agency=police
    )
    sar = do_open_sar(
        agency=police,
        handled_by=world.police_dpo,
        query=SubjectQuery(
            kind="perpetrator", given_name="Daniel", family_name="Marsh", date_of_birth=date(1986, 4, 12)
        ),
    )
    token, _ = do_issue_token(user=owner, days=5)
    invitation, _ = do_invite_agency_admin(
        agency=police, first_name="Ina", last_name="Vite", acting_user=None
    )
    membership = world.memberships["police_practitioner"]
    share = CaseShare.objects.filter(case=case).first()
    assert share is not None
    victim = case.victims.first()
    values = {
        "case_id": case.pk,
        "victim_id": victim.pk,
        "order_id": order.pk,
        "action_id": action.pk,
        "item_id": item.pk,
        "attendee_id": attendee.pk,
        "meeting_id": meeting.pk,
        "token_id": token.pk,
        "slug": police.slug,
        "record_type": "case",
        "action": "activate",
        "event_id": 1,
        "user_id": owner.pk,
        "agency_id": police.pk,
    }
    notification = Notification.objects.filter(recipient=world.police_chair).first()
    assert notification is not None
    by_prefix = [
        ("api/v1/cases/", case.pk),
        ("cases/", case.pk),
        ("sharing/agreements/", world.agreement.pk),
        ("api/v1/agreements/", world.agreement.pk),
        ("sharing/shares/", share.pk),
        ("api/v1/shares/", share.pk),
        ("sharing/break-glass/", glass.pk),
        ("sharing/match-notices/", notice.pk),
        ("api/v1/match-notices/", notice.pk),
        ("api/v1/break-glass/", glass.pk),
        ("meetings/", meeting.pk),
        ("lifecycle/certificates/", certificate.pk),
        ("api/v1/lifecycle/certificates/", certificate.pk),
        ("lifecycle/holds/", hold.pk),
        ("api/v1/lifecycle/holds/", hold.pk),
        ("lifecycle/sar/", sar.pk),
        ("api/v1/lifecycle/sars/", sar.pk),
        ("lifecycle/review/", case.pk),
        ("operations/agencies/", invitation.pk),
        ("people/", membership.pk),
        ("audit/", case.pk),
        ("api/v1/audit/", case.pk),
        ("notifications/", notification.pk),
    ]
    secrets_to_hide = [case.reference, "Priya Shah", "3 Willow Court", "Quarry Lane", "Weekly home visit"]
    return {"values": values, "by_prefix": by_prefix, "secrets": secrets_to_hide, "case": case, "hold": hold}


READ_ONLY_PAGES = {"/", "/healthz", "/readyz"}
# forms for something new: an empty POST is answered with the form and its error summary, writing nothing
FORM_PAGES = {"/cases/new/", "/meetings/new/", "/sharing/agreements/new/"}
ERROR_SUMMARY = "There is a problem"


def _values_for(path_regex: str, names: list[str], samples: dict) -> dict[str, str] | None:
    values = {}
    for name in names:
        if name == "pk":
            plain = path_regex.replace("^", "").replace("\\", "")
            match = next((v for prefix, v in samples["by_prefix"] if plain.startswith(prefix)), None)
            if match is None:
                return None
            values[name] = str(match)
        elif name in samples["values"]:
            values[name] = str(samples["values"][name])
        elif name == "format":
            values[name] = ".json"
        else:
            return None
    return values


SIGNING_OUT = ("signout/",)  # routes that end the client's session: asked last, after every other route


def _signing_out_last(routes: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    def ends_session(regex: str) -> bool:
        return regex.replace("\\", "").startswith(SIGNING_OUT)

    return [r for r in routes if not ends_session(r[0])] + [r for r in routes if ends_session(r[0])]


NOT_OBJECT_IDS = {"record_type", "action", "format"}  # route arguments that name a kind, not an object


def _unknown_twin(values: dict[str, str], samples: dict) -> dict[str, str]:
    """The same arguments with every object id replaced by one that names nothing."""
    twin = {}
    for name, value in values.items():
        if name in NOT_OBJECT_IDS:
            twin[name] = value
        elif re.fullmatch(r"[0-9a-f-]{36}", value):
            twin[name] = str(uuid.uuid4())
        elif value.isdigit():
            twin[name] = str(900_000_000 + int(value))
        else:
            twin[name] = f"no-such-{value}"
    return twin


_VOLATILE = [
    re.compile(r'nonce="[^"]*"'),
    re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"'),
    re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
]


def _comparable(response: Any, ids: list[str]) -> tuple[int, str]:
    """A response's status and body with the ids asked for and per-response tokens blanked out."""
    body = response.content.decode(errors="replace")
    for value in sorted(ids, key=len, reverse=True):  # as whole tokens: "2" is not the 2 of "htmx-2.js"
        body = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", "<id>", body)
    for pattern in _VOLATILE:
        body = pattern.sub("<v>", body)
    return response.status_code, body


def _row_counts() -> dict[str, int]:
    return {
        m._meta.label: m._default_manager.count()
        for m in apps.get_models()
        if m._meta.app_label in ("cases", "sharing", "meetings", "lifecycle", "agencies")
    }


def test_every_route_refuses_other_agencies_objects_to_outsiders_and_ended_members(
    world, northshire, signed_in
):
    # given the outsiders and a health practitioner whose membership has ended
    do_end_membership(membership=world.memberships["health_practitioner"], acting_user=world.health_admin)
    personas = [*OUTSIDERS, "health_practitioner"]
    unfillable, leaks, oracles, tried = [], [], [], 0
    accepted_posts: set[str] = set()
    before = _row_counts()
    clients = {persona: signed_in(getattr(world, persona)) for persona in personas}
    for regex, names in _signing_out_last(_app_routes()):
        values = _values_for(regex, names, northshire)
        if values is None:
            unfillable.append(regex)
            continue
        path = _fill(regex, values)
        twin = _unknown_twin(values, northshire)
        twin_path = _fill(regex, twin) if names else None
        for persona, client in clients.items():
            for method in ("get", "post"):
                tried += 1
                response = getattr(client, method)(path, {} if method == "post" else None)
                body = response.content.decode(errors="replace")
                if twin_path is not None:
                    # a real object they may not see answers exactly like one that does not exist
                    unknown = getattr(client, method)(twin_path, {} if method == "post" else None)
                    real_ids, twin_ids = list(values.values()), list(twin.values())
                    if _comparable(response, real_ids) != _comparable(unknown, twin_ids):
                        oracles.append(
                            f"{method.upper()} {path} as {persona}: {response.status_code}, "
                            f"but {unknown.status_code} for an unknown id (or another body)"
                        )
                shown = [s for s in northshire["secrets"] if s in body]
                if response.status_code < 300 and shown:
                    leaks.append(
                        f"{method.upper()} {path} as {persona}: {response.status_code} shows Northshire data"
                    )
                is_form_answer = path in FORM_PAGES and ERROR_SUMMARY in body
                if method == "post" and response.status_code < 300 and not is_form_answer:
                    accepted_posts.add(path)
    # then every route could be exercised, nothing leaked, and nothing was written
    assert not unfillable, f"routes this drill cannot fill (teach it their arguments): {unfillable}"
    assert not leaks, "\n".join(leaks)
    assert not oracles, "\n".join(oracles)
    assert _row_counts() == before
    # a POST is refused (405) by every page that only reads, and a form for something new answers an
    # empty one with its errors; only the few pages with no case at all answer a POST like a GET
    assert accepted_posts <= READ_ONLY_PAGES, "\n".join(sorted(accepted_posts - READ_ONLY_PAGES))
    _write_figures(personas_routes=tried)


def test_expired_and_revoked_tokens_and_anonymous_visitors_get_nothing(world, northshire, client):
    # given a revoked token and an expired token of the case owner
    revoked, revoked_raw = do_issue_token(user=world.police_practitioner, days=3)
    do_revoke_token(token=revoked, acting_user=world.police_practitioner)
    expired, expired_raw = do_issue_token(user=world.police_practitioner, days=3)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    tried = 0
    for regex, names in _app_routes():
        values = _values_for(regex, names, northshire)
        assert values is not None, regex
        path = _fill(regex, values)
        if path.startswith("/api/v1/"):
            for raw in (revoked_raw, expired_raw):
                tried += 1
                response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {raw}")
                assert response.status_code == 401, (path, response.status_code)
            tried += 1
            assert client.get(path).status_code in (401, 403), path
        elif not path.startswith(
            ("/signin/", "/healthz", "/readyz", "/api/schema", "/api/docs", "/signout/", "/.well-known/")
        ):
            tried += 1
            response = client.get(path)
            assert response.status_code in (302, 405), (path, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith("/signin/"), path
    _write_figures(token_and_anonymous=tried)


def test_every_django_admin_page_is_for_superusers_only(world, signed_in):
    # given an agency admin and a practitioner, signed in with both factors
    membership = world.memberships["police_practitioner"]
    fill = {
        "object_id": str(membership.pk),
        "pk": "1",
        "content_type_id": "1",
        "app_label": "agencies",
        "url": "agencies/membership/",
    }
    tried = 0
    for persona in ("police_admin", "outsider_admin", "police_practitioner"):
        client = signed_in(getattr(world, persona))
        # when they open any admin page, with real object ids
        for regex, names in _admin_routes():
            path = _fill(regex, {name: fill[name] for name in names})
            if path.rstrip("/").endswith(("login", "logout", "jsi18n")):
                continue
            tried += 1
            response = client.get(path)
            # then they are sent to the admin sign-in, never shown a page
            assert response.status_code in (302, 404), (persona, path, response.status_code)
            if response.status_code == 302:
                assert "/django-admin/login/" in response["Location"], path
    _write_figures(admin_pages=tried)


def _write_figures(**figures: int) -> None:
    FIGURES.parent.mkdir(exist_ok=True)
    existing = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    existing.update(figures)
    existing["routes"] = len(_app_routes())
    existing["admin_routes"] = len(_admin_routes())
    FIGURES.write_text(json.dumps(existing, indent=2))
