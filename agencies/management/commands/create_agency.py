"""Create an agency and an invitation link for its first admin (printed once; only its hash is kept)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agencies.onboarding_views import invitation_link
from agencies.services import INVITATION_DAYS, do_create_agency, do_invite_agency_admin
from core.categories import AgencyType
from core.errors import DomainError

OPERATOR = "manage.py create_agency"


class Command(BaseCommand):
    help = (
        "Create an agency (--name, --type, --area) and print a single-use invitation link that makes "
        "its holder the agency's admin (they choose a password and enrol an authenticator app)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", required=True, help="The agency's name, e.g. 'Westshire Police'.")
        parser.add_argument("--type", required=True, choices=AgencyType.values, dest="agency_type")
        parser.add_argument("--area", default="", help="The area it serves, e.g. 'Westshire'.")
        parser.add_argument("--admin-first-name", required=True)
        parser.add_argument("--admin-last-name", required=True)
        parser.add_argument("--admin-email", default="")
        parser.add_argument(
            "--days", type=int, default=INVITATION_DAYS, help="How long the link works (1–30)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic():
                agency = do_create_agency(
                    name=options["name"],
                    agency_type=options["agency_type"],
                    area=options["area"],
                    operator=OPERATOR,
                )
                invitation, raw = do_invite_agency_admin(
                    agency=agency,
                    first_name=options["admin_first_name"],
                    last_name=options["admin_last_name"],
                    email=options["admin_email"],
                    days=options["days"],
                    acting_user=None,
                    operator=OPERATOR,
                )
        except DomainError as exc:
            raise CommandError(f"--{(exc.field or 'name').replace('_', '-')}: {exc.message}") from exc
        self.stdout.write(invitation_link(None, raw))
        self.stderr.write(
            f"Agency {agency.name} ({agency.slug}) created. The link above makes "
            f"{invitation.first_name} {invitation.last_name} its admin; it works once, until "
            f"{invitation.expires_at:%Y-%m-%d %H:%M %Z}, and is shown only now. "
            f"A new link: python manage.py invite_agency_admin {agency.slug} --first-name … --last-name …"
        )
