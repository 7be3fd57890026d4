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


FULL_WIDTH = str.maketrans("0123456789/", "０１２３４５６７８９／")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize("digits", [FULL_WIDTH, ARABIC_INDIC], ids=["full-width", "arabic-indic"])
def test_other_digit_forms_are_written_as_ascii_before_validation_and_indexing(digits):
    # given an NHS number and a PNC ID written with full-width or Arabic-Indic digits
    pnc = ids.pnc_with_check("04", "512377")
    nhs = "9434765919"
    # then both normalise to the ASCII form, and the blind indexes are those of the ASCII form
    assert ids.normalise_nhs_number(nhs.translate(digits)) == nhs
    assert ids.normalise_pnc(pnc.translate(digits)) == pnc
    assert ids.nhs_index(nhs.translate(digits)) == ids.nhs_index(nhs)
    assert ids.pnc_index(pnc.translate(digits)) == ids.pnc_index(pnc)
    # and a wrong check digit written that way is still refused
    with pytest.raises(DomainError) as err:
        ids.normalise_nhs_number("9434765918".translate(digits))
    assert err.value.field == "nhs_number"


def test_duplicate_check_and_subject_access_search_see_other_digit_forms(world):
    from cases import services as s
    from lifecycle.models import SubjectKind
    from lifecycle.sar import SubjectQuery, match_subject

    nominal = world.case.nominal
    wide = "９４３４ ７６５ ９１９"  # world's nominal has NHS number 943 476 5919
    indic = "٩٤٣٤٧٦٥٩١٩"
    for written in (wide, indic):
        # when a referral gives the NHS number in another digit form
        found = s.find_duplicate_nominals(s.NominalInput(given_name="D", family_name="M", nhs_number=written))
        # then the duplicate check finds the existing record
        assert [n.pk for n in found] == [nominal.pk]
        # and so does the subject access search
        _index, matched = match_subject(
            SubjectQuery(SubjectKind.PERPETRATOR, "", "", None, nhs_number=written)
        )
        assert matched == [nominal.pk]
