"""Settings shared by every environment. Everything that differs comes from the environment."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from csp.constants import NONCE, SELF

from config.env import env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("CONVENE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = False
SECRET_KEY = env_secret("DJANGO_SECRET_KEY") or ""
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", [])
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# WebSocket handshakes are accepted only from these origins (scheme://host[:port], compared exactly).
# Empty: CSRF_TRUSTED_ORIGINS plus https:// on each literal ALLOWED_HOSTS name (core/origins.py).
CONVENE_ALLOWED_ORIGINS = env_list("CONVENE_ALLOWED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "guardian",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files (the CSP allows no CDN)
    "django_htmx",
    "channels",
    "core",
    "keystore",
    "agencies",
    "audit",
    "cases",
    "sharing",
    "meetings",
    "lifecycle",
    "django_tasks",
    "django_tasks_db",
    "notifications",
    "bench",  # manage.py seed_large (no models)
    "home",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.RequestIdMiddleware",
    "core.middleware.RejectNulMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "agencies.middleware.SessionPolicyMiddleware",
    "agencies.middleware.RequireVerifiedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    # last, so the first to see a view's exception: records a refused case id (policy.Denied)
    "sharing.middleware.DeniedMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "home.context_processors.convene",
            ],
        },
    }
]

# --- Databases -----------------------------------------------------------------------------
# "default" holds everything but the data keys; "keystore" holds the wrapped per-case data keys,
# so that a dump of the main database never carries a key (see README, "Keys and backups").
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'convene.sqlite3'}")
KEYSTORE_DATABASE_URL = env_str("KEYSTORE_DATABASE_URL", f"sqlite:///{VAR_DIR / 'keystore.sqlite3'}")


def _database(url: str, assume_role: str = "", password: str | None = None) -> dict:
    config: dict = dj_database_url.parse(  # type: ignore[assignment]
        url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0)
    )
    if password:  # from a secret file, so that no password sits in DATABASE_URL or the environment
        config["PASSWORD"] = password
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    else:
        config["OPTIONS"] = {"connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 5)}
        if assume_role:  # Django 5.2: SET ROLE on connect, so what migrate creates belongs to the owner
            config["OPTIONS"]["assume_role"] = assume_role
    return config


# Only the migrate job sets these (deploy/README.md, "Database roles"): it logs in as the migrator and
# acts as the owner. Web and sealer connect as the runtime roles and assume nothing.
DATABASE_ASSUME_ROLE = env_str("DATABASE_ASSUME_ROLE", "")
KEYSTORE_DATABASE_ASSUME_ROLE = env_str("KEYSTORE_DATABASE_ASSUME_ROLE", "")
DATABASES = {
    "default": _database(DATABASE_URL, DATABASE_ASSUME_ROLE, env_secret("DATABASE_PASSWORD")),
    "keystore": _database(
        KEYSTORE_DATABASE_URL, KEYSTORE_DATABASE_ASSUME_ROLE, env_secret("KEYSTORE_DATABASE_PASSWORD")
    ),
}
# The runtime roles manage.py grant_runtime_privileges grants to (and migration audit/0005 restricts).
CONVENE_DB_RUNTIME_ROLE = env_str("CONVENE_DB_RUNTIME_ROLE", "convene_app")
CONVENE_DB_KEYSTORE_RUNTIME_ROLE = env_str("CONVENE_DB_KEYSTORE_RUNTIME_ROLE", "convene_keys_app")
DATABASE_ROUTERS = ["keystore.routers.KeystoreRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels --------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("CHANNELS_PREFIX", "convene")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Authentication --------------------------------------------------------------------------
AUTH_USER_MODEL = "agencies.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# guardian stores object permissions; the policy module (sharing.policy) reads them directly,
# so guardian's authentication backend is deliberately not installed: one place decides.
SILENCED_SYSTEM_CHECKS = ["guardian.W001"]
ANONYMOUS_USER_NAME = None
LOGIN_URL = "agencies:login"
LOGIN_REDIRECT_URL = "home:dashboard"
OTP_TOTP_ISSUER = "Convene"

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.5  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The password alone is only half a sign-in: failures reset after the second factor (agencies.views._finish).
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "agencies.views.lockout_response"
AXES_IPWARE_PROXY_COUNT = env_int("AXES_PROXY_COUNT", 0)
AXES_VERBOSE = False

# Sessions: idle timeout of 30 minutes (refreshed on each request) and an absolute limit.
SESSION_COOKIE_AGE = env_int("CONVENE_SESSION_IDLE_SECONDS", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CONVENE_SESSION_ABSOLUTE_SECONDS = env_int("CONVENE_SESSION_ABSOLUTE_SECONDS", 10 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True

# Single sign-on (OpenID Connect per agency, agencies.oidc, Authlib). Client secrets are files in this
# folder, named on each agency's configuration page; the database holds only the file's name.
CONVENE_OIDC_SECRETS_DIR = Path(env_str("CONVENE_OIDC_SECRETS_DIR", str(VAR_DIR / "oidc-secrets")))
CONVENE_OIDC_TIMEOUT_SECONDS = env_int("CONVENE_OIDC_TIMEOUT_SECONDS", 10)
# http issuers are accepted only on loopback addresses, and only when this is on (tests, development).
CONVENE_OIDC_ALLOW_HTTP_LOOPBACK = env_bool("CONVENE_OIDC_ALLOW_HTTP_LOOPBACK", False)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# --- Security headers ------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": [SELF],
    }
}

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agencies.tokens.TokenAuthentication",
        "agencies.api.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["agencies.api.IsVerifiedMember"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "core.pagination.KeysetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "sharing.api.exceptions.exception_handler",  # records policy.Denied, then core.api
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],  # JSON with a nesting limit
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Convene API",
    "DESCRIPTION": "Multi-agency case coordination for stalking perpetrators. Every read is audited.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its Swagger page are for signed-in members with both factors, like the API.
    "SERVE_PERMISSIONS": ["agencies.api.IsVerifiedMember"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# --- Internationalisation, static ------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Convene ---------------------------------------------------------------------------------
# Master keys: "id:base64key,id:base64key", newest first. In embedded mode a key file is made.
CONVENE_MASTER_KEYS = env_secret("CONVENE_MASTER_KEYS")
CONVENE_INDEX_KEY = env_secret("CONVENE_INDEX_KEY")
CONVENE_AUDIT_SIGNING_KEY = env_secret("CONVENE_AUDIT_SIGNING_KEY")
CONVENE_CREATE_KEY_FILES = False
CONVENE_KEY_DIR = Path(env_str("CONVENE_KEY_DIR", str(VAR_DIR / "keys")))
# Where people reach Convene, for links made outside a request (manage.py create_agency's invitation).
CONVENE_BASE_URL = env_str("CONVENE_BASE_URL", f"https://{ALLOWED_HOSTS[0]}" if ALLOWED_HOSTS else "")
CONVENE_CHECKPOINT_DIR = Path(env_str("CONVENE_CHECKPOINT_DIR", str(VAR_DIR / "checkpoints")))
CONVENE_DEK_CACHE_SECONDS = env_int("CONVENE_DEK_CACHE_SECONDS", 300)
CONVENE_BREAK_GLASS_MINUTES = env_int("CONVENE_BREAK_GLASS_MINUTES", 60)
CONVENE_REVIEW_WEEKS = {"1": 26, "2": 16, "3": 8}
CONVENE_AUDIT_SEAL_INTERVAL_SECONDS = env_int("CONVENE_AUDIT_SEAL_INTERVAL_SECONDS", 2)
CONVENE_AUDIT_CHECKPOINT_INTERVAL_SECONDS = env_int("CONVENE_AUDIT_CHECKPOINT_INTERVAL_SECONDS", 300)
CONVENE_ALLOW_DEMO_ACCOUNTS = True
CONVENE_ALLOW_AUDIT_FLUSH = False
# Auditor flags: one person viewing this many distinct cases within the window is flagged.
CONVENE_AUDIT_FLAG_DISTINCT_CASES = env_int("CONVENE_AUDIT_FLAG_DISTINCT_CASES", 20)
CONVENE_AUDIT_FLAG_WINDOW_MINUTES = env_int("CONVENE_AUDIT_FLAG_WINDOW_MINUTES", 60)
CONVENE_AUDIT_FLAG_LOOKBACK_DAYS = env_int("CONVENE_AUDIT_FLAG_LOOKBACK_DAYS", 7)

# --- Background and scheduled work (docs/operations.md) ----------------------------------------
# django-tasks with its database backend: jobs are rows in the main database, run by `manage.py
# db_worker` (compose: the worker service; embedded: a thread of run_embedded). The schedule lives in
# notifications/schedule.py and is ticked by `manage.py run_scheduler` (or the embedded thread).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
CONVENE_JOB_MAX_ATTEMPTS = env_int("CONVENE_JOB_MAX_ATTEMPTS", 3)
CONVENE_JOB_RETRY_SECONDS = env_int("CONVENE_JOB_RETRY_SECONDS", 60)
CONVENE_JOB_STALE_MINUTES = env_int("CONVENE_JOB_STALE_MINUTES", 60)
CONVENE_SCHEDULER_TICK_SECONDS = env_int("CONVENE_SCHEDULER_TICK_SECONDS", 30)

# --- Email (content-free notices: "You have 2 new items in Convene" and a link) ----------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD") or ""  # or EMAIL_HOST_PASSWORD_FILE
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Convene <convene@localhost>")
EMAIL_SUBJECT_PREFIX = ""

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Authlib logs the PKCE verifier at debug level: never below warnings.
        "authlib": {"level": "WARNING"},
    },
}
