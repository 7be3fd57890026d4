"""Small parsers for untrusted input (query strings, form fields)."""

from __future__ import annotations


def is_whole_number(value: str | None, max_digits: int = 18) -> bool:
    """True for a plain ASCII whole number that fits a bigint: ``str.isdigit`` alone accepts '²'."""
    return bool(value) and value.isascii() and value.isdigit() and len(value) <= max_digits  # type: ignore[union-attr]
