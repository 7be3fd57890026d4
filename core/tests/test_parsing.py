"""core.parsing: range-checked whole numbers and JSON with a nesting limit, without recursion."""

from __future__ import annotations

import pytest

from core.errors import DomainError
from core.parsing import BIGINT_MAX, JSONTooDeep, json_depth, loads_json, optional_int, parse_int


@pytest.mark.parametrize("text", ["", "1.5", "1e3", "²", "0x10", "--1", "9" * 40, str(BIGINT_MAX + 1), "-1"])
def test_parse_int_refuses_what_is_not_a_whole_number_in_range(text: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_int(text, field="agency")
    assert refused.value.field == "agency"


def test_parse_int_and_optional_int_accept_numbers_in_range() -> None:
    assert parse_int(" 42 ", field="n") == 42
    assert parse_int(str(BIGINT_MAX), field="n") == BIGINT_MAX
    assert parse_int("-3", field="n", minimum=-5) == -3
    assert optional_int({"a": ""}, "a") is None and optional_int({}, "a") is None
    assert optional_int({"a": "7"}, "a", maximum=7) == 7


def test_json_depth_counts_nesting_and_skips_strings() -> None:
    assert json_depth('{"a": [1, {"b": "[[[[["}]}') == 3
    assert json_depth('"\\"[[[["') == 0
    assert json_depth("[" * 100_000) == 100_000  # no recursion, however deep


def test_loads_json_refuses_deep_nesting_and_constants() -> None:
    with pytest.raises(JSONTooDeep):
        loads_json("[" * 5000 + "]" * 5000)
    assert loads_json("[" * 32 + "]" * 32, max_depth=32) is not None
    with pytest.raises(ValueError, match="NaN"):
        loads_json('{"a": NaN}')
