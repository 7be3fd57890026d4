"""Hostile input (issue 9): each is refused with a clear 4xx naming the problem, nothing is stored
or half-stored, and nothing renders unescaped."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from cases.models import Case, Nominal, Note
from cases.services import NominalInput, do_update_nominal

TRIED: list[str] = []
FIGURES = Path(__file__).resolve().parents[2] / "test-artifacts" / "hostile-input.json"


def _first_group(pattern: str, text: str) -> str:
    """The first group of ``pattern`` in ``text``, which must match."""
    found = re.search(pattern, text)
    assert found is not None, text
    return found.group(1)


def _notes_url(case) -> str:
    return f"/api/v1/cases/{case.pk}/notes/"


def _post(client, url: str, raw: bytes | str, content_type: str = "application/json"):
    TRIED.append(url)
    return client.generic("POST", url, raw, content_type=content_type)


def test_malformed_json_is_refused_naming_the_problem(world, api):
    client = api(world.health_practitioner)
    before = Note.objects.count()
    response = _post(client, _notes_url(world.case), b'{"body": "unterminated')
    assert response.status_code == 400
    assert "JSON" in json.dumps(response.json())
    assert Note.objects.count() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": ["a", "list"], "category": "C3"}, "body"),
        ({"body": "A note", "category": 3}, "category"),
        ({"body": "A note", "category": "C99"}, "category"),
        ({"body": "A note", "category": "C3", "basis": {"nested": True}}, "basis"),
        ({"category": "C3"}, "body"),
        ({"body": "contains a \x00 NUL", "category": "C3"}, "body"),
        ({"body": "x" * 20001, "category": "C3"}, "body"),
    ],
)
def test_wrong_types_and_bad_values_name_the_field_and_store_nothing(world, api, payload, field):
    client = api(world.health_practitioner)
    before = Note.objects.count()
    response = _post(client, _notes_url(world.case), json.dumps(payload))
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Note.objects.count() == before


def test_an_oversized_body_is_refused_and_nothing_is_stored(world, api):
    client = api(world.health_practitioner)
    before = Note.objects.count()
    huge = json.dumps({"body": "A" * (3 * 1024 * 1024), "category": "C3"})
    response = _post(client, _notes_url(world.case), huge)
    assert response.status_code in (400, 413)
    assert Note.objects.count() == before


@pytest.mark.parametrize(
    "text",
    [
        "Right-to-left \u202egnirts\u202c override",
        "Zero\u200bwidth\u200djoiners\ufeff and BOM",
        "Emoji 🧭🚓 and astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "Combining e\u0301\u0301\u0301 marks",
        "Welsh: Ysgol Gymraeg – ŵ ŷ; Polish: źdźbło",
    ],
)
def test_unicode_edge_cases_are_stored_and_read_back_exactly(world, api, text):
    client = api(world.health_practitioner)
    response = _post(client, _notes_url(world.case), json.dumps({"body": text, "category": "C3"}))
    assert response.status_code == 201
    assert Note.objects.get(pk=response.json()["id"]).body == text


@pytest.mark.parametrize(
    "query",
    [
        "status=' OR '1'='1",
        "mappa_level=1;DROP TABLE cases_case",
        "agency=1 UNION SELECT password FROM agencies_user",
        "review_due=2026-13-45",
        "forum=%00",
    ],
)
def test_injection_strings_in_filters_never_widen_the_list_or_fail_the_server(world, api, query):
    # given a partner practitioner who sees exactly one case
    client = api(world.health_practitioner)
    TRIED.append(f"/api/v1/cases/?{query}")
    response = client.get(f"/api/v1/cases/?{query}")
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        ids = {row["id"] for row in response.json()["results"]}
        assert ids <= {str(world.case.pk)}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/cases/..%2F..%2Fetc%2Fpasswd/",
        "/api/v1/cases/../../etc/passwd",
        "/lifecycle/certificates/..%2F..%2Fetc%2Fpasswd/download/",
        "/lifecycle/sar/..%2F..%2Fkeys%2Fmaster-keys/export.json",
        "/static/..%2F..%2Fconfig%2Fsettings%2Fbase.py",
    ],
)
def test_path_traversal_in_any_name_finds_nothing(world, signed_in, path):
    client = signed_in(world.police_dpo)
    TRIED.append(path)
    response = client.get(path)
    assert response.status_code in (400, 404)
    assert b"SECRET_KEY" not in response.content and b"k1:" not in response.content


def test_script_in_a_note_is_escaped_wherever_it_is_shown(world, api, signed_in):
    script = "<script>alert('convene')</script><img src=x onerror=alert(1)>"
    response = _post(
        api(world.health_practitioner), _notes_url(world.case), json.dumps({"body": script, "category": "C3"})
    )
    assert response.status_code == 201
    page = signed_in(world.police_practitioner).get(f"/cases/{world.case.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "<script>alert('convene')</script>" not in body
    assert "onerror=alert(1)>" not in body
    assert "&lt;script&gt;alert(" in body
    assert "'unsafe-inline'" not in page["Content-Security-Policy"]


# --- the duplicate check and links to another agency's perpetrator record (issue 14) -------------
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REF_RE = re.compile(r"CNV-[0-9]{4}-[0-9A-F]{6}")
TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(\+00:00|Z)?")
MARSH = {"given_name": "Daniel", "family_name": "Marsh", "date_of_birth": "1986-04-12"}


CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
NONCE_RE = re.compile(r'nonce="[^"]*"')


def _scrub(text: str) -> str:
    """A response with what is generated per request (ids, references, times, tokens) replaced."""
    text = NONCE_RE.sub('nonce="<nonce>"', CSRF_RE.sub('name="csrfmiddlewaretoken" value="<csrf>"', text))
    return TIME_RE.sub("<time>", REF_RE.sub("<ref>", UUID_RE.sub("<id>", text)))


def _shape(sql: str) -> str:
    """One SQL statement with its values taken out: what work it does, not on which rows."""
    sql = re.sub(r'"s[0-9]+_x[0-9]+"', '"<savepoint>"', sql)
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b[0-9]+(\.[0-9]+)?\b", "?", sql)
    return re.sub(r"\((?:\?, )*\?\)", "(?…)", sql)


def _referral_form() -> dict[str, str]:
    return {
        **MARSH,
        "forum": "clinic",
        "reason": "Unwanted contact",
        "lawful_basis": "DPA 2018",
        "index_offence": "Stalking",
        "received_on": str(timezone.localdate() - timedelta(days=1)),
        "urgency": "routine",
    }


def _referral_json() -> dict[str, object]:
    form = _referral_form()
    return {
        "nominal": MARSH,
        "forum": "clinic",
        "referral": {k: form[k] for k in ("reason", "lawful_basis", "index_offence", "received_on")},
    }


def _attempt(world, send, *, match: bool) -> tuple[int, str, list[str]]:
    """Send the referral in a world where Northshire's record matches it (or, changed through the
    service first, does not), then roll everything back: (status, scrubbed answer, SQL shapes)."""
    with transaction.atomic(), transaction.atomic(using="keystore"):
        if not match:
            nominal = Nominal.objects.get(pk=world.case.nominal_id)  # fresh: earlier runs rolled back
            do_update_nominal(
                nominal=nominal,
                case=Case.objects.get(pk=world.case.pk),
                version=nominal.version,
                agency=world.agencies["police"],
                acting_user=world.police_practitioner,
                data=NominalInput(
                    given_name="Daniel", family_name="Marchant", date_of_birth=date(1979, 1, 2)
                ),
            )
        with (
            CaptureQueriesContext(connections["default"]) as main,
            CaptureQueriesContext(connections["keystore"]) as keys,
        ):
            response = send()
        transaction.set_rollback(True, using="keystore")
        transaction.set_rollback(True)
    answer = response.get("Location", "") + response.content.decode()
    shapes = [_shape(q["sql"]) for q in [*main.captured_queries, *keys.captured_queries]]
    return response.status_code, _scrub(answer), shapes


@pytest.mark.parametrize("surface", ["api", "page"])
def test_an_outsiders_referral_answers_and_costs_the_same_whether_or_not_the_person_is_known(
    world, api, signed_in, surface
):
    """The timing class: a match the outsider may not see must not change the answer (apart from
    generated ids and references) nor the work done for it (the same SQL statements, in the same
    order, on both databases). No clock is read: equal work is what makes equal time."""
    if surface == "api":
        client = api(world.outsider_practitioner)

        def send():
            return client.post("/api/v1/cases/", _referral_json(), format="json")
    else:
        client = signed_in(world.outsider_practitioner)

        def send():
            return client.post("/cases/new/", _referral_form())

    TRIED.append(f"{surface}: outsider referral, match and no match")
    _attempt(world, send, match=True)  # warm the per-process caches (permission ids, content types)
    runs = [_attempt(world, send, match=match) for match in (True, False, True, False)]
    statuses = {status for status, _, _ in runs}
    assert statuses == ({201} if surface == "api" else {302})
    matched, unmatched = runs[0], runs[1]
    # then the answer is the same, and nothing of Northshire's record is in it
    assert matched[1] == unmatched[1]
    assert str(world.case.nominal_id) not in matched[1] and world.case.reference not in matched[1]
    # and the work is the same statement for statement
    assert len(matched[2]) == len(unmatched[2])
    assert matched[2] == unmatched[2]
    assert runs[2][2] == runs[3][2] == matched[2]


def test_a_partners_referral_answers_the_same_and_differs_in_work_only_by_the_holders_notice(world, api):
    """ISAC is party to the agreement with the police: a match it may not see in full gives it the
    same answer as no match, and the only extra work is the notice to the police (its row, its
    notification to the police chairs and their email job, and the audit rows), written in the
    referral's transaction."""
    client = api(world.isac_practitioner)

    def send():
        return client.post("/api/v1/cases/", _referral_json(), format="json")

    TRIED.append("api: ISAC referral, match and no match")
    _attempt(world, send, match=True)
    matched, unmatched = _attempt(world, send, match=True), _attempt(world, send, match=False)
    assert matched[0] == unmatched[0] == 201
    assert matched[1] == unmatched[1]
    assert str(world.case.nominal_id) not in matched[1] and world.case.reference not in matched[1]
    extra = list(matched[2])
    for statement in unmatched[2]:  # the no-match work is the match work minus some statements
        assert statement in extra, statement
        extra.remove(statement)
    tables = sorted({_first_group(r'INSERT INTO "(\w+)"', e) for e in extra if "INSERT INTO" in e})
    # the notice, its delivery to the holder's chairs (a notification each and the email job), and the
    # audit rows of both disclosures
    assert tables == [
        "audit_auditevent",
        "audit_auditpending",
        "django_tasks_database_dbtaskresult",
        "notifications_notification",
        "sharing_matchnotice",
    ], extra
    # and the only reads are of the holder's case, its chairs and their notification settings
    reads = {_first_group(r'FROM "(\w+)"', e) for e in extra if e.startswith("SELECT")}
    assert reads <= {
        "agencies_membership",
        "cases_case",
        "notifications_notification",
        "notifications_notificationpreference",
    }, extra
    writes = ("INSERT INTO", "SAVEPOINT", "RELEASE SAVEPOINT", "SELECT")
    assert all(e.startswith(writes) for e in extra), extra


