"""Identifier validation (PNC check letter, NHS modulus 11) and blind indexes for exact-match search."""

from __future__ import annotations

import pytest

from cases import identifiers as ids
from core.errors import DomainError


@pytest.mark.parametrize("serial", ["1", "123456", "7654321"])
def test_pnc_check_letter_round_trips(serial):
    pnc = ids.pnc_with_check("04", serial)
    assert ids.normalise_pnc(pnc) == pnc
    # a four-digit year and lower case are accepted and normalised
    assert ids.normalise_pnc("20" + pnc.lower()) == pnc


@pytest.mark.parametrize("value", ["12/3456789A", "1/234A", "not a pnc", "04/12345678Z"])
def test_malformed_or_wrong_pnc_is_refused_naming_the_field(value):
    with pytest.raises(DomainError) as err:
        ids.normalise_pnc(value)
    assert err.value.field == "pnc_id"
    assert value not in err.value.message  # never echo the value


def test_nhs_number_modulus_11():
    assert ids.normalise_nhs_number("943 476 5919") == "9434765919"
    assert ids.nhs_with_check("943476591") == "9434765919"
    for bad in ("9434765918", "94347659", "abcdefghij"):
        with pytest.raises(DomainError) as err:
            ids.normalise_nhs_number(bad)
        assert err.value.field == "nhs_number"


def test_a_nine_digit_stem_whose_check_would_be_ten_is_invalid():
    # find a stem whose check digit is 10: such numbers are never issued
    stem = next(f"{n:09d}" for n in range(100000000, 100001000) if ids.nhs_with_check(f"{n:09d}") is None)
    for last in "0123456789":
        with pytest.raises(DomainError):
            ids.normalise_nhs_number(stem + last)


def test_blind_indexes_match_normalised_forms_only():
    from datetime import date

    pnc = ids.pnc_with_check("04", "512377")  # 04/0512377 + letter
    assert ids.pnc_index(pnc) == ids.pnc_index("2004/512377" + pnc[-1])
    assert ids.nhs_index("943 476 5919") == ids.nhs_index("9434765919")
    dob = date(1986, 4, 12)
    assert ids.name_dob_index("Dániel", "MARSH", dob) == ids.name_dob_index("daniel", "marsh", dob)
    assert ids.name_dob_index("Daniel", "Marsh", dob) != ids.name_dob_index(
        "Daniel", "Marsh", date(1986, 4, 13)
    )
    assert ids.name_dob_index("Daniel", "Marsh", None) is None
    # the index is not the value, and different purposes give different indexes
    assert "9434765919" not in ids.nhs_index("9434765919")
    assert ids.person_name_index("Priya Shah") != ids.person_name_index("Priya Shah", "victim.name")
