"""Audit test helpers: make events, and lift the append-only triggers (as a superuser could)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from audit.models import Op
from audit.services import record_event

TABLES = ("audit_auditevent", "audit_auditseal", "audit_auditcheckpoint")


def make_events(count: int, **extra: Any) -> list[Any]:
    case_id = uuid.uuid4()
    return [
        record_event(
            Op.CONSULT,
            object_type="cases.Case",
            object_id=str(case_id),
            case_id=case_id,
            categories=["C1", "C2"],
            justification=f"lead agency #{n}",
            detail={"surface": "test", "n": n},
            **extra,
        )
        for n in range(count)
    ]


@contextlib.contextmanager
def triggers_disabled() -> Iterator[None]:
    """What a database superuser could do: lift the append-only triggers, then put them back."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                for table in TABLES:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type='trigger' AND tbl_name LIKE 'audit_%'")
        saved = cursor.fetchall()
        for name, _sql in saved:
            cursor.execute(f'DROP TRIGGER "{name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for _name, sql in saved:
                cursor.execute(sql)


@pytest.fixture
def tamper() -> Any:
    return triggers_disabled


@pytest.fixture(autouse=True)
def _own_checkpoint_dir(settings: Any, tmp_path: Any) -> None:
    """Each test publishes checkpoints to its own directory (verification reads them back)."""
    settings.CONVENE_CHECKPOINT_DIR = tmp_path / "checkpoints"
