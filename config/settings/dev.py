"""The embedded default for `make run`: SQLite, in-memory channel layer, key files made on first run."""

import secrets

from config.env import env_bool, env_int, env_list, env_secret, env_str
from config.keyfiles import read_or_create

from .base import *  # noqa: F403
from .base import VAR_DIR

DEBUG = env_bool("DJANGO_DEBUG", False)
CONVENE_CREATE_KEY_FILES = True
SECRET_KEY = env_secret("DJANGO_SECRET_KEY") or read_or_create(
    VAR_DIR / "keys" / "django-secret-key", lambda: secrets.token_urlsafe(50)
)
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
# `make run` serves plain HTTP on PORT (8000 unless set): the live sockets accept that origin only.
CONVENE_ALLOWED_ORIGINS = env_list(
    "CONVENE_ALLOWED_ORIGINS", [f"http://{host}:{env_int('PORT', 8000)}" for host in ALLOWED_HOSTS]
)
VAR_DIR.mkdir(parents=True, exist_ok=True)
# Mail from `make run` goes to files in var/mail (one per message) unless EMAIL_HOST is set.
if not env_str("EMAIL_HOST", ""):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = VAR_DIR / "mail"
