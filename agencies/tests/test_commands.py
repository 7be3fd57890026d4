"""demo_totp, issue_token and revoke_token: what an operator types, and the sentences they get back."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from agencies.models import ApiToken, User
from agencies.services import hash_token


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue().strip()


@pytest.fixture
def demo_chair(db: Any) -> User:
    user = User.objects.create_user(username="police.chair", password="x" * 14, is_demo=True)
    TOTPDevice.objects.create(user=user, name="Demo authenticator", confirmed=True)
    return user


def test_demo_totp_prints_a_code_the_device_accepts(demo_chair: User) -> None:
    # When the code of a demo account is asked for
    code, _ = run("demo_totp", "police.chair")
    # Then it is six digits that the account's authenticator accepts
    assert len(code) == 6 and code.isdigit()
    assert TOTPDevice.objects.get(user=demo_chair).verify_token(code)


def test_demo_totp_after_a_code_was_used_gives_the_next_one(demo_chair: User) -> None:
    # Given this window's code already used to sign in
    device = TOTPDevice.objects.get(user=demo_chair)
    first, _ = run("demo_totp", "police.chair")
    assert device.verify_token(first)
    # When the code is asked for again, then a fresh code that is still accepted is given
    second, _ = run("demo_totp", "police.chair")
    device.refresh_from_db()
    device.throttling_failure_count = 0
    assert second != first and device.verify_token(second)


def test_demo_totp_refuses_a_real_account(world: Any) -> None:
    # Given a real (non-demo) account, then its code is never printed
    with pytest.raises(CommandError, match="not a demo account"):
        run("demo_totp", "police_chair")


def test_demo_totp_refuses_an_unknown_user(db: Any) -> None:
    with pytest.raises(CommandError, match="no account called 'ghost'"):
        run("demo_totp", "ghost")


def test_demo_totp_exits_non_zero_from_the_command_line(db: Any) -> None:
    # From a shell, a CommandError is a sentence on stderr and exit status 1
    from django.core.management import ManagementUtility

    utility = ManagementUtility(["manage.py", "demo_totp", "ghost"])
    with pytest.raises(SystemExit) as exited:
        utility.execute()
    assert exited.value.code == 1


def test_issue_token_prints_it_once_and_it_works(world: Any) -> None:
    # When the operator issues a token for the police practitioner for 10 days
    raw, note = run("issue_token", "police_practitioner", "--days", "10")
    # Then the printed token is stored only as a hash, expires in 10 days and acts as its user
    token = ApiToken.objects.get(key_hash=hash_token(raw))
    assert token.user == world.police_practitioner
    assert 9 <= (token.expires_at - token.created_at).days <= 10
    assert "shown only now" in note and raw not in note
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/me/").json()["username"] == "police_practitioner"


def test_issue_token_refuses_an_unknown_user(db: Any) -> None:
    with pytest.raises(CommandError, match="no account called 'ghost'"):
        run("issue_token", "ghost")


@pytest.mark.parametrize("days", ["0", "400"])
def test_issue_token_refuses_bad_days(world: Any, days: str) -> None:
    with pytest.raises(CommandError, match="--days: A token lasts between 1 and 365 days"):
        run("issue_token", "police_practitioner", "--days", days)
    assert not ApiToken.objects.exists()


def test_revoke_token_by_prefix(world: Any) -> None:
    # Given an issued token
    raw, _ = run("issue_token", "police_practitioner")
    prefix = raw.split("_")[1]
    # When it is revoked by its prefix
    out, _ = run("revoke_token", prefix)
    # Then it is revoked and the API refuses it
    assert "revoked" in out
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/me/").status_code == 401
    with pytest.raises(CommandError, match="already revoked"):
        run("revoke_token", prefix)


def test_revoke_token_unknown_prefix(db: Any) -> None:
    with pytest.raises(CommandError, match="no token with prefix"):
        run("revoke_token", "00000000")
