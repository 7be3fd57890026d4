"""Validation and normalisation of identifiers, and their blind indexes (exact-match search)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from core.errors import DomainError
from keystore.crypto import blind_index
from keystore.keyring import index_key

PNC_RE = re.compile(r"^([0-9]{2}|[0-9]{4})/([0-9]{1,7})([A-Z])$")
PNC_CHECK = "ZABCDEFGHJKLMNPQRTUVWXY"


def ascii_digits(value: str) -> str:
    """The value with compatibility forms folded (NFKC: full-width digits, letters and solidus)
    and every other decimal digit (Arabic-Indic, Devanagari, …) written as its ASCII digit, so
    validation, the blind indexes, the duplicate check and subject access search all see one form."""
    folded = unicodedata.normalize("NFKC", value)
    return "".join(
        str(unicodedata.decimal(ch)) if not ch.isascii() and unicodedata.decimal(ch, None) is not None else ch
        for ch in folded
    )


def normalise_pnc(value: str) -> str:
    """Return the PNC ID in YY/NNNNNNNA form, or raise DomainError naming the problem.

    Check letter: (two-digit year followed by the serial padded to seven digits) modulo 23,
    looked up in ZABCDEFGHJKLMNPQRTUVWXY.
    """
    raw = re.sub(r"\s", "", ascii_digits(value)).upper()
    match = PNC_RE.match(raw)
    if not match:
        raise DomainError("A PNC ID looks like 12/3456789A (year / serial and check letter).", field="pnc_id")
    year, serial, letter = match.groups()
    year = year[-2:]
    serial = serial.zfill(7)
    if PNC_CHECK[int(year + serial) % 23] != letter:
        raise DomainError(
            "This PNC ID's check letter is wrong: check it was copied correctly.", field="pnc_id"
        )
    return f"{year}/{serial}{letter}"


def pnc_with_check(year: str, serial: str) -> str:
    serial = serial.zfill(7)
    return f"{year}/{serial}{PNC_CHECK[int(year + serial) % 23]}"


def normalise_nhs_number(value: str) -> str:
    """Return the 10-digit NHS number, or raise DomainError; validates the modulus 11 check digit."""
    digits = re.sub(r"[\s-]", "", ascii_digits(value))
    if not re.fullmatch(r"[0-9]{10}", digits):
        raise DomainError("An NHS number has 10 digits, for example 943 476 5919.", field="nhs_number")
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10 or check != int(digits[9]):
        raise DomainError(
            "This NHS number's check digit is wrong: check it was copied correctly.", field="nhs_number"
        )
    return digits


def nhs_with_check(nine: str) -> str | None:
    total = sum(int(d) * (10 - i) for i, d in enumerate(nine))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return None if check == 10 else nine + str(check)


def normalise_name(value: str) -> str:
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z ]", " ", folded.lower()).split())


def pnc_index(pnc: str) -> str:
    return blind_index(index_key("nominal.pnc"), normalise_pnc(pnc))


def nhs_index(nhs: str) -> str:
    return blind_index(index_key("nominal.nhs"), normalise_nhs_number(nhs))


def name_dob_index(given: str, family: str, dob: date | None) -> str | None:
    if dob is None:
        return None
    return blind_index(
        index_key("nominal.name_dob"), f"{normalise_name(given)}|{normalise_name(family)}|{dob.isoformat()}"
    )


def person_name_index(full_name: str, purpose: str = "person.name") -> str | None:
    normalised = normalise_name(full_name)
    if not normalised:
        return None
    return blind_index(index_key(purpose), normalised)
