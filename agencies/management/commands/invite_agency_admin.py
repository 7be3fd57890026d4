"""Print a new single-use invitation link that makes its holder an agency's admin."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from agencies.models import Agency
from agencies.onboarding_views import invitation_link
from agencies.services import INVITATION_DAYS, do_invite_agency_admin
from core.errors import DomainError


class Command(BaseCommand):
    help = "Print a single-use invitation link (shown once) that makes its holder the admin of agency SLUG."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug")
        parser.add_argument("--first-name", required=True)
        parser.add_argument("--last-name", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--days", type=int, default=INVITATION_DAYS, help="How long the link works (1–30)."
        )

    def handle(self, *args: Any, slug: str, **options: Any) -> None:
        agency = Agency.objects.filter(slug=slug).first()
        if agency is None:
            raise CommandError(f"There is no agency {slug!r}.")
        try:
            invitation, raw = do_invite_agency_admin(
                agency=agency,
                first_name=options["first_name"],
                last_name=options["last_name"],
                email=options["email"],
                days=options["days"],
                acting_user=None,
                operator="manage.py invite_agency_admin",
            )
        except DomainError as exc:
            raise CommandError(f"--{(exc.field or 'slug').replace('_', '-')}: {exc.message}") from exc
        self.stdout.write(invitation_link(None, raw))
        self.stderr.write(f"Works once, until {invitation.expires_at:%Y-%m-%d %H:%M %Z}; shown only now.")
