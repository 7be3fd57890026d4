"""The API's request parser (REST_FRAMEWORK DEFAULT_PARSER_CLASSES): JSON with a nesting limit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.settings import api_settings

from core.parsing import MAX_JSON_DEPTH, loads_json


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than core.parsing.MAX_JSON_DEPTH (a 400,
    not a RecursionError)."""

    max_depth = MAX_JSON_DEPTH

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        context = parser_context or {}
        encoding = parsers.get_encoding(context)  # type: ignore[attr-defined]
        try:
            text = stream.read().decode(encoding)
            return loads_json(text, max_depth=self.max_depth, strict=api_settings.STRICT_JSON)
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise ParseError(f"JSON parse error - {exc}") from exc