@pytest.mark.parametrize("persona", ["outsider_practitioner", "isac_practitioner"])
def test_linking_to_a_record_not_seen_in_full_is_refused_like_an_unknown_id_on_page_and_api(
    world, api, signed_in, persona
):
    # given the outsider (no agreement) and ISAC (sees the perpetrator's names in summary only)
    user = getattr(world, persona)
    rest, browser = api(user), signed_in(user)
    before = (Case.objects.count(), Nominal.objects.count(), AuditEvent.objects.count())
    answers = {}
    for label, target in (("foreign", str(world.case.nominal_id)), ("unknown", str(uuid.uuid4()))):
        TRIED.append(f"{persona}: link_nominal {label}")
        answers[label] = (
            rest.post("/api/v1/cases/", {**_referral_json(), "link_nominal": target}, format="json"),
            browser.post("/cases/new/", {**_referral_form(), "link_nominal": target}),
        )
    # then a real foreign id answers exactly as an id that exists nowhere, naming link_nominal
    (foreign_api, foreign_page), (unknown_api, unknown_page) = answers["foreign"], answers["unknown"]
    assert foreign_api.status_code == unknown_api.status_code == 400
    assert foreign_api.json() == unknown_api.json() and list(foreign_api.json()["errors"]) == ["link_nominal"]
    assert foreign_page.status_code == unknown_page.status_code == 400
    assert _scrub(foreign_page.content.decode()) == _scrub(unknown_page.content.decode())
    assert (
        "Link the referral only to a record the duplicate check offered you" in foreign_page.content.decode()
    )
    for response in (foreign_api, foreign_page):
        body = response.content.decode()
        assert "Quarry Lane" not in body and world.case.reference not in body
    # and nothing was written
    assert (Case.objects.count(), Nominal.objects.count(), AuditEvent.objects.count()) == before


