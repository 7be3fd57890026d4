"""API error shape: every 4xx names the problem and, where there is one, the field."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ConflictError, DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ConflictError):
        return Response(
            {"detail": str(exc), "code": "conflict", "current_version": exc.current_version},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"detail": exc.message, "code": exc.code}
        if exc.field:
            body["errors"] = {exc.field: [exc.message]}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            errors = {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
        else:
            errors = {"non_field_errors": exc.messages}
        return Response({"detail": "The request is not valid.", "errors": errors}, status=400)
    if isinstance(exc, exceptions.ParseError):
        message = str(exc.detail)
        return Response(
            {"detail": message, "code": "parse_error", "errors": {"body": [message]}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, PermissionDenied | Http404):
        exc = exceptions.NotFound("Not found.")
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        data = response.data
        response.data = {"detail": "The request is not valid.", "errors": data}
    return response
