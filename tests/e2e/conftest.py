"""End-to-end fixtures: a real Convene server and Debian's chromium driven by Playwright.

- ``e2e_server`` (session): a throwaway world in a temporary directory (``config.settings.e2e``:
  SQLite files, key files, in-memory channel layer), migrated and seeded with ``seed_demo`` in a
  subprocess, then served by ``run_embedded`` (Daphne's ASGI runserver: HTTP, WebSockets, static
  files, audit sealer) on a free local port. Waits for /healthz; stops the server at the end.
- ``browser`` (session): /usr/bin/chromium, headless, background networking off. Never downloads a
  browser. Every test here is skipped, with the reason, only when that binary is missing.
- ``context``/``page``: a fresh browser context per test; ``sign_in(page, username)`` goes through
  the real password + TOTP pages, computing the code from the server's database.
- ``check_a11y(page, name)``: runs axe-core inside the page and fails on serious or critical
  violations; ``shot(page, name)`` saves a screenshot to test-artifacts/screenshots/.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.waiting import NotYet, eventually

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CONVENE_E2E_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DEMO_PASSWORD = "Convene-demo-2026!"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
]
# Environment variables that would point the server at shared services; the e2e world is private.
_SHARED_ENV = (
    "DATABASE_URL",
    "KEYSTORE_DATABASE_URL",
    "REDIS_URL",
    "CHANNELS_PREFIX",
    "CONVENE_MASTER_KEYS",
    "CONVENE_INDEX_KEY",
    "CONVENE_AUDIT_SIGNING_KEY",
    "DJANGO_SECRET_KEY",
)

# The two databases migrate in parallel (two processes); then the demo world is seeded.
MIGRATE_KEYSTORE = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", database="keystore", interactive=False, verbosity=0)
"""
MIGRATE_AND_SEED = """
import django, sys
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
sys.stdin.read()  # wait until the key store is migrated
call_command("seed_demo", quiet_table=True, verbosity=0)
"""
CACHE_DIR = ROOT / "var" / "e2e-cache"
WORLD_FILES = ("convene.sqlite3", "keystore.sqlite3")


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            if not CHROMIUM.exists():
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium); "
                        "the e2e suite never downloads a browser"
                    )
                )


