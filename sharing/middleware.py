"""Pages: a refused case id (``policy.Denied``) is recorded once, then answered like any Http404."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from sharing.denials import record


class DeniedMiddleware:
    """Last in MIDDLEWARE, so the first to see a view's exception; it records and answers nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """Record; return nothing, so the exception goes on to Django's 404 handling unchanged."""
        record(exception)
