"""Where a refused case id is recorded: at the surface that asked, never inside the policy.

``policy.access_case`` only decides: it raises ``policy.Denied`` (an Http404, the same body as a
missing case) and writes nothing. ``record`` writes the one PERMISSION_DENIED row for it, whether the
case exists or not (``audit.services.record_denied``), and is called from exactly these places:

- pages: ``DeniedMiddleware.process_exception`` (the 404 page is then rendered as for any Http404);
- the REST API: ``api_exception_handler`` (then the API's usual 404 body, ``core.api``);
- a view that answers a refusal with a message of its own instead of a 404 (the meeting's "add a
  case to the agenda" form) calls ``record`` where it catches the refusal.

WebSocket consumers ask ``policy.can_view_case`` and never ``access_case``, so they have no refusal
to record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework.response import Response

from audit.services import record_denied
from core.api import exception_handler
from sharing.policy import Denied


def record(exc: BaseException) -> None:
    """Record a refusal for the auditors if ``exc`` is one (a signed-in user's ``Denied``); else nothing."""
    if isinstance(exc, Denied) and getattr(exc.user, "is_authenticated", False):
        record_denied(exc.user, exc.case_id, exc.reason)


class DeniedMiddleware:
    """Pages: a view's ``Denied`` is recorded once, then answered like any Http404."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """Record; return nothing, so the exception goes on to Django's 404 handling unchanged."""
        record(exception)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The REST API: a view's ``Denied`` is recorded once, then answered by ``core.api``'s handler."""
    record(exc)
    return exception_handler(exc, context)
