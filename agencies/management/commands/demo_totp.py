"""Print the current TOTP code of a demo account, so a newcomer can sign in without a phone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.models import User


def current_code(device: TOTPDevice) -> str:
    """The code the device will accept now (the next one if this window's code was already used)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if device.last_t is not None and device.last_t >= totp.t():
        totp.drift += device.last_t - totp.t() + 1  # within the one-step tolerance verify_token allows
    return f"{totp.token():0{device.digits}d}"


class Command(BaseCommand):
    help = "Print the current security code of a demo account (refuses any account that is not a demo one)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no account called {username!r}.")
        if not user.is_demo:
            raise CommandError(
                f"{username} is not a demo account: only demo accounts' codes can be shown. "
                "A real person reads the code from their own authenticator app."
            )
        if not user.is_active:
            raise CommandError(f"{username} has been retired (seed_demo --remove) and cannot sign in.")
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            raise CommandError(
                f"{username} has no authenticator yet: sign in and enrol one, or run seed_demo again."
            )
        self.stdout.write(current_code(device))
