"""Settings for the test suite: SQLite by default, PostgreSQL and Redis when their URLs are set."""

import tempfile
from pathlib import Path
from typing import Any, cast

from config.env import env_str

from .base import *  # noqa: F403
from .base import DATABASES, _database

DEBUG = False
SECRET_KEY = "test-only-secret-key-not-for-any-deployment-0123456789"
CONVENE_CREATE_KEY_FILES = True
_TMP = Path(tempfile.mkdtemp(prefix="convene-test-"))
CONVENE_KEY_DIR = _TMP / "keys"
CONVENE_CHECKPOINT_DIR = _TMP / "checkpoints"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; production uses Argon2
AUTH_PASSWORD_VALIDATORS = []
AXES_FAILURE_LIMIT = 5
CONVENE_ALLOWED_ORIGINS = ["http://localhost"]  # the WebSocket tests' own origin (Host: localhost)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# On PostgreSQL the key store is a second database beside the main one (test_<name>_keys).
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3" and not env_str(
    "KEYSTORE_DATABASE_URL", ""
):
    _main = DATABASES["default"]
    DATABASES["keystore"] = {
        **_main,
        "NAME": f"{_main['NAME']}_keys",
        "TEST": {"NAME": f"test_{_main['NAME']}_keys"},
    }
elif DATABASES["keystore"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["keystore"] = _database("sqlite://:memory:")
CONVENE_ALLOW_AUDIT_FLUSH = True  # only the test suite may empty the audit tables (core flush)

# Under pytest-xdist each worker has its own databases (pytest-django adds the worker's suffix) and
# its own channel-layer prefix, so two workers' groups (user.<id>, agency.<id>) never meet in Redis.
_WORKER = env_str("PYTEST_XDIST_WORKER", "")
_LAYER = cast(dict[str, Any], CHANNEL_LAYERS["default"].get("CONFIG", {}))  # noqa: F405
if _WORKER and "prefix" in _LAYER and not _LAYER["prefix"].endswith(f"_{_WORKER}"):
    # (a child process handed the worker's prefix already has it)
    _LAYER["prefix"] += f"_{_WORKER}"
