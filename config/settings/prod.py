"""Production: PostgreSQL, Redis, TLS in front. Every secret comes from the environment."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int

from .base import *  # noqa: F403
from .base import DATABASES, SECRET_KEY

if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) must be set in production.")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and not env_bool(
    "CONVENE_ALLOW_SQLITE", False
):
    raise ImproperlyConfigured("Production needs DATABASE_URL pointing at PostgreSQL.")

# Connection pooling (psycopg's pool, Django ≥ 5.1). Under ASGI every request runs its synchronous
# code in a thread of its own, so persistent connections (CONN_MAX_AGE) pile up one per thread until
# PostgreSQL refuses clients ("too many clients already": docs/benchmarks.md); opening a fresh
# connection per request costs a round trip and authentication. A pool per worker and database
# hands connections back instead. DATABASE_POOL_SIZE=0 turns it off (CONN_MAX_AGE then applies).
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 8)
# The key store is read once per data key not yet cached: a small pool is plenty.
KEYSTORE_POOL_SIZE = env_int("KEYSTORE_POOL_SIZE", 2)
for _alias, _database in DATABASES.items():
    _size = KEYSTORE_POOL_SIZE if _alias == "keystore" else DATABASE_POOL_SIZE
    if DATABASE_POOL_SIZE > 0 and _size > 0 and _database["ENGINE"] == "django.db.backends.postgresql":
        _database["CONN_MAX_AGE"] = 0  # Django refuses persistent connections with a pool
        _database["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": _size,
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 5),
        }

DEBUG = False
CONVENE_CREATE_KEY_FILES = False
CONVENE_ALLOW_DEMO_ACCOUNTS = False
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_NAME = "__Host-csrftoken"
CSRF_COOKIE_SAMESITE = "Strict"
STATIC_ROOT = BASE_DIR / "var" / "static"  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
