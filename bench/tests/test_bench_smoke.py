"""Keeps `make bench` working: a very small world, seeded by the benchmark's own seeder, and a few of
its measurements run once. No timing is asserted (the machine is shared and noisy)."""

from __future__ import annotations

from typing import Any

import pytest

from bench.seed import Size, is_seeded, seed

MINI = Size("mini", police=3, probation=1, health=6, cps=1, isac=1, users=20, cases=24, events=400)


@pytest.fixture
def mini_world(db: Any, settings: Any) -> Any:
    settings.SALT_KEY = "bench-smoke-salt"  # django-fernet-encrypted-fields, the comparison baseline
    result = seed(MINI, progress=False)
    return result


def test_seed_builds_the_world_through_real_encryption_and_a_valid_chain(mini_world: Any) -> None:
    from audit.services import verify_chain
    from cases.models import Case, Victim
    from sharing.models import CaseGroupObjectPermission, CaseShare

    # Given the seeded world
    # Then every case is there with its shares and guardian rows, one per share
    assert is_seeded(MINI)
    assert Case.objects.count() == MINI.cases
    assert CaseShare.objects.count() == mini_world.shares > 0
    # (a share revoked through the service withdraws its permission row)
    revoked = CaseShare.objects.filter(revoked_at__isnull=False).count()
    assert CaseGroupObjectPermission.objects.count() == mini_world.shares - revoked
    # And sensitive values were encrypted under the case key and decrypt back
    victim = Victim.objects.select_related("case").first()
    assert victim is not None
    assert isinstance(victim.__dict__["name"], bytes | object)
    assert victim.name and " " in victim.name
    # And it is worn as a living system is: agreements suspended and expired, shares revoked and
    # ended, break-glass live and expired, people in two agencies
    from django.db.models import Count
    from django.utils import timezone

    from agencies.models import Membership
    from sharing.models import BreakGlass, SharingAgreement

    now = timezone.now()
    assert set(SharingAgreement.objects.values_list("status", flat=True)) >= {"suspended", "expired"}
    assert CaseShare.objects.filter(revoked_at__isnull=False).exists()
    assert CaseShare.objects.filter(revoked_at__isnull=True, valid_to__lte=now).exists()
    assert BreakGlass.objects.filter(expires_at__gt=now).exists()
    assert BreakGlass.objects.filter(expires_at__lte=now).exists()
    assert Membership.objects.values("user").annotate(n=Count("agency")).filter(n__gt=1).exists()
    # And the audit chain (seeded events + the services' own events) verifies
    result = verify_chain()
    assert result.ok, result.message
    assert result.verified >= MINI.events


def test_case_list_and_detail_measurements_run(mini_world: Any) -> None:
    from bench import run

    # Given the seeded world and the benchmark's practitioner
    actors = run.actors()
    assert actors.case_ids, "the probation practitioner sees shared cases"
    # When the case-list and detail measurements run once
    figures = run.bench_case_list(actors, repeat=1) + run.bench_detail(actors, repeat=1)
    by_key = {f.key: f for f in figures}
    # Then the policy page and guardian's generic-table page hold the same cases
    assert by_key["case_list_vs_guardian"].note == "same 50 cases"
    # And the worn world has a practitioner whose every candidate row is stale, measured beside a fresh one
    assert by_key["case_list_stale"].value is not None, by_key["case_list_stale"].note
    assert by_key["case_list_stale"].note.split(", ")[1].startswith("0 shown")
    # And each figure has a value, or says why it was skipped
    for figure in figures:
        assert figure.value is not None or figure.note.startswith("SKIPPED"), figure


def test_the_table_leads_with_missed_targets_and_reports_the_first_decision() -> None:
    from bench import run

    # Given a met, an unjudged and a missed figure, and a fan-out whose first decision was slow
    met = run.Figure("a", "met", 1.0, "ms", met=True)
    unjudged = run.Figure("b", "unjudged", 1.0, "ms")
    missed = run.Figure("c", "missed", 1.0, "ms", met=False)
    fanout = run.Figure(
        "live_fanout", "fan-out", 100.0, "ms", met=True, extra={"first_decision_p95_ms": 900.0}
    )
    # Then misses come first and the first decision is a figure of its own, judged on its target
    assert [f.key for f in run.misses_first([met, unjudged, missed])] == ["c", "b", "a"]
    first = run.with_first_decision(fanout)[1]
    assert first.key == "live_fanout_first" and first.value == 900.0 and first.met is False
