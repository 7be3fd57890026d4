"""Project-wide pytest setup: every database test may use both databases (main and key store),
named personas, and clients signed in with both factors."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
REDIS = bool(os.environ.get("REDIS_URL"))


FIGURE_DRILLS = {
    "tests.drills.test_route_matrix",
    "tests.drills.test_generated_api",
    "tests.drills.test_hostile_input",
    "tests.drills.test_faults",
}


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    for item in items:
        marker = item.get_closest_marker("django_db")
        uses_db = {"db", "transactional_db", "django_db_reset_sequences"} & set(
            getattr(item, "fixturenames", ())
        )
        if marker is not None or uses_db:
            kwargs = dict(marker.kwargs) if marker is not None else {}
            if "transactional_db" in getattr(item, "fixturenames", ()):
                kwargs.setdefault("transaction", True)
            kwargs["databases"] = "__all__"
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)
        if item.get_closest_marker("e2e"):
            # one xdist worker runs every browser journey, so they share one demo server
            item.add_marker(pytest.mark.xdist_group("e2e"))
        elif getattr(getattr(item, "module", None), "__name__", "") in FIGURE_DRILLS:
            # a drill that counts what it tried for docs/security.md runs whole on one worker, so the
            # figures it writes when its module ends are the whole module's
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
        if item.get_closest_marker("postgres") and not POSTGRES:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://…"))
        if item.get_closest_marker("redis") and not REDIS:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://…"))


@pytest.fixture(autouse=True)
def _fresh_policy_caches() -> Any:
    from keystore.keyring import dek_cache
    from sharing.policy import view_permission_id

    view_permission_id.cache_clear()
    yield
    dek_cache.clear()


@pytest.fixture
def world(db: Any) -> Any:
    from sharing.policy import view_permission_id
    from tests.world import build_world

    world = build_world()
    view_permission_id()  # looked up once per process in production; once per test here
    return world


def _verify(client: Any, user: Any) -> Any:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def signed_in(client: Any) -> Callable[[Any], Any]:
    """signed_in(user) -> a Django test client signed in with password and second factor."""

    def make(user: Any) -> Any:
        from django.test import Client

        return _verify(Client(), user)

    return make


@pytest.fixture
def api(db: Any) -> Callable[[Any], Any]:
    """api(user) -> a DRF APIClient signed in with both factors."""

    def make(user: Any) -> Any:
        from rest_framework.test import APIClient

        return _verify(APIClient(), user)

    return make


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_configure(config: Any) -> None:
    if os.environ.get("CONVENE_CI_STRICT") and not (POSTGRES and REDIS):
        raise pytest.UsageError(
            "CI runs the whole suite on PostgreSQL and Redis: set DATABASE_URL and REDIS_URL "
            "(no PostgreSQL- or Redis-only test may be skipped in CI)."
        )


# --- no sensitive value in any log line (issue 9) -------------------------------------------
# Every plaintext that passes through an encrypted field during the run is remembered, every log
# record emitted during the run is kept, and the run fails if any such value appears in a log.
_SENSITIVE: set[str] = set()
_LOG_LINES: list[str] = []


# Loggers that belong to stand-ins for other people's systems, not to Convene: the test SMTP server
# (aiosmtpd logs every envelope it receives, as the recipient's mail system would). What reaches an
# email is checked on the message itself (notifications/tests/test_no_sensitive_values.py).
_OTHER_SYSTEMS = ("mail.log",)


class _KeepEveryRecord(logging.Handler):
    def emit(self, record: Any) -> None:
        if record.name.startswith(_OTHER_SYSTEMS):
            return
        with contextlib.suppress(Exception):  # a record that cannot be formatted cannot leak either
            _LOG_LINES.append(self.format(record))


def _remember(value: Any) -> None:
    if isinstance(value, str):
        if len(value.strip()) >= 8:
            _SENSITIVE.add(value.strip())
    elif isinstance(value, dict):
        for item in value.values():
            _remember(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _remember(item)


def pytest_sessionstart(session: Any) -> None:
    from keystore import fields

    original = fields.EncryptedField.encrypt

    def recording_encrypt(self: Any, instance: Any, value: Any) -> bytes:
        _remember(value)
        return original(self, instance, value)

    fields.EncryptedField.encrypt = recording_encrypt  # type: ignore[method-assign]


_HANDLER = _KeepEveryRecord(level=logging.DEBUG)
_HANDLER.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))


@pytest.fixture(autouse=True)
def _keep_every_log_record() -> Any:
    """Attach the keeper to the root logger for every test (Django's logging setup replaces root
    handlers after the session starts, so attaching once at session start would capture nothing)."""
    root = logging.getLogger()
    if _HANDLER not in root.handlers:
        root.addHandler(_HANDLER)
    yield


_RAN: list[str] = []  # node ids of tests whose body ran (call phase), in this process


def pytest_runtest_logreport(report: Any) -> None:
    if report.when == "call" and not hasattr(report, "node"):  # a worker's own report, not a relay
        _RAN.append(report.nodeid)


def scan_for_leaks(sensitive: set[str], lines: list[str]) -> list[str]:
    """The sensitive values that appear in any of the log lines."""
    text = "\n".join(lines)
    return sorted(v for v in sensitive if v in text)


def _keeper_hears_the_root_logger() -> bool:
    """Whether a record logged now reaches the keeper (Django's logging setup may have replaced the
    root handlers, or raised the root level): a probe, so a run whose tests logged nothing is not
    mistaken for a broken scan, and a broken scan is not mistaken for a clean run."""
    probe = f"log-scan-probe-{os.getpid()}-{len(_LOG_LINES)}"
    root = logging.getLogger()
    others = [h for h in root.handlers if h is not _HANDLER]  # the probe is not printed on the console
    for handler in others:
        root.removeHandler(handler)
    try:
        logging.getLogger("convene.log_scan").warning(probe)
    finally:
        for handler in others:
            root.addHandler(handler)
    return any(probe in line for line in _LOG_LINES[-5:])


def _scan_verdict() -> dict[str, Any]:
    leaks = scan_for_leaks(_SENSITIVE, _LOG_LINES)
    return {
        "ran": len(_RAN),
        "log_records_scanned": len(_LOG_LINES),
        "sensitive_values_tracked": len(_SENSITIVE),
        "leaks": len(leaks),
        # the scan must be able to fail: after tests ran, a record logged must reach it
        "scan_broken": bool(_RAN) and not _keeper_hears_the_root_logger(),
    }


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Under pytest-xdist each worker scans its own logs; the controller adds up their verdicts."""
    verdict = getattr(node, "workeroutput", {}).get("log_scan")
    if verdict:
        _WORKER_VERDICTS.append(verdict)


