"""The benchmark's environment: its databases, the preflight checks, the machine and server versions."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/"


def database_urls(size: str, explicit: str | None) -> tuple[str, str]:
    url = explicit or os.environ.get("BENCH_DATABASE_URL")
    if not url:
        base = os.environ.get("DATABASE_URL", "")
        server = base if base.startswith(("postgres://", "postgresql://")) else DEFAULT_SERVER
        parts = urlparse(server)
        url = urlunparse(parts._replace(path=f"/convene_bench_{size}"))
    parts = urlparse(url)
    keys = urlunparse(parts._replace(path=parts.path + "_keys"))
    return url, keys


def preflight(db_url: str, redis_url: str) -> list[str]:
    problems = []
    if not db_url.startswith(("postgres://", "postgresql://")):
        problems.append(f"The benchmark needs PostgreSQL; the database URL is {db_url!r}.")
    else:
        import psycopg

        parts = urlparse(db_url)
        try:
            psycopg.connect(urlunparse(parts._replace(path="/postgres")), connect_timeout=3).close()
        except Exception as exc:  # noqa: BLE001
            problems.append(f"PostgreSQL at {parts.hostname}:{parts.port or 5432} is not reachable ({exc}).")
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        problems.append(f"Redis at {redis_url} is not reachable ({exc}).")
    return problems


def ensure_databases(urls: list[str], drop: bool = False) -> None:
    import psycopg

    for url in urls:
        parts = urlparse(url)
        name = parts.path.lstrip("/")
        admin = urlunparse(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists and drop:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                exists = None
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"nproc": os.cpu_count(), "python": platform.python_version()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
        info["load_average_at_start"] = os.getloadavg()
    except OSError:
        pass
    return info


def server_versions() -> dict[str, str]:
    from django.db import connection

    versions = {}
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        versions["postgresql"] = cursor.fetchone()[0]
    try:
        import redis
        from django.conf import settings

        versions["redis"] = str(redis.Redis.from_url(settings.REDIS_URL).info("server")["redis_version"])
    except Exception:  # noqa: BLE001
        versions["redis"] = "unknown"
    return versions
