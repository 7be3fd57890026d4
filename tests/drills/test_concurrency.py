"""Concurrency drills on PostgreSQL (issue 9): two editors on one plan → exactly one conflict and
no lost update; a revoke racing with reads → no read succeeds after the revoke commits."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from cases.models import RiskManagementPlan
from sharing.models import CaseShare
from sharing.services import do_revoke_share
from tests.waiting import eventually


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
