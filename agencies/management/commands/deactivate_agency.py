"""Deactivate an agency: every membership ends at once and its people's live connections close."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from agencies.models import Agency
from agencies.services import do_deactivate_agency
from core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Deactivate agency SLUG: end every membership, withdraw its invitations, close its people's sockets."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, slug: str, **options: Any) -> None:
        agency = Agency.objects.filter(slug=slug).first()
        if agency is None:
            raise CommandError(f"There is no agency {slug!r}.")
        try:
            ended = do_deactivate_agency(
                agency=agency, acting_user=None, operator="manage.py deactivate_agency"
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"{agency.name} deactivated: {ended} membership(s) ended."))