@dataclass
class Server:
    base_url: str
    var_dir: Path
    log_path: Path

    def db(self) -> sqlite3.Connection:
        """A read-only connection to the server's main database (for TOTP secrets and ids)."""
        return sqlite3.connect(f"file:{self.var_dir / 'convene.sqlite3'}?mode=ro", uri=True, timeout=10)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def manage(self, *args: str, timeout: float = 60) -> str:
        """Run a management command against the e2e world (e.g. seal the audit chain now)."""
        result = subprocess.run(  # noqa: S603 - fixed interpreter and arguments
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=_server_env(self.var_dir),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SHARED_ENV}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.e2e",
        CONVENE_VAR_DIR=str(var_dir),
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _wait_for(url: str, proc: subprocess.Popen[bytes], deadline: float, log: Path) -> None:
    last: list[Exception] = []

    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the e2e server exited ({proc.returncode}):\n{log.read_text(errors='replace')[-4000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local server
                return response.status == 200
        except Exception as exc:  # noqa: BLE001 - keep polling until the deadline
            last[:] = [exc]
            return False

    try:
        eventually(answers, within=max(deadline - time.monotonic(), 0.0), interval=0.2, what=url)
    except NotYet:
        raise RuntimeError(
            f"the e2e server did not answer {url}: {last[0] if last else None}\n"
            f"{log.read_text(errors='replace')[-4000:]}"
        ) from None


def _world_fingerprint() -> str:
    """Changes whenever the schema, the demo seed or the day changes (the seed's dates are relative)."""
    today = datetime.datetime.now(ZoneInfo("Europe/London")).date()
    digest = hashlib.sha256(today.isoformat().encode())
    paths = (
        sorted(ROOT.glob("*/migrations/*.py"))
        + sorted(ROOT.glob("*/demo.py"))
        + sorted(ROOT.glob("*/demo/*.py"))
    )
    paths += [ROOT / "config" / "settings" / "e2e.py", ROOT / "config" / "settings" / "base.py"]
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _prepare_world(var_dir: Path) -> None:
    """Migrate and seed a fresh world into var_dir, or copy today's identical one from var/e2e-cache."""
    cached = CACHE_DIR / _world_fingerprint()
    if (cached / "ready").exists():
        try:
            for name in WORLD_FILES:
                shutil.copy2(cached / name, var_dir / name)
            shutil.copytree(cached / "keys", var_dir / "keys")
            return
        except OSError:  # another run replaced the cache meanwhile: build afresh
            for name in WORLD_FILES:
                (var_dir / name).unlink(missing_ok=True)
            shutil.rmtree(var_dir / "keys", ignore_errors=True)
    env = _server_env(var_dir)
    keystore = subprocess.Popen(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-c", MIGRATE_KEYSTORE],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    main = subprocess.Popen(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-c", MIGRATE_AND_SEED],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    keystore_out, _ = keystore.communicate(timeout=300)
    if keystore.returncode != 0:
        main.kill()
        raise RuntimeError(f"migrating the e2e key store failed:\n{keystore_out.decode(errors='replace')}")
    main_out, _ = main.communicate(input=b"", timeout=300)
    if main.returncode != 0:
        raise RuntimeError(
            f"migrate/seed_demo for the e2e world failed:\n{main_out.decode(errors='replace')}"
        )
    staging = CACHE_DIR / f".{cached.name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in WORLD_FILES:
        shutil.copy2(var_dir / name, staging / name)
    shutil.copytree(var_dir / "keys", staging / "keys")
    (staging / "ready").touch()
    try:
        shutil.rmtree(cached, ignore_errors=True)
        staging.rename(cached)
    except OSError:  # a parallel run cached the same world first
        shutil.rmtree(staging, ignore_errors=True)
    for old in CACHE_DIR.iterdir():
        if old.name != cached.name and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)


@pytest.fixture(scope="session")
def e2e_server() -> Iterator[Server]:
    reuse = os.environ.get("CONVENE_E2E_REUSE")  # "<base url> <var dir>": a server you started, for debugging
    if reuse:
        url, directory = reuse.split()
        yield Server(base_url=url, var_dir=Path(directory), log_path=Path(directory) / "server.log")
        return
    var_dir = Path(tempfile.mkdtemp(prefix="convene-e2e-"))
    log_path = var_dir / "server.log"
    env = _server_env(var_dir)
    _prepare_world(var_dir)
    port = _free_port()
    env["PORT"] = str(port)  # the live sockets accept this origin only (config/settings/e2e.py)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 - fixed interpreter and arguments
            [sys.executable, "manage.py", "run_embedded", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base_url}/healthz", proc, time.monotonic() + 90, log_path)
        yield Server(base_url=base_url, var_dir=var_dir, log_path=log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if os.environ.get("CONVENE_E2E_KEEP") != "1":
            shutil.rmtree(var_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_context(browser: Any, e2e_server: Server) -> Iterator[Callable[..., Any]]:
    """new_context() -> a fresh, isolated browser context (own cookies) on the e2e server."""
    made: list[Any] = []

    def make(**options: Any) -> Any:
        context = browser.new_context(
            base_url=e2e_server.base_url,
            viewport={"width": 1200, "height": 900},
            locale="en-GB",
            timezone_id="Europe/London",
            **options,
        )
        context.set_default_timeout(15_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., Any]) -> Any:
    return new_context().new_page()


# --- signing in ------------------------------------------------------------------------------
def totp_code(server: Server, username: str) -> str:
    """The code the server will accept now, from the user's confirmed TOTP device (as demo_totp does)."""
    from django_otp.oath import TOTP

    with server.db() as conn:
        row = conn.execute(
            "SELECT d.key, d.step, d.t0, d.digits, d.drift, d.last_t FROM otp_totp_totpdevice d "
            "JOIN agencies_user u ON u.id = d.user_id WHERE u.username = ? AND d.confirmed = 1 "
            "ORDER BY d.id LIMIT 1",
            (username,),
        ).fetchone()
    assert row is not None, f"{username} has no confirmed TOTP device in the e2e world"
    key, step, t0, digits, drift, last_t = row
    totp = TOTP(bytes.fromhex(key), step, t0, digits, drift)
    if last_t is not None and last_t >= totp.t():
        totp.drift += last_t - totp.t() + 1
    return f"{totp.token():0{digits}d}"


@pytest.fixture
def sign_in(e2e_server: Server) -> Callable[[Any, str], None]:
    def do(page: Any, username: str) -> None:
        page.goto("/signin/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url("**/signin/verify/**")
        page.get_by_label("Security code").fill(totp_code(e2e_server, username))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("load")
        assert "/signin/" not in page.url, f"sign-in as {username} failed:\n{page.content()[:2000]}"

    return do


# --- accessibility and screenshots -----------------------------------------------------------
_AXE_SOURCE: str | None = None


def _axe_source() -> str:
    global _AXE_SOURCE
    if _AXE_SOURCE is None:
        import axe_playwright_python

        _AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    return _AXE_SOURCE


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """Run axe-core (WCAG 2.x A/AA rules and best practice) inside the page; violations of the given impacts.

    axe is evaluated through the DevTools protocol, so the page's strict CSP stays as it is."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: 'tag', values: [
                    'wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
                resultTypes: ['violations'],
            });
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => ({target: n.target, summary: n.failureSummary}))}));
        }"""
    )
    return [v for v in result if v.get("impact") in impacts]


@pytest.fixture
def check_a11y() -> Callable[[Any, str], None]:
    def check(page: Any, name: str) -> None:
        bad = axe_violations(page)
        assert not bad, f"axe-core found serious/critical violations on {name} ({page.url}):\n" + json.dumps(
            bad, indent=2
        )

    return check


@pytest.fixture
def shot() -> Callable[[Any, str], Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def visit(check_a11y: Callable[[Any, str], None], shot: Callable[[Any, str], Path]) -> Callable[..., None]:
    """visit(page, name): the page has loaded; check its title, accessibility, and take its picture."""

    def do(page: Any, name: str) -> None:
        page.wait_for_load_state("load")
        title = page.title()
        assert title.endswith("– Convene"), f"{name}: page title {title!r} does not say where you are"
        check_a11y(page, name)
        shot(page, name)

    return do
