"""The only email Convene sends: a count and a link. No case reference, name, title or kind — the
person signs in to see what the notices are (and the policy decides what they may see)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from agencies.models import User


def summary_text(count: int) -> str:
    return f"You have {count} new item{'s' if count != 1 else ''} in Convene"


def send_summary(user: User, count: int, *, digest: bool) -> bool:
    link = settings.CONVENE_BASE_URL.rstrip("/") + "/notifications/"
    subject = summary_text(count) + (" (daily digest)" if digest else "")
    body = (
        f"{summary_text(count)}.\n\n"
        f"Sign in to see them: {link}\n\n"
        "This message holds no case information. You can choose which notices are emailed to you, "
        "immediately or in a daily digest, on the same page.\n"
    )
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email], fail_silently=False) == 1
