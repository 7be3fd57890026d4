"""pytest plugin for ``make mutate`` only (loaded with ``-p tests.mutation_plugin``; never in CI).

mutmut runs the covering tests once per mutant, each time in a fresh pytest session in a process of
its own. Building the test databases by migrating takes far longer than the tests that judge one
mutant, so the first session of the run migrates a template of each database once (SQLite files
under ``var/mutation/`` of mutmut's copy of the tree), and every session after it works on its own
copy of the templates (named by process, so two mutants judged at once never share a file),
reused as pytest-django's ``--reuse-db`` would, and removed when the session ends.

The tests, the services and the policy run exactly as in ``make test``; only where the empty,
migrated databases come from differs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

_DIR = Path.cwd() / "var" / "mutation"
_COPIES: list[Path] = []


def _build_templates(aliases: list[str]) -> None:
    """Migrate every database into its template file, as pytest-django would for a test run."""
    from django.db import connections

    for alias in aliases:
        connection = connections[alias]
        original_name = connection.settings_dict["NAME"]
        connection.settings_dict["TEST"]["NAME"] = str(_DIR / f"{alias}.sqlite3")
        connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
        connection.close()
        connection.settings_dict["NAME"] = original_name


@pytest.hookimpl(trylast=True)
def pytest_configure(config: Any) -> None:
    from django.conf import settings

    if not config.option.reuse_db:
        raise pytest.UsageError(
            "tests.mutation_plugin needs --reuse-db (see [tool.mutmut] in pyproject.toml)"
        )
    aliases = list(settings.DATABASES)
    for alias in aliases:
        if settings.DATABASES[alias]["ENGINE"] != "django.db.backends.sqlite3":
            raise pytest.UsageError(
                "make mutate runs on SQLite: unset DATABASE_URL and KEYSTORE_DATABASE_URL"
            )
        settings.DATABASES[alias].setdefault("TEST", {})
    _DIR.mkdir(parents=True, exist_ok=True)
    if not all((_DIR / f"{alias}.sqlite3").exists() for alias in aliases):
        from pytest_django.plugin import blocking_manager_key

        with config.stash[blocking_manager_key].unblock():
            _build_templates(aliases)
    for alias in aliases:
        copy = _DIR / f"{alias}-{os.getpid()}.sqlite3"
        shutil.copyfile(_DIR / f"{alias}.sqlite3", copy)
        _COPIES.append(copy)
        settings.DATABASES[alias]["TEST"]["NAME"] = str(copy)


def pytest_unconfigure(config: Any) -> None:
    from django.db import connections

    connections.close_all()
    while _COPIES:
        _COPIES.pop().unlink(missing_ok=True)
