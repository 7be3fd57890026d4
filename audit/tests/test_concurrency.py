"""The chain holds under concurrent writers: no event skipped or chained twice, whatever the commit order."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, transaction

from audit.models import AuditEvent, AuditPending, AuditSeal, Op
from audit.services import record_event, seal_pending, verify_chain

WRITERS = 8
ACTIONS = 1_000


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_and_a_running_sealer_chain_every_event_exactly_once() -> None:
    # given 8 writers, each on its own connection, and the sealer running alongside them
    errors: list[BaseException] = []
    done = threading.Event()

    def writer(n: int) -> None:
        try:
            case_id = uuid.uuid4()
            for i in range(ACTIONS):
                with transaction.atomic():
                    record_event(Op.CONSULT, case_id=case_id, justification=f"writer {n} action {i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    def sealer() -> None:
        try:
            while not done.is_set():
                seal_pending(batch_size=500)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    sealing = threading.Thread(target=sealer)
    # when they all run at once
    sealing.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    sealing.join()
    seal_pending()
    # then every event is in the chain exactly once, and the chain verifies
    assert errors == []
    event_ids = set(AuditEvent.objects.values_list("id", flat=True))
    sealed = list(AuditSeal.objects.values_list("event_id", flat=True))
    assert len(event_ids) == WRITERS * ACTIONS
    assert len(sealed) == len(set(sealed)) == WRITERS * ACTIONS
    assert set(sealed) == event_ids
    assert list(AuditSeal.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, WRITERS * ACTIONS + 1)
    )
    assert AuditPending.objects.count() == 0
    result = verify_chain()
    assert result.ok, result.message
    assert result.verified == WRITERS * ACTIONS
