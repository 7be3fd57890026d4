"""Export a stretch of the audit chain (events, hashes, covering checkpoints, public key)."""

from __future__ import annotations

import sys
from datetime import datetime, time, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audit.export import write_export


def _moment(text: str, end: bool = False) -> datetime:
    """An ISO date or date-time; a bare date means its midnight (the start of the next day for --until)."""
    moment = parse_datetime(text)
    if moment is None:
        day = parse_date(text)
        if day is None:
            raise CommandError(f"Not an ISO date or date-time: {text!r}")
        moment = datetime.combine(day, time.min)
        if end:
            moment += timedelta(days=1)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


class Command(BaseCommand):
    help = (
        "Export audit events that occurred in [--since, --until) with their chain hashes, the checkpoints "
        "covering them and the public key; check it with tools/verify_audit_export.py."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since", required=True, help="ISO date or date-time (inclusive).")
        parser.add_argument(
            "--until", required=True, help="ISO date or date-time (exclusive; a date = end of day)."
        )
        parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
        parser.add_argument("--output", help="File to write (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        since = _moment(options["since"])
        until = _moment(options["until"], end=True)
        if until <= since:
            raise CommandError("--until must be after --since.")
        fmt = options["format"]
        if options.get("output"):
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                summary = write_export(out, since, until, fmt, actor="manage.py audit_export")
        else:
            summary = write_export(self.stdout, since, until, fmt, actor="manage.py audit_export")
        sys.stderr.write(
            f"Exported {summary.events} event(s) (seq {summary.first_seq}–{summary.last_seq}) "
            f"with {summary.checkpoints} checkpoint(s).\n"
        )
