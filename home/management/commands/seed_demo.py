"""Build (or, with --remove, retire) the Northshire demo world. Safe to run again: it changes nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Seed the demo world: five Northshire agencies and one outsider force, one demo account per role "
        "per agency, an active sharing agreement and several cases. Idempotent. "
        "--remove stops every demo account from signing in."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--remove",
            action="store_true",
            help="Retire the demo accounts: deactivate them and drop their passwords, devices and tokens "
            "(they stay, because audit events name them).",
        )
        parser.add_argument("--quiet-table", action="store_true", help="Do not print the accounts table.")

    def handle(self, *args: Any, remove: bool, quiet_table: bool, **options: Any) -> None:
        if remove:
            from agencies.services import do_retire_demo_accounts

            count = do_retire_demo_accounts()
            self.stdout.write(
                f"Retired {count} demo account(s): they can no longer sign in or use a token. "
                "Their records remain because audit events name them."
            )
            return
        if not settings.CONVENE_ALLOW_DEMO_ACCOUNTS:
            raise CommandError(
                "Demo accounts are refused under these settings (production): their password is public."
            )
        from agencies.demo import seed

        ctx = seed(log=lambda line: self.stdout.write(line))
        self.stdout.write(self.style.SUCCESS(f"The demo world is ready: {len(ctx.users)} demo accounts."))
        if quiet_table:
            return
        self.stdout.write(sign_in_help(ctx))


def sign_in_help(ctx: Any) -> str:
    from agencies.models import Membership

    rows = (
        Membership.objects.active()
        .filter(user__is_demo=True)
        .select_related("user", "agency")
        .order_by("agency__name", "role")
    )
    lines = ["", "Demo accounts (all share one password):", ""]
    lines.append(f"  {'username':<24} {'role':<26} agency")
    for m in rows:
        lines.append(f"  {m.user.username:<24} {m.get_role_display():<26} {m.agency.name}")
    lines += [
        "",
        f"  Password:       {ctx.password}",
        "  Security code:  python manage.py demo_totp USERNAME   (e.g. demo_totp police.chair)",
        "",
        "Sign in at /signin/ with the username and password, then enter the code demo_totp prints.",
        "",
    ]
    return "\n".join(lines)
