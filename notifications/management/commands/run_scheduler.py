"""Tick the schedule (notifications/schedule.py) forever, or once: enqueue each job once per period.

Safe to run on several nodes: each period of each job is claimed by exactly one of them.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from notifications.scheduler import tick


class Command(BaseCommand):
    help = "Enqueue scheduled jobs for the worker (db_worker), once per period across every scheduler."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Tick once and exit.")
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.CONVENE_SCHEDULER_TICK_SECONDS,
            help="Seconds between ticks.",
        )

    def handle(self, *args: Any, once: bool = False, interval: float = 30.0, **options: Any) -> None:
        stop = threading.Event()
        if not once:
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            signal.signal(signal.SIGINT, lambda *_: stop.set())
        while True:
            close_old_connections()
            try:
                for run in tick():
                    self.stdout.write(f"enqueued {run.job} for {run.slot.isoformat()}")
            except Exception as exc:  # noqa: BLE001 - a database blip: the next tick tries again
                self.stderr.write(f"scheduler tick failed: {type(exc).__name__}; will retry")
            if once or stop.wait(interval):
                return
