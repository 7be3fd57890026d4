"""The production server the live and HTTP sections run against: settings, start, stop, workers' memory."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.environment import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prod_env(db_url: str, keys_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    from django.conf import settings

    from audit.services import signing_key
    from keystore.keyring import index_root_key, master_keys

    master_keys()
    index_root_key()
    signing_key()  # the key files exist in var/bench/keys after these calls
    key_dir = Path(settings.CONVENE_KEY_DIR)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "CONVENE_", "DATABASE", "KEYSTORE", "REDIS", "CHANNELS"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.prod",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(40),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        CONVENE_MASTER_KEYS_FILE=str(key_dir / "master-keys"),
        CONVENE_INDEX_KEY_FILE=str(key_dir / "index-key"),
        CONVENE_AUDIT_SIGNING_KEY_FILE=str(key_dir / "audit-signing-key"),
        CONVENE_CHECKPOINT_DIR=str(settings.CONVENE_CHECKPOINT_DIR),
        DATABASE_URL=db_url,
        KEYSTORE_DATABASE_URL=keys_url,
        REDIS_URL=redis_url,
        CHANNELS_PREFIX=prefix,
        LOG_LEVEL="WARNING",
    )
    return env


def worker_pids(master: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return []
    return [int(p) for p in out.split()]


def vm_hwm_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# Enough open connections to keep all workers busy on both URLs: with 8, /healthz left the workers
# idle between requests and its req/s (the denominator) measured wrk's round trips, not the server.


def start_asgi_server(env: dict[str, str], workers: int = 2) -> tuple[subprocess.Popen[bytes], str, Any]:
    """The production ASGI server (gunicorn + uvicorn workers) on a free port: (process, base URL, log)."""
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    server = subprocess.Popen(
        [
            gunicorn,
            "config.asgi:application",
            "-k",
            "uvicorn_worker.UvicornWorker",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return server, f"http://127.0.0.1:{port}", log


def wait_until_healthy(
    server: subprocess.Popen[bytes], base: str, log: Any, seconds: float = 60
) -> str | None:
    """None once /healthz answers 200; otherwise the tail of the server's log."""
    import urllib.request

    deadline = time.time() + seconds
    while True:
        try:
            req = urllib.request.Request(f"{base}/healthz", headers={"X-Forwarded-Proto": "https"})  # noqa: S310
            with urllib.request.urlopen(req, timeout=2) as response:  # noqa: S310 - our own local server
                if response.status == 200:
                    return None
        except Exception:  # noqa: BLE001
            if server.poll() is not None or time.time() > deadline:
                log.flush()
                return Path(log.name).read_text()[-800:]
            time.sleep(0.3)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
