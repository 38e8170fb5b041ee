"""The consultation report as a PDF (reportlab; fonts from :mod:`gis_service.printing`).

reportlab's ``Paragraph`` reads its text as markup (``<b>``, ``<font>``, ``<a href>``...): every text a commenter or
planner wrote is escaped first, so a comment's ``<b>`` or ``<script>`` is printed as those characters. A comment
may be 5,000 characters long and an answer 20,000, taller than a page, and a table row cannot break across pages
(reportlab's own splitting of rows repeats the header in the middle of a page): long texts are cut into pieces of
:data:`PIECE` characters at a space, each piece a row of its own, drawn as one text.
"""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

from gis_service.consultation.report import (
    COMMENT_HEADERS,
    ConsultationReport,
    comment_row,
    hue_time,
)
from gis_service.printing import FONT_DIRS, fonts

__all__ = ["report_pdf"]

#: The table's columns: those of the spreadsheet but the consultation's number (each consultation has its table).
_COLUMNS = (0, 2, 3, 4, 5, 6, 7, 8, 9)
_WIDTHS_MM = (10, 22, 26, 24, 28, 71, 22, 48, 22)
#: The longest piece of text in one row (some 8 lines of the comment's column: pages fill).
PIECE = 400


def pieces(text: str, size: int = PIECE) -> list[str]:
    """``text`` cut into pieces of at most ``size`` characters, at a space or a line break where there is one.

    >>> pieces("một hai ba bốn", 8)
    ['một hai', 'ba bốn']
    """
    out: list[str] = []
    rest = text
    while len(rest) > size:
        cut = max(rest.rfind(" ", 0, size + 1), rest.rfind("\n", 0, size + 1))
        cut = cut if cut > size // 2 else size
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    out.append(rest)
    return out


def _escaped(text: Any) -> str:
    """Text for a reportlab Paragraph: markup escaped, line breaks kept."""
    return html.escape(str(text)).replace("\n", "<br/>")


def report_pdf(report: ConsultationReport, *, font_dirs: tuple[Path, ...] = FONT_DIRS) -> bytes:
    """The report as a landscape A4 PDF: the plan, then each consultation with its table of comments."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font, bold = fonts(font_dirs)
    body = ParagraphStyle("body", fontName=font, fontSize=7.5, leading=9.5)
    head = ParagraphStyle("head", parent=body, fontName=bold)
    hidden = ParagraphStyle("hidden", parent=body, textColor=colors.HexColor("#a00000"))
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=14, leading=18, spaceAfter=4)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=11, leading=14, spaceBefore=8, spaceAfter=3)
    note = ParagraphStyle("note", fontName=font, fontSize=8.5, leading=11, spaceAfter=3)

    story: list[Any] = [
        Paragraph("Báo cáo tổng hợp ý kiến góp ý / Consultation report", h1),
        Paragraph(f"<b>{_escaped(report.code)}</b> {_escaped(report.name)}", note),
        Paragraph(
            f"Lập lúc / Made at: {hue_time(report.made_at)} (giờ Việt Nam / ICT). Số đợt / Consultations: "
            f"{len(report.consultations)}; số góp ý / comments: {len(report.comments)}",
            note,
        ),
    ]
    numbers = {c["id"]: n for n, c in enumerate(report.comments, start=1)}
    if not report.consultations:
        story.append(Paragraph("Đồ án chưa có đợt lấy ý kiến nào / The plan has had no consultation.", note))
    for c in report.consultations:
        closed = f"; đóng lúc / closed at {hue_time(c.closed_at)}" if c.closed_at else ""
        story += [
            Paragraph(
                f"Đợt {c.id} / Consultation {c.id}: phiên bản / version {c.version}, {c.starts_on:%d/%m/%Y} – "
                f"{c.ends_on:%d/%m/%Y}{closed}",
                h2,
            ),
            Paragraph(f"Thuyết minh / Explanation: {_escaped(c.explanation)}", note),
        ]
        comments = report.comments_of(c.id)
        if not comments:
            story.append(Paragraph("Không có góp ý / No comments.", note))
            continue
        data = [[Paragraph(_escaped(COMMENT_HEADERS[i]), head) for i in _COLUMNS]]
        line = colors.HexColor("#999999")
        styles: list[tuple[Any, ...]] = [
            ("BOX", (0, 0), (-1, -1), 0.4, line),
            ("LINEAFTER", (0, 0), (-2, -1), 0.4, line),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
        for comment in comments:
            cells = [pieces(str(value)) for value in comment_row(numbers[comment["id"]], comment)]
            style = hidden if comment["hidden"] else body
            first = len(data)
            for k in range(max(len(cells[i]) for i in _COLUMNS)):
                data.append([Paragraph(_escaped(cells[i][k]) if k < len(cells[i]) else "", style) for i in _COLUMNS])
            last = len(data) - 1
            styles.append(("LINEABOVE", (0, first), (-1, first), 0.4, line))
            if last > first:  # the pieces of one comment read as one text: no gap between them
                styles.append(("BOTTOMPADDING", (0, first), (-1, last - 1), 0))
                styles.append(("TOPPADDING", (0, first + 1), (-1, last), 0))
            if comment["hidden"]:
                styles.append(("BACKGROUND", (0, first), (-1, last), colors.HexColor("#fbeaea")))
        table = Table(data, colWidths=[w * mm for w in _WIDTHS_MM], repeatRows=1)
        table.setStyle(TableStyle(styles))
        story.append(table)
    story.append(Spacer(1, 4))

    def page_number(canvas: Any, doc: Any) -> None:
        canvas.setFont(font, 7)
        canvas.drawRightString(doc.pagesize[0] - 12 * mm, 7 * mm, f"{report.code} — trang / page {doc.page}")

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Báo cáo tổng hợp ý kiến góp ý {report.code}",
        author="Huế 3D planning service",
    )
    doc.build(story, onFirstPage=page_number, onLaterPages=page_number)
    return buf.getvalue()
