"""convene.E010: demo accounts (published password) must not exist where demo accounts are refused."""

from __future__ import annotations

from typing import Any

import pytest

from agencies.checks import check_no_demo_accounts


@pytest.fixture
def demo_account(db: Any) -> Any:
    from agencies.models import User

    return User.objects.create_user(username="police.chair", password="x" * 14, is_demo=True)


def test_production_settings_with_demo_accounts_fail_the_check(settings: Any, demo_account: Any) -> None:
    # Given production settings (demo accounts refused) and a demo account
    settings.CONVENE_ALLOW_DEMO_ACCOUNTS = False
    # Then the deploy check reports convene.E010 with how to fix it
    errors = check_no_demo_accounts(None)
    assert [e.id for e in errors] == ["convene.E010"]
    assert errors[0].hint is not None and "seed_demo --remove" in errors[0].hint


def test_the_check_runs_with_check_deploy(settings: Any, demo_account: Any) -> None:
    from django.core import checks

    settings.CONVENE_ALLOW_DEMO_ACCOUNTS = False
    ids = [m.id for m in checks.run_checks(include_deployment_checks=True, databases=["default"])]
    assert "convene.E010" in ids


def test_retired_demo_accounts_pass_the_check(settings: Any, demo_account: Any) -> None:
    from agencies.services import do_retire_demo_accounts

    settings.CONVENE_ALLOW_DEMO_ACCOUNTS = False
    do_retire_demo_accounts()
    assert check_no_demo_accounts(None) == []


def test_demo_accounts_are_fine_in_the_embedded_default(settings: Any, demo_account: Any) -> None:
    settings.CONVENE_ALLOW_DEMO_ACCOUNTS = True
    assert check_no_demo_accounts(None) == []


def test_production_settings_refuse_demo_accounts() -> None:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "DJANGO_SECRET_KEY": "throwaway-" + "y" * 50,
        "DATABASE_URL": "postgres://u@127.0.0.1:5432/x",
    }
    code = "from django.conf import settings; print(settings.CONVENE_ALLOW_DEMO_ACCOUNTS)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
