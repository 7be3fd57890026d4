"""The canonical encoding is byte-identical to plain ``json.dumps`` (which the standalone verifier uses)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from audit.chain import FIELDS, JsonCanon, canonical, plain_event


def reference(event: dict, seq: int) -> bytes:
    body = plain_event(event)
    body["seq"] = seq
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


EVENTS = [
    {name: None for name in FIELDS},
    {
        "id": 7,
        "occurred_at": datetime(2026, 11, 23, 15, 0, 1, 42, tzinfo=UTC),
        "actor_id": 3,
        "actor_username": 'o\'brien "quoted" — ünïcode \u2028 \n tab\t',
        "actor_agency_id": None,
        "actor_role": "practitioner",
        "op": "consult",
        "object_type": "cases.Case",
        "object_id": str(uuid.UUID(int=5)),
        "case_id": uuid.UUID(int=5),
        "categories": ["C1", "C10", "C2"],
        "justification": "share x under agreement y",
        "share_id": uuid.UUID(int=6),
        "agreement_id": None,
        "recipients": ["Victim's advocate", "😀"],
        "outcome": "ok",
        "detail": {"z": 1, "a": {"y": [1.5, None, True], "b": "x"}},
        "request_id": "",
        "client_ip": "2001:db8::1",
    },
]


@pytest.mark.parametrize("event", EVENTS)
def test_fast_encoder_matches_plain_json_dumps(event: dict) -> None:
    # given an event with awkward values / when it is encoded / then bytes equal json.dumps's
    assert canonical(event, 12) == reference(event, 12)


def test_json_canon_normalises_postgres_jsonb_text_and_stays_bounded() -> None:
    # given PostgreSQL's spaced jsonb output
    canon = JsonCanon(limit=2)
    # when it is normalised / then it is the compact, sorted form, and the memo never grows past its limit
    assert canon('{"b": 1, "a": [1, 2]}') == '{"a":[1,2],"b":1}'
    assert canon("[]") == "[]"
    assert canon('["x"]') == '["x"]'
    assert len(canon.memo) <= 2
    assert canon(None) == "null"
