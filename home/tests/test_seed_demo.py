"""seed_demo builds the Northshire demo world through the services, and running it again changes nothing."""

from __future__ import annotations

import io
import sys
import types
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import router
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.demo import DEMO_PASSWORD
from agencies.models import Agency, Membership, User
from sharing import policy


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    counts = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        alias = router.db_for_read(model) or "default"
        counts[model._meta.label] = model._default_manager.using(alias).count()
    return counts


@pytest.mark.django_db
def test_seed_twice_changes_no_row_of_any_model() -> None:
    # Given the demo world seeded once
    seed("--quiet-table")
    before = row_counts()
    # When it is seeded again
    seed("--quiet-table")
    # Then no table of any app (main database and key store, audit included) gained or lost a row
    after = row_counts()
    assert {k: (before[k], after[k]) for k in before if before[k] != after[k]} == {}
    assert before["agencies.User"] == 30
    assert before["cases.Case"] >= 4


@pytest.mark.django_db
def test_demo_world_has_five_northshire_agencies_an_outsider_and_every_role() -> None:
    # When the demo world is seeded
    output = seed()
    # Then there are five Northshire agencies of the five kinds and one outsider force
    northshire = Agency.objects.filter(area="Northshire")
    assert sorted(northshire.values_list("agency_type", flat=True)) == sorted(
        ["police", "probation", "health", "cps", "victim_support"]
    )
    assert Agency.objects.filter(name="Southshire Police", area="Southshire").exists()
    # And every account is a demo account with a confirmed authenticator and one active role
    for user in User.objects.all():
        assert user.is_demo and user.check_password(DEMO_PASSWORD)
        assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
        assert Membership.objects.active().filter(user=user).count() == 1
    chair = User.objects.get(username="police.chair")
    assert policy.has_role(chair, "chair", Agency.objects.get(name="Northshire Police"))
    # And the output tells a newcomer how to sign in
    assert DEMO_PASSWORD in output and "demo_totp" in output and "police.chair" in output


@pytest.mark.django_db
def test_demo_cases_span_mappa_levels_and_are_shared_per_the_agreement() -> None:
    from cases.models import Case
    from sharing.models import SharingAgreement

    # When the demo world is seeded
    seed("--quiet-table")
    # Then the agreement is active and signed by all five Northshire agencies
    agreement = SharingAgreement.objects.get(reference="ISA-NS-DEMO-01")
    assert agreement.status == "active"
    assert agreement.parties.count() == 5 and not agreement.parties.filter(signed_on__isnull=True).exists()
    # And the cases cover MAPPA levels 1, 2 and 3 and a stalking-clinic case
    assert {1, 2, 3} <= set(Case.objects.values_list("mappa_level", flat=True))
    assert Case.objects.filter(forum="clinic").exists()
    # And the health practitioner sees every case, the outsider none
    health = User.objects.get(username="health.practitioner")
    outsider = User.objects.get(username="outsider.practitioner")
    assert policy.cases_visible_to(health).count() == Case.objects.count()
    assert policy.cases_visible_to(outsider).count() == 0


@pytest.mark.django_db
def test_app_demo_hooks_run_in_order_with_the_context(monkeypatch: Any) -> None:
    # Given two apps with a demo module (one of them absent is tolerated)
    calls: list[tuple[str, Any]] = []
    for app in ("meetings", "lifecycle"):
        module = types.ModuleType(f"{app}.demo")
        module.seed = lambda ctx, app=app: calls.append((app, ctx))  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, f"{app}.demo", module)
    # When the demo world is seeded
    seed("--quiet-table")
    # Then each hook ran once, in order, seeing the agencies, users, agreement and cases
    names = [name for name, _ in calls]
    assert names == ["meetings", "lifecycle"]
    ctx = calls[0][1]
    assert ctx.users["police.chair"].username == "police.chair"
    assert ctx.agreement.reference == "ISA-NS-DEMO-01"
    assert set(ctx.cases) >= {"marsh", "hollis", "fenwick", "quinn"}


@pytest.mark.django_db
def test_remove_retires_every_demo_account() -> None:
    # Given the demo world
    seed("--quiet-table")
    # When it is removed
    output = seed("--remove")
    # Then no demo account can sign in, though the accounts remain for the audit trail
    assert "Retired 30" in output
    assert User.objects.filter(is_demo=True).count() == 30
    assert not User.objects.filter(is_demo=True, is_active=True).exists()
    assert not User.objects.get(username="police.chair").check_password(DEMO_PASSWORD)
    assert not TOTPDevice.objects.filter(user__is_demo=True).exists()


@pytest.mark.django_db
def test_seed_refuses_under_settings_that_forbid_demo_accounts(settings: Any) -> None:
    # Given production-like settings
    settings.CONVENE_ALLOW_DEMO_ACCOUNTS = False
    # When seeding, then it refuses with a sentence and makes nothing
    with pytest.raises(CommandError, match="Demo accounts are refused"):
        seed()
    assert not User.objects.exists()
