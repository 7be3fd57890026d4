from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from . import context

log = logging.getLogger(__name__)


class RequestIdMiddleware:
    """Give each request an id (echoed as X-Request-ID) and put it, with the client address, in context."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = context.set_current(
            context.RequestContext(request_id=request_id, client_ip=request.META.get("REMOTE_ADDR") or None)
        )
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response


class DatabaseUnavailableMiddleware:
    """A database outage gives a clear 503 page (or JSON), and the next request tries afresh."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError) and not (
            isinstance(exception, DatabaseError) and "connection" in str(exception).lower()
        ):
            return None
        from django.db import connections

        for conn in connections.all():
            with contextlib.suppress(Exception):  # a dead connection may fail to close; it is discarded
                conn.close()
        log.warning("database unavailable: %s", type(exception).__name__)
        if request.path.startswith("/api/"):
            response = HttpResponse(
                '{"detail": "The database is unavailable. Try again shortly."}',
                status=503,
                content_type="application/json",
            )
        else:
            response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = "5"
        return response


class RejectNulMiddleware:
    """A NUL character in the path or query string is refused with a 400 before any view runs.

    PostgreSQL text cannot hold NUL, so such a filter would otherwise fail deep in a query; form
    and JSON fields already refuse NUL through their validators.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from urllib.parse import unquote

        if "\x00" in request.path or "\x00" in unquote(request.META.get("QUERY_STRING", "")):
            message = "The address contains a NUL character, which is never valid here."
            if request.path.startswith("/api/"):
                return HttpResponse(
                    f'{{"detail": "{message}", "errors": {{"query": ["{message}"]}}}}',
                    status=400,
                    content_type="application/json",
                )
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
