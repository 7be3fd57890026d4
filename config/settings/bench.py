"""Settings for `make bench` (bench/run.py) and `seed_large`: the test settings on PostgreSQL, plus the
two comparison packages (django-auditlog, django-fernet-encrypted-fields) registered only here.

Keys live in var/bench/keys so that a seeded benchmark database stays readable between runs.
"""

from config.env import env_str

from .test import *  # noqa: F403
from .test import INSTALLED_APPS, VAR_DIR

INSTALLED_APPS = [*INSTALLED_APPS, "auditlog", "encrypted_fields"]
CONVENE_KEY_DIR = VAR_DIR / "bench" / "keys"
CONVENE_CHECKPOINT_DIR = VAR_DIR / "bench" / "checkpoints"
# django-fernet-encrypted-fields derives its Fernet key from SECRET_KEY and SALT_KEY (PBKDF2).
SALT_KEY = env_str("BENCH_FERNET_SALT", "convene-bench-salt-not-a-secret")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
# The in-process API measurements use DRF's test client (host "testserver").
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
