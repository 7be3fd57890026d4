"""Serve the embedded default: the ASGI application (HTTP and WebSockets, in-memory channel layer)
with the audit sealer, the job scheduler and the task worker running beside it in the same process."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections


def _sealer(stop: threading.Event) -> None:
    from audit.services import make_checkpoint, seal_pending

    last_checkpoint = 0.0
    while not stop.wait(settings.CONVENE_AUDIT_SEAL_INTERVAL_SECONDS):
        try:
            close_old_connections()
            seal_pending()
            if time.monotonic() - last_checkpoint > settings.CONVENE_AUDIT_CHECKPOINT_INTERVAL_SECONDS:
                make_checkpoint()
                last_checkpoint = time.monotonic()
        except Exception as exc:  # noqa: BLE001 - keep sealing; the next pass retries
            print(f"audit sealer: {type(exc).__name__}; will retry")  # noqa: T201


def _scheduler(stop: threading.Event) -> None:
    """The same tick as `manage.py run_scheduler`, in this process."""
    from notifications.scheduler import tick

    while not stop.wait(settings.CONVENE_SCHEDULER_TICK_SECONDS):
        try:
            close_old_connections()
            tick()
        except Exception as exc:  # noqa: BLE001 - the next tick retries
            print(f"scheduler: {type(exc).__name__}; will retry")  # noqa: T201


def _worker(stop: threading.Event) -> None:
    """django-tasks' database worker (what `manage.py db_worker` runs), in this process."""
    from django_tasks_db.management.commands.db_worker import Worker

    while not stop.is_set():
        try:
            Worker(
                queue_names=["*"],
                interval=1,
                batch=True,
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id="embedded",
                excluded_queue_names=[],
            ).run()
        except Exception as exc:  # noqa: BLE001 - keep working; a failed task is recorded on its row
            print(f"task worker: {type(exc).__name__}; will retry")  # noqa: T201
        close_old_connections()
        stop.wait(1)


class Command(BaseCommand):
    help = "Serve Convene on the embedded default (SQLite, in-memory channel layer) with the audit sealer."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, host: str, port: str, **options: Any) -> None:
        from keystore.startup import refuse_to_start_without_keys

        refuse_to_start_without_keys()
        stop = threading.Event()
        threading.Thread(target=_sealer, args=(stop,), daemon=True, name="audit-sealer").start()
        threading.Thread(target=_scheduler, args=(stop,), daemon=True, name="scheduler").start()
        threading.Thread(target=_worker, args=(stop,), daemon=True, name="task-worker").start()
        if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
            folder = getattr(settings, "EMAIL_FILE_PATH", "")  # set by the settings that pick this backend
            self.stdout.write(f"Email is not sent: each message is written to a file in {folder}")
        else:
            self.stdout.write(f"Email is sent through {settings.EMAIL_HOST}:{settings.EMAIL_PORT}")
        self.stdout.write("Scheduled jobs (notifications/schedule.py) run in this process.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Convene is serving on http://{host}:{port}/ — sign in with a demo account "
                "(see above or the README). Press Ctrl+C to stop."
            )
        )
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False, insecure_serving=True)
        finally:
            stop.set()
