"""Settings for the end-to-end suite (tests/e2e): a throwaway world in a temporary directory.

The e2e fixture sets CONVENE_VAR_DIR to a fresh temporary directory, then runs migrate, seed_demo and
run_embedded under these settings. Whatever DATABASE_URL or REDIS_URL the calling shell has (CI sets
both for the rest of the suite), the browser tests always get their own SQLite files and the in-memory
channel layer of the single serving process, so they never touch a shared database.
"""

from config.env import env_int, env_list

from .base import *  # noqa: F403
from .base import VAR_DIR, _database

DEBUG = False
SECRET_KEY = "e2e-only-secret-key-not-for-any-deployment-0123456789abcdef"  # noqa: S105
CONVENE_CREATE_KEY_FILES = True
CONVENE_KEY_DIR = VAR_DIR / "keys"
CONVENE_CHECKPOINT_DIR = VAR_DIR / "checkpoints"
DATABASES = {
    "default": _database(f"sqlite:///{VAR_DIR / 'convene.sqlite3'}"),
    "keystore": _database(f"sqlite:///{VAR_DIR / 'keystore.sqlite3'}"),
}
# A throwaway world: no fsync (a crash loses nothing of value) and WAL so the test process can read
# TOTP secrets while the server writes.
for _db in DATABASES.values():
    _db["OPTIONS"]["init_command"] = "PRAGMA synchronous=OFF; PRAGMA journal_mode=WAL;"
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Speed: the demo world makes thirty accounts; the hasher is not what these tests exercise.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = []
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
# The e2e fixture serves on a free port and passes it in PORT: the live sockets accept that origin only.
CONVENE_ALLOWED_ORIGINS = env_list(
    "CONVENE_ALLOWED_ORIGINS", [f"http://{host}:{env_int('PORT', 8000)}" for host in ALLOWED_HOSTS]
)
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
AXES_FAILURE_LIMIT = 50
# The single sign-on journey runs its OpenID provider on a loopback port over http.
CONVENE_OIDC_ALLOW_HTTP_LOOPBACK = True
CONVENE_AUDIT_SEAL_INTERVAL_SECONDS = 1
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
VAR_DIR.mkdir(parents=True, exist_ok=True)
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = VAR_DIR / "mail"
