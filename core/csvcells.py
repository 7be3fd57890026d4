"""CSV cells that a spreadsheet cannot run: every CSV the project writes goes through ``csv_writer``.

A cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by
spreadsheet programs (CSV or formula injection: ``=HYPERLINK(...)`` in a hold reason would run in the
auditor's spreadsheet). Such a cell is written with a leading apostrophe, which spreadsheets show as
text. A cell that already begins with an apostrophe gets one more, so the rule is reversible: drop one
leading apostrophe to read the value back (``restore_cell``; tools/verify_audit_export.py does the
same to check hashes over the original values).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


class Writable(Protocol):
    """Where text goes: an open file, a response, a management command's stdout."""

    def write(self, s: str, /) -> Any: ...


def neutralise_cell(value: object) -> str:
    """The cell's text, with an apostrophe in front if a spreadsheet would take it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) or text.startswith(ESCAPE):
        return ESCAPE + text
    return text


def restore_cell(text: str) -> str:
    """The value ``neutralise_cell`` was given (as text)."""
    return text[1:] if text.startswith(ESCAPE) else text


class SafeCsvWriter:
    """``csv.writer`` whose rows are neutralised cell by cell."""

    def __init__(self, out: Writable, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._writer.writerow([neutralise_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out: Writable, **options: Any) -> SafeCsvWriter:
    """The project's only CSV writer (a test fails if another module calls ``csv.writer``)."""
    return SafeCsvWriter(out, **options)