def _send(client, method: str, url: str, raw: str):
    TRIED.append(f"{method} {url}")
    return client.generic(method, url, raw, content_type="application/json")


@pytest.mark.parametrize("shape", ["[" * 5000, '{"a":' * 5000, '{"body": ' + "[" * 5000])
@pytest.mark.parametrize(
    ("persona", "method", "where"),
    [
        ("police_practitioner", "POST", "cases"),
        ("police_practitioner", "PATCH", "case"),
        ("health_practitioner", "POST", "notes"),
    ],
)
def test_deeply_nested_json_is_a_400_naming_the_body_not_a_server_error(
    world, api, persona, method, where, shape
):
    # given a body nested 5000 levels deep (a RecursionError for a plain json.loads)
    url = {
        "cases": "/api/v1/cases/",
        "case": f"/api/v1/cases/{world.case.pk}/",
        "notes": _notes_url(world.case),
    }[where]
    before = (Note.objects.count(), world.case.version)
    # when it is sent to the endpoint
    response = _send(api(world.users[persona]), method, url, shape)
    # then it is refused as a bad body, and nothing is written
    assert response.status_code == 400
    assert "nested deeper" in response.json()["errors"]["body"][0]
    world.case.refresh_from_db()
    assert (Note.objects.count(), world.case.version) == before


def test_json_nested_within_the_limit_is_still_parsed(world, api):
    # a body nested a little (an object holding a list) is read as usual
    payload = {"body": "A note", "category": "C3", "extra": [[{"a": [1]}]]}
    response = _post(api(world.health_practitioner), _notes_url(world.case), json.dumps(payload))
    assert response.status_code in (201, 400)
    assert "body" not in response.json().get("errors", {})


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("agency=100000000000000000000", "agency"),
        ("agency=9223372036854775808", "agency"),
        ("agency=-1", "agency"),
        ("mappa_level=99999999999999999999999", "mappa_level"),
        ("agency=1e3", "agency"),
    ],
)
def test_an_out_of_range_integer_parameter_is_a_400_naming_it(world, api, query, field):
    TRIED.append(f"/api/v1/cases/?{query}")
    response = api(world.health_practitioner).get(f"/api/v1/cases/?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def teardown_module(module) -> None:
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps({"hostile_inputs_tried": len(TRIED)}, indent=2))
