"""Signing in: password, then a mandatory TOTP code; lockout; session limits; sign-out everywhere."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.management.commands.demo_totp import current_code
from agencies.middleware import SESSION_STARTED
from audit.models import AuditEvent
from tests.world import PASSWORD


def device_for(user: Any) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def password_step(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post("/signin/", {"username": username, "password": password})


def sign_in_fully(user: Any) -> Client:
    client = Client()
    device = device_for(user)
    assert password_step(client, user.username).status_code == 302
    response = client.post("/signin/verify/", {"code": current_code(device)})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def test_password_then_code_reaches_a_dashboard_naming_agency_and_role(world: Any) -> None:
    # Given the police chair with an authenticator
    device = device_for(world.police_chair)
    client = Client()
    # When they enter their password, they are asked for their code (not yet signed in to pages)
    response = password_step(client, "police_chair")
    assert response.status_code == 302 and response["Location"] == "/signin/verify/"
    assert client.get("/").status_code == 302
    # And when they enter the current code
    response = client.post("/signin/verify/", {"code": current_code(device)})
    assert response.status_code == 302 and response["Location"] == "/"
    # Then the dashboard names their agency and role
    page = client.get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Northshire Police" in text and "Chair" in text
    assert AuditEvent.objects.filter(op="sign_in", actor_username="police_chair").count() == 2


def test_wrong_password_gives_a_clear_error_and_counts_towards_lockout(world: Any) -> None:
    from axes.models import AccessAttempt

    client = Client()
    # When the password is wrong
    response = password_step(client, "police_chair", "not the password")
    # Then the page says so plainly, and the failure is counted and audited
    assert response.status_code == 400
    assert "The username or password is not right" in response.content.decode()
    assert AccessAttempt.objects.get(username="police_chair").failures_since_start == 1
    assert AuditEvent.objects.filter(op="sign_in_failed", actor_username="police_chair").exists()


def test_wrong_code_gives_a_clear_error_and_counts_towards_lockout(world: Any) -> None:
    from axes.models import AccessAttempt

    device_for(world.police_chair)
    client = Client()
    password_step(client, "police_chair")
    # When the security code is wrong
    response = client.post("/signin/verify/", {"code": "000000"})
    # Then the page says so plainly, and the failure counts like a wrong password
    assert response.status_code == 400
    assert "The security code is not right" in response.content.decode()
    assert AccessAttempt.objects.get(username="police_chair").failures_since_start == 1
    assert AuditEvent.objects.filter(op="otp_failed", actor_username="police_chair").exists()


def test_a_code_of_letters_names_the_field(world: Any) -> None:
    device_for(world.police_chair)
    client = Client()
    password_step(client, "police_chair")
    response = client.post("/signin/verify/", {"code": "abcdef"})
    assert response.status_code == 400
    assert "Enter the 6 digits" in response.content.decode()


def test_five_wrong_passwords_lock_the_account_with_a_clear_message(world: Any) -> None:
    client = Client()
    # Given five wrong passwords from this address
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_step(client, "police_chair", "guess")
    # When the right password is then entered
    response = password_step(client, "police_chair")
    # Then the account is refused with a message saying it is locked and what to do
    assert response.status_code == 429
    text = response.content.decode()
    assert "locked after too many failed attempts" in text and "agency admin" in text
    assert client.get("/").status_code == 302  # not signed in
    assert AuditEvent.objects.filter(op="lockout").exists()


def test_wrong_passwords_and_wrong_codes_add_up_to_a_lockout(world: Any) -> None:
    device = device_for(world.police_chair)
    client = Client()
    # Given three wrong passwords, then the right one
    for _ in range(3):
        password_step(client, "police_chair", "guess")
    assert password_step(client, "police_chair").status_code == 302
    # When two wrong codes follow (a correct password resets nothing before the second factor)
    client.post("/signin/verify/", {"code": "000000"})
    response = client.post("/signin/verify/", {"code": "111111"})
    # Then the account is locked, the half-finished session is ended, and even the right code fails
    assert response.status_code == 429
    assert "locked" in response.content.decode()
    response = client.post("/signin/verify/", {"code": current_code(device)})
    assert response.status_code == 302 and response["Location"].startswith("/signin/")
    assert client.get("/").status_code == 302


def test_first_sign_in_enrols_an_authenticator_with_a_qr_code(world: Any) -> None:
    # Given a person with no authenticator yet
    user = world.isac_practitioner
    assert not TOTPDevice.objects.filter(user=user).exists()
    client = Client()
    # When they enter their password, they are sent to enrol, shown a QR code and the secret
    response = password_step(client, "isac_practitioner")
    assert response["Location"] == "/signin/enrol/"
    page = client.get("/signin/enrol/")
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    # And a wrong code is refused
    assert client.post("/signin/enrol/", {"code": "000000"}).status_code == 400
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    # When they enter the code their new authenticator shows
    response = client.post("/signin/enrol/", {"code": current_code(device)})
    # Then the authenticator is confirmed and they are signed in
    assert response.status_code == 302 and response["Location"] == "/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/").status_code == 200


def test_session_key_changes_at_sign_in(world: Any) -> None:
    # Given a visitor with a session before signing in (session fixation attempt)
    device = device_for(world.police_chair)
    client = Client()
    session = client.session
    session["planted"] = "x"
    session.save()
    planted_key = session.session_key
    assert planted_key is not None
    # When they sign in with password and code
    password_step(client, "police_chair")
    after_password = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post("/signin/verify/", {"code": current_code(device)})
    after_code = client.cookies[settings.SESSION_COOKIE_NAME].value
    # Then the session key changed at each step, and the planted session signs no one in
    assert len({planted_key, after_password, after_code}) == 3
    stale = Client()
    stale.cookies[settings.SESSION_COOKIE_NAME] = planted_key
    assert stale.get("/").status_code == 302


def test_session_and_csrf_cookies_are_httponly_and_samesite(world: Any) -> None:
    client = Client()
    page = client.get("/signin/")
    response = password_step(client, "police_chair")
    session_cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session_cookie["httponly"] and session_cookie["samesite"] == "Lax"
    csrf_cookie = page.cookies.get(settings.CSRF_COOKIE_NAME) or client.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf_cookie["samesite"] == "Lax"


def test_production_cookies_are_secure_host_only_and_strict() -> None:
    import json
    import os
    import subprocess
    import sys

    # Given the production settings, read in a fresh interpreter with throwaway secrets
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "DJANGO_SECRET_KEY": "throwaway-" + "x" * 50,
        "DATABASE_URL": "postgres://u@127.0.0.1:5432/x",
    }
    code = (
        "import json; from django.conf import settings as s; print(json.dumps([s.SESSION_COOKIE_SECURE,"
        " s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SAMESITE, s.CSRF_COOKIE_HTTPONLY]))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    # Then both cookies are Secure, HttpOnly where the browser allows, SameSite=Strict, host-only
    assert json.loads(out.stdout) == [True, True, "Strict", "__Host-sessionid", True, "Strict", True]


def test_idle_timeout_is_thirty_minutes_and_refreshed_by_each_request(world: Any) -> None:
    client = sign_in_fully(world.police_chair)
    # Given the idle limit of 30 minutes, renewed on every request
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    client.get("/")
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    expires = Session.objects.get(session_key=key).expire_date
    assert abs((expires - timezone.now()) - timedelta(minutes=30)) < timedelta(seconds=30)
    # When 30 idle minutes pass (the stored session expires)
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    # Then the next page asks them to sign in again
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/signin/")


def test_absolute_session_limit_ends_even_an_active_session(world: Any) -> None:
    client = sign_in_fully(world.police_chair)
    assert client.get("/").status_code == 200
    # Given a session that started longer ago than the absolute limit
    session = client.session
    session[SESSION_STARTED] = time.time() - settings.CONVENE_SESSION_ABSOLUTE_SECONDS - 5
    session.save()
    # When they open a page, then they are signed out and told why
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/signin/?expired=1"
    assert "Your session ended" in client.get("/signin/?expired=1").content.decode()
    assert client.get("/").status_code == 302


def test_absolute_session_limit_applies_to_the_api(world: Any) -> None:
    client = sign_in_fully(world.police_chair)
    session = client.session
    session[SESSION_STARTED] = time.time() - settings.CONVENE_SESSION_ABSOLUTE_SECONDS - 5
    session.save()
    assert client.get("/api/v1/me/").status_code == 401


def test_sign_out_everywhere_ends_the_other_sessions(world: Any) -> None:
    # Given the police chair signed in on two devices
    laptop = sign_in_fully(world.police_chair)
    device = device_for(world.police_chair)
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    phone = sign_in_fully(world.police_chair)
    assert laptop.get("/").status_code == 200 and phone.get("/").status_code == 200
    # When they sign out everywhere from the laptop
    response = laptop.post("/signout/everywhere/")
    assert response.status_code == 302
    # Then both the laptop and the phone must sign in again
    assert laptop.get("/").status_code == 302
    assert phone.get("/").status_code == 302
    assert phone.get("/api/v1/me/").status_code in (401, 403)


def test_sign_out_ends_this_session(world: Any) -> None:
    client = sign_in_fully(world.police_chair)
    response = client.post("/signout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_next_is_followed_only_within_the_site(world: Any) -> None:
    device = device_for(world.police_chair)
    client = Client()
    client.post("/signin/?next=https://evil.example/", {"username": "police_chair", "password": PASSWORD})
    response = client.post("/signin/verify/", {"code": current_code(device)})
    assert response["Location"] == "/"


@pytest.mark.parametrize("path", ["/", "/django-admin/"])
def test_pages_need_both_factors(world: Any, path: str) -> None:
    client = Client()
    password_step(client, "police_chair")
    device_for(world.police_chair)
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/signin/")


def test_a_completed_sign_in_clears_earlier_failures(world: Any) -> None:
    from axes.models import AccessAttempt

    # Given two wrong passwords, then a full sign-in with password and code
    client = Client()
    for _ in range(2):
        password_step(client, "police_chair", "guess")
    sign_in_fully(world.police_chair)
    # Then the failures are forgotten
    assert not AccessAttempt.objects.filter(username="police_chair").exists()
