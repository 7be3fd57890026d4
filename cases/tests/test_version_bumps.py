"""Every change to a case raises its version by one, however many writers race (issue 14).

Two writers that loaded the same case at the same version each add a record at the same moment; the
case must end two versions on, or a client holding the first writer's version would pass the 409
check after the second writer's change. PostgreSQL only: SQLite serialises every writer anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from cases import choices as c
from cases.models import Case, Note
from cases.services import do_add_action, do_add_note, do_add_victim
from lifecycle.models import RecordType
from lifecycle.services import do_erase_contribution

pytestmark = pytest.mark.django_db(transaction=True)


def _note(world: Any, case: Case, n: int) -> None:
    do_add_note(
        case=case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        body=f"Contact attempt {n}",
        category="C2",
    )


def _victim(world: Any, case: Case, n: int) -> None:
    do_add_victim(
        case=case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        name=f"Second Victim {n}",
        relationship=c.Relationship.values[0],
    )


def _action(world: Any, case: Case, n: int) -> None:
    do_add_action(
        case=case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        pillar=c.Pillar.SUPERVISION,
        text=f"Action {n}",
        owner=world.police_practitioner,
        action_agency=world.agencies["police"],
        due_on=timezone.localdate() + timedelta(days=7),
    )


def _race(world: Any, writers: list[Callable[[Case], None]]) -> list[BaseException]:
    """Run each writer in its own thread (own connection) on its own copy of the case, all at once."""
    barrier = threading.Barrier(len(writers))
    errors: list[BaseException] = []

    def run(writer: Callable[[Case], None]) -> None:
        try:
            case = Case.objects.get(pk=world.case.pk)  # every writer holds the same version
            barrier.wait(timeout=10)
            writer(case)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.postgres
@pytest.mark.parametrize("add", [_note, _victim, _action], ids=["note", "victim", "action"])
def test_two_concurrent_additions_raise_the_case_version_by_two(world: Any, add: Any) -> None:
    # given a case at some version
    before = Case.objects.get(pk=world.case.pk).version
    # when two writers who both loaded that version add a record at the same moment
    errors = _race(world, [lambda case: add(world, case, 1), lambda case: add(world, case, 2)])
    # then both succeeded and the case is two versions on
    assert errors == []
    assert Case.objects.get(pk=world.case.pk).version == before + 2


@pytest.mark.postgres
def test_an_erased_contribution_racing_a_new_note_raises_the_version_by_two(world: Any) -> None:
    # given a health note on the case, and the case's version after it
    note = do_add_note(
        case=world.case,
        agency=world.agencies["health"],
        acting_user=world.health_practitioner,
        body="Clinic note",
        category="C6",
    )
    before = Case.objects.get(pk=world.case.pk).version

    def erase(case: Case) -> None:
        do_erase_contribution(
            record_type=RecordType.NOTE,
            obj=Note.objects.select_related("case").get(pk=note.pk),
            acting_user=world.health_dpo,
            agency=world.agencies["health"],
            rule=None,
            reason="Six years passed; no further purpose.",
        )

    # when the health DPO erases it while the police add a note
    errors = _race(world, [erase, lambda case: _note(world, case, 1)])
    # then both changes count
    assert errors == []
    assert Case.objects.get(pk=world.case.pk).version == before + 2


def test_the_in_memory_case_carries_the_new_version(world: Any) -> None:
    # given a stale copy of the case (another writer changed it since it was loaded)
    before = Case.objects.get(pk=world.case.pk).version
    stale = Case.objects.get(pk=world.case.pk)
    _note(world, Case.objects.get(pk=world.case.pk), 1)
    # when a note is added through the stale copy
    _note(world, stale, 2)
    # then both changes count, and the copy holds the version the database holds
    assert Case.objects.get(pk=world.case.pk).version == before + 2
    assert stale.version == before + 2
