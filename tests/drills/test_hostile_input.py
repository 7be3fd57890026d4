"""Hostile input (issue 9): each is refused with a clear 4xx naming the problem, nothing is stored
or half-stored, and nothing renders unescaped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cases.models import Note

TRIED: list[str] = []
FIGURES = Path(__file__).resolve().parents[2] / "test-artifacts" / "hostile-input.json"


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
