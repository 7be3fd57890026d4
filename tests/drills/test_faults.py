"""Fault drills on real services (issue 9): each starts its own throwaway server and stops it."""

from __future__ import annotations

import http.cookiejar
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.db import DatabaseError

from audit.models import AuditEvent
from cases.models import Note
from cases.services import do_add_note
from tests.waiting import eventually

from .throwaway import free_port, throwaway_postgres, throwaway_redis, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
FAULTS = {"faults_injected": 0, "data_lost": 0}
HAVE_PG_BINARIES = shutil.which("runuser") is not None and Path("/usr/lib/postgresql").exists()


# --- a failed write rolls back both the action and its audit event --------------------------
def test_a_failed_audit_write_rolls_back_the_action(world, monkeypatch):
    # given the audit write fails (as on a full disk) after the event row is attempted
    from audit import models as audit_models

    notes_before, events_before = Note.objects.count(), AuditEvent.objects.count()

    def disk_full(*args, **kwargs):
        raise DatabaseError("could not extend file: No space left on device")

    monkeypatch.setattr(audit_models.AuditPending.objects, "create", disk_full)
    FAULTS["faults_injected"] += 1
    # when a practitioner adds a note
    with pytest.raises(DatabaseError):
        do_add_note(
            case=world.case,
            agency=world.agencies["police"],
            acting_user=world.police_practitioner,
            body="Seen outside the victim's workplace on Monday.",
            category="C2",
        )
    # then neither the note nor any audit event was kept
    assert Note.objects.count() == notes_before
    assert AuditEvent.objects.count() == events_before


def test_a_failed_action_write_leaves_no_audit_event(world, monkeypatch):
    # given the case's version bump fails after the note row was written
    from cases import services

    events_before = AuditEvent.objects.count()

    def fail(case):
        raise DatabaseError("could not write block: No space left on device")

    monkeypatch.setattr(services, "_bump_case", fail)
    FAULTS["faults_injected"] += 1
    with pytest.raises(DatabaseError):
        do_add_note(
            case=world.case,
            agency=world.agencies["police"],
            acting_user=world.police_practitioner,
            body="Seen outside the victim's workplace on Monday.",
            category="C2",
        )
    # then the half-done action left nothing behind
    assert not Note.objects.filter(case=world.case, category="C2").exists()
    assert AuditEvent.objects.count() == events_before


# --- the web application through a database restart -----------------------------------------
def _server_env(tmp: Path, database_url: str, keystore_url: str, redis_url: str = "") -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CONVENE_", "DJANGO_", "DATABASE", "KEYSTORE", "REDIS"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        DATABASE_URL=database_url,
        KEYSTORE_DATABASE_URL=keystore_url,
        CONVENE_VAR_DIR=str(tmp / "var"),
        CONVENE_KEY_DIR=str(tmp / "keys"),
        DATABASE_CONNECT_TIMEOUT="2",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["CHANNELS_PREFIX"] = f"convene_drill_{os.getpid()}"  # its groups never meet another run's
    return env


_JAR = http.cookiejar.CookieJar()
_OPENER = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(_JAR))


def _request(url: str, data: dict[str, str] | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Referer": url})
    try:
        with _OPENER.open(request, timeout=15) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _sign_in_attempt(base: str, token: str) -> tuple[int, str]:
    """A wrong password: it needs the database (lockout counting) and is refused with a form error."""
    return _request(
        f"{base}/signin/", {"username": "nobody", "password": "wrong", "csrfmiddlewaretoken": token}
    )


def _csrf_token(base: str) -> str:
    status, body = _request(f"{base}/signin/")
    assert status == 200
    return body.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, timeout=60)
    return process


@pytest.mark.skipif(not HAVE_PG_BINARIES, reason="needs PostgreSQL server binaries and runuser")
def test_a_database_restart_gives_a_clear_503_and_the_application_recovers_without_a_restart():
    tmp = Path(tempfile.mkdtemp(prefix="convene-drill-"))
    with throwaway_postgres() as pg:
        pg.createdb("convene")
        pg.createdb("convene_keys")
        env = _server_env(tmp, f"{pg.url}/convene", f"{pg.url}/convene_keys")
        for alias in ("default", "keystore"):
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--database", alias, "-v0"],
                cwd=ROOT,
                env=env,
                check=True,
                timeout=300,
            )
        port = free_port()
        server = _serve(env, port)
        base = f"http://127.0.0.1:{port}"
        try:
            # given a healthy server
            assert _request(f"{base}/readyz")[0] == 200
            token = _csrf_token(base)
            # when PostgreSQL goes away
            pg.stop()
            FAULTS["faults_injected"] += 1
            status, body = _request(f"{base}/readyz")
            # then readiness names the database, and a page that needs it answers a clear 503
            assert status == 503 and "database" in body
            status, body = _sign_in_attempt(base, token)
            assert status == 503
            assert "cannot reach its database" in body
            # and the process is still alive
            assert _request(f"{base}/healthz")[0] == 200
            # when PostgreSQL comes back, the same process serves again without a restart
            pg.start()
            eventually(
                lambda: _request(f"{base}/readyz")[0] == 200,
                within=20,
                interval=0.5,
                what="readiness once PostgreSQL is back",
            )
            status, body = _sign_in_attempt(base, token)
            assert status == 400 and "username or password is not right" in body
        finally:
            server.terminate()
            server.wait(timeout=20)
    shutil.rmtree(tmp, ignore_errors=True)


# --- the channel layer through a Redis outage -----------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_writes_keep_working_while_redis_is_down_and_live_updates_resume_when_it_returns(world, settings):
    import asyncio

    from asgiref.sync import async_to_sync, sync_to_async
    from channels.layers import channel_layers, get_channel_layer

    with throwaway_redis() as redis:
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [redis.url], "prefix": "drill"},
            }
        }
        channel_layers.backends.clear()
        try:
            group = f"case.{world.case.pk}"
            police, author = world.agencies["police"], world.police_practitioner
            # given Redis stops in the middle of the work
            redis.stop()
            FAULTS["faults_injected"] += 1
            # when a practitioner adds a note
            note = do_add_note(
                case=world.case,
                agency=police,
                acting_user=author,
                body="Contact attempt reported by the victim's employer.",
                category="C2",
            )
            # then the note is saved and audited all the same
            assert Note.objects.filter(pk=note.pk).exists()
            assert AuditEvent.objects.filter(object_id=str(note.pk), op="collect").exists()
            # when Redis comes back
            redis.start()
            channel_layers.backends.clear()

            async def listen_then_write() -> dict:
                layer = get_channel_layer()
                channel = await layer.new_channel()
                await layer.group_add(group, channel)
                await sync_to_async(do_add_note)(
                    case=world.case,
                    agency=police,
                    acting_user=author,
                    body="Victim reports a new account messaging her.",
                    category="C2",
                )
                return await asyncio.wait_for(layer.receive(channel), timeout=5)

            # then live updates flow again, carrying ids and a version only
            message = async_to_sync(listen_then_write)()
            assert message["type"] == "case.changed"
            assert message["case_id"] == str(world.case.pk)
            assert set(message) <= {"type", "case_id", "version", "kind", "object_id"}
        finally:
            channel_layers.backends.clear()


def teardown_module(module) -> None:
    import json

    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "faults.json").write_text(json.dumps(FAULTS, indent=2))
