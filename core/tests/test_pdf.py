"""The PDF copy: any name prints (Ł, ö, —), every page carries the marking and whose copy it is, and a
character the font cannot draw fails loudly instead of printing a box."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from core import pdf

NAME = "Zoë Łukasiewicz"
AGENCY = "Northshire Police — Public Protection"


def _recipient() -> pdf.Recipient:
    return pdf.Recipient(name=NAME, agency=AGENCY, issued_at=datetime(2026, 12, 3, 14, 5, tzinfo=UTC))


def pages_of(body: bytes) -> list[str]:
    # a line the layout wrapped reads as one: compare with single spaces
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(body)).pages]


def test_a_long_copy_marks_every_page_with_the_recipient_and_the_time() -> None:
    # given a copy for Zoë Łukasiewicz long enough to run over several pages
    sections = [
        pdf.Section(f"Item {n} — Łódź review", ["Contact with Zoë reported — no breach."] * 12)
        for n in range(10)
    ]
    # when it is rendered
    pages = pages_of(pdf.render("Minutes — MAPPA level 2 review", _recipient(), sections))
    # then it has several pages, and each names the marking, the recipient, the agency and the time
    assert len(pages) >= 3
    for text in pages:
        assert "OFFICIAL-SENSITIVE" in text
        assert NAME in text and AGENCY in text
        assert "03 Dec 2026 14:05" in text
    # and the text itself extracts as written
    body = "\n".join(pages)
    assert "Item 9 — Łódź review" in body and "Contact with Zoë reported — no breach." in body
    assert "page 1 of " in pages[0]


def test_a_character_the_font_cannot_draw_is_refused_not_boxed() -> None:
    # given text in a script DejaVu Sans does not cover (Devanagari)
    with pytest.raises(pdf.MissingGlyphError) as raised:
        pdf.render("Minutes", _recipient(), [pdf.Section("Item 1", ["नमस्ते"])])
    # then the error does not repeat the text
    assert "नमस्ते" not in str(raised.value)
