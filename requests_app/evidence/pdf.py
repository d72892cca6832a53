"""The pack's summary.pdf, drawn with fpdf2 (pure Python: no system libraries in the worker).

Text uses DejaVu Sans when the font is installed (settings.ELEVATE_PDF_FONT_DIR, where Debian's
fonts-dejavu puts it by default), else the PDF core font Helvetica, which holds only Latin-1:
other characters are then replaced by "?" rather than failing the pack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from fpdf import FPDF, XPos, YPos

from requests_app.evidence import controls

LIST_LIMIT = 40  # rows per exception list in the PDF (the CSV files have them all)
# Typographic quotes, dashes and arrows as their ASCII look-alikes for the Latin-1 core font.
TYPOGRAPHY = str.maketrans({
    "\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'",
    "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u2192": "->",
})  # fmt: skip


@dataclass
class Section:
    title: str
    lines: list[str]
    total: int = 0  # when more than shown: the total, for "and N more"


@dataclass
class Report:
    """Everything the PDF says; built by the pack builder from the database."""

    title: str
    subtitle: str
    chain: list[tuple[str, str]]
    counts: list[tuple[str, str]]
    per_day: list[tuple[str, int]]
    sections: list[Section] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


class _Pdf(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.set_auto_page_break(auto=True, margin=15)
        self.set_title("Elevate evidence pack")
        self.set_creator("Elevate")
        font_dir = Path(settings.ELEVATE_PDF_FONT_DIR or "")
        regular, bold = font_dir / "DejaVuSans.ttf", font_dir / "DejaVuSans-Bold.ttf"
        self.unicode = regular.exists() and bold.exists()
        if self.unicode:
            self.add_font("DejaVu", "", str(regular))
            self.add_font("DejaVu", "B", str(bold))
        self.family = "DejaVu" if self.unicode else "Helvetica"

    def clean(self, value: str) -> str:
        value = str(value).translate(TYPOGRAPHY)
        return value if self.unicode else value.encode("latin-1", "replace").decode("latin-1")

    def heading(self, value: str, size: int = 13) -> None:
        self.ln(3)
        self.set_font(self.family, "B", size)
        self.multi_cell(0, 7, self.clean(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(self.family, "", 9)

    def paragraph(self, value: str) -> None:
        self.multi_cell(0, 5, self.clean(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def pairs(self, rows: list[tuple[str, str]]) -> None:
        for label, value in rows:
            self.set_font(self.family, "B", 9)
            self.cell(60, 5, self.clean(label))
            self.set_font(self.family, "", 9)
            self.multi_cell(0, 5, self.clean(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def bars(self, per_day: list[tuple[str, int]]) -> None:
        """Elevations started per day, as a bar chart with the first and last day labelled."""
        if not per_day:
            self.paragraph("No elevation started in the period.")
            return
        top = max(count for _, count in per_day) or 1
        height, width = 40.0, self.epw
        if self.get_y() + height + 12 > self.h - self.b_margin:
            self.add_page()
        x0, y0 = self.l_margin, self.get_y() + 2
        step = width / len(per_day)
        self.set_fill_color(37, 99, 235)
        for n, (_, count) in enumerate(per_day):
            bar = height * count / top
            if bar:
                self.rect(x0 + n * step + step * 0.1, y0 + height - bar, max(step * 0.8, 0.2), bar, style="F")
        self.set_draw_color(120, 120, 120)
        self.line(x0, y0 + height, x0 + width, y0 + height)
        self.set_xy(x0, y0 + height + 1)
        self.set_font(self.family, "", 8)
        self.cell(width / 2, 4, self.clean(f"{per_day[0][0]}   (highest day: {top})"))
        self.cell(width / 2, 4, self.clean(per_day[-1][0]), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(self.family, "", 9)


def render(report: Report) -> bytes:
    pdf = _Pdf()
    pdf.add_page()
    pdf.heading(report.title, 16)
    pdf.paragraph(report.subtitle)
    pdf.heading("Audit trail verification")
    pdf.pairs(report.chain)
    pdf.heading("In figures")
    pdf.pairs(report.counts)
    pdf.heading("Elevations started per day")
    pdf.bars(report.per_day)
    for section in report.sections:
        pdf.heading(section.title)
        for text in section.lines or ["None."]:
            pdf.paragraph(f"- {text}" if section.lines else text)
        if section.total > len(section.lines):
            pdf.paragraph(f"... and {section.total - len(section.lines)} more (see the CSV files).")
    pdf.heading("Control map")
    for control in controls.CONTROLS:
        pdf.set_font(pdf.family, "B", 9)
        pdf.paragraph(f"{control.framework} {control.control}: {control.title}")
        pdf.set_font(pdf.family, "", 9)
        pdf.paragraph(f"Answered by {', '.join(control.files)}. {control.how}")
    pdf.heading("Files in this pack")
    pdf.paragraph(", ".join(report.files) + ". MANIFEST.sha256 holds the SHA-256 sum of every other file.")
    return bytes(pdf.output())
