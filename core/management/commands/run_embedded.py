"""Serve the embedded default: the ASGI application (HTTP and WebSockets, in-memory channel layer)
with the audit sealer running beside it in the same process."""

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
