"""Concurrency drills on PostgreSQL (issue 9): two editors on one plan → exactly one conflict and
no lost update; a revoke racing with reads → no read succeeds after the revoke commits."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from cases.models import Case, RiskManagementPlan
from sharing.models import CaseShare
from sharing.services import do_revoke_share
from tests.waiting import eventually
from tests.world import make_case


def _plan(text: str) -> dict:
    return {"base_number": 0, "items": {"supervision": [{"text": text}]}, "change_summary": text}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_editors_saving_the_same_plan_version_get_exactly_one_conflict(world, api):
    # given two lead-agency editors who both opened the case with no plan yet
    editors = [api(world.police_practitioner), api(world.police_chair)]
    url = f"/api/v1/cases/{world.case.pk}/plan/"
    barrier = threading.Barrier(2)
    results: list[tuple[str, int]] = []

    def save(client, text: str) -> None:
        try:
            barrier.wait(timeout=10)
            response = client.post(url, _plan(text), format="json")
            results.append((text, response.status_code))
        finally:
            connections.close_all()

    # when both save version 1 at the same moment
    threads = [threading.Thread(target=save, args=(c, f"editor {i} plan")) for i, c in enumerate(editors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then exactly one succeeded and the other was told of the conflict
    statuses = sorted(code for _, code in results)
    assert statuses == [201, 409]
    winner = next(text for text, code in results if code == 201)
    # and nothing was lost or overwritten: one version 1, holding the winner's plan
    plans = list(RiskManagementPlan.objects.filter(case=world.case))
    assert len(plans) == 1 and plans[0].number == 1
    assert plans[0].items["supervision"][0]["text"] == winner


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_no_read_succeeds_after_the_revoke_commits(world, api):
    # given a partner practitioner reading the shared case in a loop
    reader = api(world.health_practitioner)
    url = f"/api/v1/cases/{world.case.pk}/"
    assert reader.get(url).status_code == 200
    share = CaseShare.objects.get(case=world.case, agency=world.agencies["health"], revoked_at__isnull=True)
    reads: list[tuple[float, int]] = []
    stop = threading.Event()

    def read_loop() -> None:
        try:
            while not stop.is_set():
                started = time.monotonic()
                reads.append((started, reader.get(url).status_code))
        finally:
            connections.close_all()

    thread = threading.Thread(target=read_loop)
    thread.start()
    eventually(lambda: len(reads) >= 3, what="the reader has read the case a few times")
    # when the owner revokes the share while the reads go on
    do_revoke_share(share=share, reason="Purpose fulfilled", acting_user=world.police_practitioner)
    committed = time.monotonic()
    eventually(
        lambda: sum(1 for started, _ in reads if started > committed) >= 5,
        what="five reads have started after the revoke committed",
    )
    stop.set()
    thread.join(timeout=30)
    # then reads before the revoke saw the case, and every read started after the commit was refused
    before = [code for started, code in reads if started < committed]
    after = [code for started, code in reads if started > committed]
    assert 200 in before
    assert after and set(after) == {404}


def _someone_waits_on_a_lock() -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return bool(cursor.fetchone()[0])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_link_racing_the_erasure_of_the_last_case_never_uses_a_destroyed_nominal_key(
    world, api, monkeypatch
):
    import lifecycle.services as lifecycle

    # given a police case that is the only one using its perpetrator record
    case = make_case(world, family="Racer")
    nominal_id = case.nominal_id
    client = api(world.police_practitioner)
    payload = {
        "nominal": {"given_name": "Daniel", "family_name": "Racer", "date_of_birth": "1986-04-12"},
        "referral": {
            "reason": "A new referral",
            "lawful_basis": "DPA 2018 Part 3",
            "index_offence": "Stalking",
            "received_on": str(timezone.localdate() - timedelta(days=1)),
        },
        "forum": "clinic",
        "link_nominal": str(nominal_id),
    }
    # and its erasure paused after the case's key is destroyed, before the nominal's
    inside, go = threading.Event(), threading.Event()
    destroy = lifecycle.destroy_data_key

    def paused(key_id):
        destroy(key_id)
        if key_id == case.data_key_id:
            inside.set()
            go.wait(timeout=30)

    monkeypatch.setattr(lifecycle, "destroy_data_key", paused)

    def erase() -> None:
        try:
            lifecycle.do_erase_case(
                case,
                acting_user=world.police_dpo,
                agency=world.agencies["police"],
                rule=None,
                reason="Review",
            )
        finally:
            connections.close_all()

    result: dict[str, Any] = {}

    def link() -> None:
        try:
            result["response"] = client.post("/api/v1/cases/", payload, format="json")
        finally:
            connections.close_all()

    eraser = threading.Thread(target=erase)
    eraser.start()
    assert inside.wait(timeout=30)
    # when a police practitioner links a new referral to that record meanwhile
    linker = threading.Thread(target=link)
    linker.start()
    try:
        eventually(
            lambda: "response" in result or _someone_waits_on_a_lock(),
            within=30,
            interval=0.05,
            what="the link has answered or waits on the erasure's lock",
        )
    finally:
        go.set()
    eraser.join(timeout=60)
    linker.join(timeout=60)
    # then the link was refused on link_nominal once the erasure committed, and no live case uses
    # the record whose key is gone
    response = result["response"]
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["link_nominal"]
    assert not Case.objects.filter(nominal_id=nominal_id, erased_at__isnull=True).exists()