_WORKER_VERDICTS: list[dict[str, Any]] = []


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    import json
    from pathlib import Path

    verdict = _scan_verdict()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the verdict to the controller
        workeroutput["log_scan"] = verdict
        return
    verdicts = [verdict, *_WORKER_VERDICTS]
    figures = {
        "tests_run": sum(v["ran"] for v in verdicts),
        "log_records_scanned": sum(v["log_records_scanned"] for v in verdicts),
        "sensitive_values_tracked": sum(v["sensitive_values_tracked"] for v in verdicts),
        "sensitive_values_found_in_logs": sum(v["leaks"] for v in verdicts),
    }
    out = Path(__file__).parent / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "log-scan.json").write_text(json.dumps(figures, indent=2))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        counts = {key: len(reporter.stats.get(key, [])) for key in ("passed", "failed", "error", "skipped")}
        (out / "last-run.txt").write_text(", ".join(f"{v} {k}" for k, v in counts.items()))
    if os.environ.get("CONVENE_CI_STRICT") and reporter is not None and reporter.stats.get("skipped"):
        # CI runs every layer: a test that skipped (no chromium, no PostgreSQL binaries, …) is a verdict
        # CI did not give, so the run fails and names it with its reason
        for report in reporter.stats["skipped"]:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            reporter.write_line(f"SKIPPED IN CI: {report.nodeid}: {reason}", red=True)
        session.exitstatus = 1
    if any(v.get("scan_broken") for v in verdicts):
        if reporter is not None:
            reporter.write_line(
                "FAILED: the log scan is broken: a record logged after the tests never reached it "
                "(is the keeper still on the root logger?).",
                red=True,
            )
        session.exitstatus = 1
    if figures["sensitive_values_found_in_logs"]:
        if reporter is not None:
            reporter.write_line(
                f"FAILED: {figures['sensitive_values_found_in_logs']} sensitive value(s) reached a log "
                "line during the run (values not printed; see which test logged them with -p no:logging).",
                red=True,
            )
        session.exitstatus = 1
