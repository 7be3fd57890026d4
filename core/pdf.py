"""PDF copies of what a page already shows (the minutes, a case summary), issued to one recipient.

Only layout lives here; sharing/copies.py issues a copy and records the disclosure. The caller hands
over text already filtered by sharing.policy (through the same presenter or reader as the page).
Every page carries the protective marking and whose copy it is (name, agency, time of issue) in its
header and footer, so a printed page cannot lose its owner.

fpdf2 with DejaVu Sans, vendored under static/fonts/dejavu (see docs/ui.md, "PDF"): fpdf2 ships no
TrueType font and its core fonts are Latin-1 only. A glyph the font lacks raises instead of printing a
box: a mangled name in the marking is worse than no copy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import TTFFont

MARKING = "OFFICIAL-SENSITIVE"
FONT_DIR = Path(settings.BASE_DIR) / "static" / "fonts" / "dejavu"
FAMILY = "DejaVuSans"
# fontTools logs each subset's glyph names at INFO: the letters of the copy have no place in a log
logging.getLogger("fontTools").setLevel(logging.WARNING)


class MissingGlyphError(ValueError):
    """The text holds a character the vendored font cannot draw (never names the text itself)."""


@dataclass
class Section:
    heading: str
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Recipient:
    """Whose copy: named on every page."""

    name: str
    agency: str
    issued_at: datetime

    @property
    def marking(self) -> str:
        when = timezone.localtime(self.issued_at).strftime("%d %b %Y %H:%M %Z")
        return f"{MARKING} — copy for {self.name}, {self.agency}, issued {when}"


class _Document(FPDF):
    def __init__(self, recipient: Recipient, title: str) -> None:
        super().__init__(format="A4")
        self.recipient = recipient
        self.doc_title = title
        self.add_font(FAMILY, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        # a character passes only if both faces draw it: headings and the marking are bold
        cmaps = [set(font.cmap) for font in self.fonts.values() if isinstance(font, TTFFont)]
        self._covered = set.intersection(*cmaps)
        self.set_title(title)
        self.set_creator("Convene")
        self.set_auto_page_break(auto=True, margin=22)
        self.set_margins(18, 24, 18)

    def check(self, text: str) -> str:
        if any(ord(ch) not in self._covered for ch in text if ch not in "\n\r\t"):
            raise MissingGlyphError("The copy holds a character its font cannot print.")
        return text

    def _mark(self) -> None:
        self.set_font(FAMILY, "B", 8)
        self.set_text_color(160, 0, 0)
        self.multi_cell(0, 4, self.recipient.marking, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)

    def header(self) -> None:
        self.set_y(8)
        self._mark()
        self.set_y(max(self.get_y() + 2, 24))

    def footer(self) -> None:
        self.set_y(-18)
        self._mark()
        self.set_font(FAMILY, "", 8)
        self.cell(0, 4, f"{self.doc_title} — page {self.page_no()} of {{nb}}", align="C")


def render(
    title: str, recipient: Recipient, sections: Sequence[Section], preamble: Sequence[str] = ()
) -> bytes:
    """The PDF bytes: a title, optional preamble lines, then each section's heading and lines."""
    pdf = _Document(recipient, title)
    pdf.check(recipient.marking)
    pdf.check(title)
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 14)
    pdf.multi_cell(0, 7, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 10)
    for line in preamble:
        pdf.multi_cell(0, 5, pdf.check(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for section in sections:
        pdf.ln(3)
        pdf.set_font(FAMILY, "B", 11)
        pdf.multi_cell(0, 6, pdf.check(section.heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, "", 10)
        for line in section.lines:
            pdf.multi_cell(0, 5, pdf.check(line) or " ", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def attachment(body: bytes, filename: str) -> HttpResponse:
    """A PDF copy as a download that no cache keeps."""
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
