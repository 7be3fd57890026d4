"""The REST API: a refused case id (``policy.Denied``) is recorded once, then answered by core.api."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response

from core.api import exception_handler as core_exception_handler
from sharing.denials import record


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST_FRAMEWORK's EXCEPTION_HANDLER: record a refusal, then the API's usual error body."""
    record(exc)
    return core_exception_handler(exc, context)
