"""Small parsers for untrusted input (query strings, form fields, JSON bodies).

Everything here refuses bad input with a DomainError naming the field (a 400 on the API through
core.api.exception_handler), never with an exception from deeper down (OverflowError from the database
driver, RecursionError from the JSON decoder).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

from core.errors import DomainError

# The widest integer column the project has (bigint); ids and numbers beyond it match nothing and
# would raise OverflowError or a database error if they reached a query.
BIGINT_MAX = 2**63 - 1
# How deep a JSON body may nest. No payload of the API nests beyond a handful of levels.
MAX_JSON_DEPTH = 32

_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def is_whole_number(value: str | None, max_digits: int = 18) -> TypeGuard[str]:
    """True for a plain ASCII whole number that fits a bigint: ``str.isdigit`` alone accepts '²'.

    (A ``TypeGuard``: where it is true, ``value`` is a ``str``, so ``int(value)`` type-checks.)"""
    return value is not None and value.isascii() and value.isdigit() and len(value) <= max_digits


def parse_int(value: Any, *, field: str, minimum: int = 0, maximum: int = BIGINT_MAX) -> int:
    """A whole number from ``minimum`` to ``maximum`` given as text (a query parameter or form field)."""
    text = str(value).strip() if value is not None else ""
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        raise DomainError(f"Give a whole number from {minimum} to {maximum}.", field=field)
    number = -int(digits) if negative else int(digits)
    if not minimum <= number <= maximum:
        raise DomainError(f"Give a whole number from {minimum} to {maximum}.", field=field)
    return number


def optional_int(
    params: Mapping[str, Any], name: str, *, minimum: int = 0, maximum: int = BIGINT_MAX
) -> int | None:
    """``params[name]`` as a range-checked whole number, or None when it is absent or empty."""
    value = params.get(name)
    if value is None or str(value) == "":
        return None
    return parse_int(value, field=name, minimum=minimum, maximum=maximum)


def json_depth(text: str, stop_above: int | None = None) -> int:
    """How deep ``text`` nests arrays and objects (strings are skipped), counted without recursion;
    with ``stop_above``, counting stops as soon as the depth exceeds it."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    break
        else:
            depth -= 1
    return deepest


class JSONTooDeep(ValueError):
    pass


def loads_json(text: str, *, max_depth: int = MAX_JSON_DEPTH, strict: bool = True) -> Any:
    """``json.loads`` for untrusted text: nesting beyond ``max_depth`` is refused before decoding
    (JSONTooDeep, a ValueError), and NaN/Infinity are refused when ``strict``."""
    if json_depth(text, stop_above=max_depth) > max_depth:
        raise JSONTooDeep(f"JSON nested deeper than {max_depth} levels.")
    return json.loads(text, parse_constant=_refuse_constant if strict else None)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON.")


def posted(request: Any) -> Any:
    """The form data of a POST, or None for any other method, to bind a form with.

    ``request.POST or None`` treats an empty submission as no submission: the form comes back blank,
    with no error summary, as though the person had not pressed the button.
    """
    return request.POST if request.method == "POST" else None
