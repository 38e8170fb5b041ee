"""The validation report as an A4 PDF for the consultant (reportlab, as the permit report and the certificates):
the verdict, the counts per rule, then each finding with its messages, feature, VN-2000 place and thumbnail."""

from __future__ import annotations

import html
import io
from typing import Any

from converters.validation.html import MAX_THUMBNAILS, thumbnail_png
from converters.validation.report import Finding, ValidationReport
from converters.validation.rules import RULES

__all__ = ["report_pdf"]

#: Findings listed in the PDF (the JSON and HTML list them all): a consultant's print-out, not a data dump.
MAX_PDF_FINDINGS = 500


def _finding_row(f: Finding, report: ValidationReport, body: Any, thumbs: list[int]) -> list[Any]:
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph

    where = f"E {f.e:,.2f}<br/>N {f.n:,.2f}" if f.e is not None and f.n is not None else ""
    if f.area_m2 is not None:
        where += f"<br/>{f.area_m2:,.2f} m²"
    image: Any = ""
    if f.shape is not None and thumbs[0] < MAX_THUMBNAILS:
        thumbs[0] += 1
        png = thumbnail_png(f.shape, report.shapes.get(f.layer or ""), size=120)
        image = Image(io.BytesIO(png), width=24 * mm, height=24 * mm)
    feature = html.escape(f"{f.layer or ''} #{f.feature}" if f.feature is not None else f.layer or "")
    return [
        Paragraph(f"<b>{html.escape(f.severity)}</b><br/>{html.escape(f.rule)}", body),
        Paragraph(f"{html.escape(f.message_vi)}<br/><i>{html.escape(f.message_en)}</i>", body),
        Paragraph(feature + (f"<br/>{html.escape(f.code)}" if f.code else ""), body),
        Paragraph(where, body),
        image,
    ]


def report_pdf(report: ValidationReport) -> bytes:
    """The report as a PDF (A4 landscape, DejaVu fonts for the Vietnamese letters)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    from gis_service.printing import fonts

    font, bold = fonts()
    body = ParagraphStyle("body", fontName=font, fontSize=8, leading=10)
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=15, leading=19, spaceAfter=4)
    colour = "#007700" if report.passed else "#bb0000"
    verdict = ParagraphStyle("v", fontName=bold, fontSize=12, leading=15, textColor=colors.HexColor(colour))
    counts = [[Paragraph(c, body) for c in ("Quy tắc / Rule", "", "Mức / Severity", "Số / Count")]]
    for r, n in sorted(report.counts().items()):
        cells = (r, f"{RULES[r].title_vi} / {RULES[r].title_en}", RULES[r].severity, str(n))
        counts.append([Paragraph(html.escape(x), body) for x in cells])
    grid = [("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    thumbs = [0]
    rows = [[Paragraph(c, body) for c in ("Mức / Rule", "Nội dung / Message", "Đối tượng / Feature",
                                          "Vị trí / Where", "")]]  # fmt: skip
    rows += [_finding_row(f, report, body, thumbs) for f in report.findings[:MAX_PDF_FINDINGS]]
    passed = "Đạt — không có lỗi / Passed: no error"
    failed = f"Không đạt — {report.errors} lỗi / Failed: {report.errors} error(s)"
    story: list[Any] = [
        Paragraph(html.escape(f"Kết quả kiểm tra hồ sơ / Validation report: {report.source}"), h1),
        Paragraph(html.escape(passed if report.passed else failed), verdict),
        Paragraph(f"{report.errors} lỗi (errors), {report.warnings} cảnh báo (warnings); VN-2000 (EPSG:9214)", body),
        Table(counts, colWidths=[40 * mm, 110 * mm, 25 * mm, 20 * mm], style=TableStyle(grid)),
        Paragraph(" ", body),
        Table(rows, colWidths=[30 * mm, 120 * mm, 55 * mm, 40 * mm, 28 * mm], repeatRows=1, style=TableStyle(grid)),
    ]
    if len(report.findings) > MAX_PDF_FINDINGS:
        more = len(report.findings) - MAX_PDF_FINDINGS
        story.append(
            Paragraph(f"… {more} phát hiện khác / more findings: xem báo cáo JSON / see the JSON report", body)
        )
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), leftMargin=10 * mm, rightMargin=10 * mm, topMargin=10 * mm,
                            bottomMargin=10 * mm, title=f"Validation report {report.source}")  # fmt: skip
    doc.build(story)
    return buf.getvalue()
