"""Security headers, cookies, CSP and the deploy check (issue 9, hardening)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_page_carries_the_security_headers(world, signed_in, client):
    # given a signed-in practitioner, and someone not signed in
    practitioner = signed_in(world.police_practitioner)
    # when they load the dashboard and the sign-in page
    for response in (practitioner.get("/"), client.get("/signin/")):
        assert response.status_code == 200
        # then frames are denied, the referrer is kept in-site, and the content policy forbids inline script
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "object-src 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert "script-src 'self' 'nonce-" in csp


def test_the_nonce_in_the_policy_is_the_one_on_the_page_scripts(world, signed_in):
    # given the dashboard
    response = signed_in(world.police_practitioner).get("/")
    nonce = response["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    # then every script tag carries that nonce
    body = response.content.decode()
    assert body.count("<script") == body.count(f'nonce="{nonce}"')


def test_an_unverified_session_reaches_no_page(world, client):
    # given a person who typed their password but not their code
    client.force_login(world.police_practitioner)
    # when they ask for the dashboard or a case
    response = client.get("/")
    # then they are sent to the second factor
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")


def test_session_and_csrf_cookies_are_http_only(world, client):
    # given a sign-in attempt
    response = client.get("/signin/")
    csrf = response.cookies.get("csrftoken")
    # then the CSRF cookie is HttpOnly (forms carry the token) and SameSite
    assert csrf is not None and csrf["httponly"] and csrf["samesite"] == "Lax"


def test_a_post_without_a_csrf_token_is_refused(world):
    # given a browser client that enforces CSRF, signed in with both factors
    from django.test import Client

    from conftest import _verify

    client = _verify(Client(enforce_csrf_checks=True), world.police_practitioner)
    # when it posts to sign out everywhere without the token
    response = client.post("/signout/everywhere/")
    # then the request is forbidden and the session still works
    assert response.status_code == 403
    assert client.get("/").status_code == 200


def _prod_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVENE_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.prod",
        DJANGO_SECRET_KEY="drill-" + secrets.token_urlsafe(48),
        DJANGO_ALLOWED_HOSTS="convene.example.org",
        CONVENE_INDEX_KEY="ab" * 32,
        CONVENE_AUDIT_SIGNING_KEY="MC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        CONVENE_ALLOW_SQLITE="1",
        DATABASE_URL=os.environ.get("DATABASE_URL", "sqlite:////tmp/convene-prod-check.sqlite3"),
    )
    env.update(extra)
    return env


@pytest.fixture
def runtime_database_urls(django_db_setup: Any) -> Iterator[dict[str, str]]:
    """On PostgreSQL, the test databases as production reaches them: through a login role that is no
    superuser and owns nothing (as the deploy check expects of the runtime role). Empty elsewhere.
    (The role is made over a connection of its own: Django's may be in another test's async context.)"""
    from django.db import connections

    main, keys = connections["default"].settings_dict, connections["keystore"].settings_dict
    if main["ENGINE"] != "django.db.backends.postgresql":
        yield {}
        return
    import psycopg

    host, port = main["HOST"] or "127.0.0.1", main["PORT"] or 5432
    role = f"convene_drill_{secrets.token_hex(4)}"

    def admin() -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=host, port=port, dbname=main["NAME"], user=main["USER"] or "postgres", autocommit=True
        )

    with admin() as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'.encode())
    try:
        yield {
            "DATABASE_URL": f"postgres://{role}@{host}:{port}/{main['NAME']}",
            "KEYSTORE_DATABASE_URL": f"postgres://{role}@{host}:{port}/{keys['NAME']}",
        }
    finally:
        with admin() as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{role}"'.encode())


@pytest.mark.django_db  # (so the test databases exist, to be reached as the runtime role)
def test_production_settings_pass_the_deploy_check_with_hsts_and_secure_cookies(runtime_database_urls):
    # given production settings with throwaway secrets, connected as a runtime role would be
    env = _prod_env(CONVENE_MASTER_KEYS="k1:" + "A" * 43, **runtime_database_urls)
    # when Django's deploy check runs
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then it is clean
    assert result.returncode == 0, result.stdout + result.stderr
    # and HSTS is a year with subdomains, cookies are secure and __Host- prefixed
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django;django.setup();from django.conf import settings as s;"
            "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE,"
            " s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SAMESITE)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.split() == [
        "31536000",
        "True",
        "True",
        "__Host-sessionid",
        "__Host-csrftoken",
        "Strict",
    ]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (None, "No master key"),
        ("k1:not-base64!!", "not valid base64"),
        ("k1:" + "A" * 10, "must be 32 bytes"),
    ],
)
def test_the_application_refuses_to_start_without_a_usable_master_key(keys, expected, tmp_path):
    # given production settings whose master key is missing or malformed
    env = _prod_env(
        DATABASE_URL=f"sqlite:///{tmp_path}/main.sqlite3",
        KEYSTORE_DATABASE_URL=f"sqlite:///{tmp_path}/k.sqlite3",
    )
    if keys is not None:
        env["CONVENE_MASTER_KEYS"] = keys
    # when the ASGI application is loaded, as a server would
    result = subprocess.run(
        [sys.executable, "-c", "import config.asgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then it refuses with a clear sentence and a non-zero code
    assert result.returncode == 3, result.stderr
    assert "Convene cannot start" in result.stderr and expected in result.stderr


def test_the_application_refuses_to_start_with_the_wrong_master_key(tmp_path):
    # given a key store created under one master key
    env = _prod_env(
        DATABASE_URL=f"sqlite:///{tmp_path}/main.sqlite3",
        KEYSTORE_DATABASE_URL=f"sqlite:///{tmp_path}/k.sqlite3",
        CONVENE_MASTER_KEYS="k1:" + "A" * 43,
    )
    for alias in ("default", "keystore"):
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--database", alias, "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=180,
        )
    first = subprocess.run(
        [sys.executable, "-c", "import config.asgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first.returncode == 0, first.stderr
    # when it is started with a different key under the same id
    env["CONVENE_MASTER_KEYS"] = "k1:" + "B" * 43
    result = subprocess.run(
        [sys.executable, "-c", "import config.asgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then it refuses to start rather than serve data it cannot decrypt
    assert result.returncode == 3
    assert "not the key this key store was created with" in result.stderr
